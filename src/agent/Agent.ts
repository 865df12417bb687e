import { readFile } from 'node:fs/promises';
import { hostname as osHostname } from 'node:os';
import { join } from 'node:path';
import type { AgentConfig } from '../config/index.js';
import { errorMessage, SwasError } from '../core/index.js';
import { ProbeScheduler, type ProbeStatus } from '../probes/index.js';
import { ActionGate, ReplayGuard, type ActionFrame, type ActionGateOptions } from './actionSigning.js';
import { ActionRunner } from './actions.js';
import type { AgentLogger } from './agentLogger.js';
import type { BackoffOptions } from './backoff.js';
import { hostCollectors, type CollectedSample, type HostCollectors } from './collectors/index.js';
import { CredentialSource, withSlash, type AgentTls } from './credential.js';
import { AgentLink, type ReconnectScheduled, type SpoolBatch } from './link.js';
import { AGENT_PROTOCOL_VERSION, toWireValue, type ServerFrame, type WireSample } from './protocol.js';
import { checkPushedConfig, SpoolBatchAppender } from './pushedConfig.js';
import { AgentScraper } from './scraper.js';
import { Spool, type SpoolStats } from './spool.js';

/** Lifecycle of the agent process. */
export type AgentState = 'starting' | 'running' | 'stopping' | 'stopped';

/** How to run an agent. */
export interface AgentOptions {
  readonly config: AgentConfig;
  readonly logger: AgentLogger;
  /** The swas version, sent in hello. */
  readonly version: string;
  /** @default os.hostname() */
  readonly hostname?: string;
  /** A probe-only agent (`swas probe`): runs pushed probes, collects nothing, refuses pushed collectors. */
  readonly probeOnly?: boolean;
  /** Where the host's procfs is mounted. @default '/proc' */
  readonly procRoot?: string;
  /** Reconnect (and enrollment retry) backoff. @default 1 s doubling to 60 s, full jitter */
  readonly backoff?: BackoffOptions;
  /** Unacknowledged batches in flight at most. @default 4 */
  readonly window?: number;
  /** How often the spool is made durable. @default 1000 */
  readonly flushIntervalMs?: number;
  /** Hears every reconnect the link schedules (tests assert on the delays). */
  readonly onReconnectScheduled?: (step: ReconnectScheduled) => void;
  /** Aborts a start that is still waiting to enroll (SIGTERM before the server was reachable). */
  readonly signal?: AbortSignal;
}

/** Largest batch spooled as one record; bigger collections are split so a frame stays under the limits. */
const SAMPLES_PER_RECORD = 5000;

/**
 * The host agent: enrolls once, collects every interval into the on-disk spool, and streams the spool to
 * the server over the link; runs allow-listed actions the server asks for by name.
 */
export class Agent {
  private agentState: AgentState = 'starting';
  private collectTimer: NodeJS.Timeout | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  private collecting: Promise<void> = Promise.resolve();
  private configVersion: string | null = null;
  private readonly actions: ActionRunner;
  /** Signature, addressee, window, replay and allow-list checks every action request must pass. */
  private readonly gate: ActionGate;
  private readonly runningActions = new Set<Promise<void>>();
  /** Probes pushed by the server, run from here (vantage = the agent's name); results go to the spool. */
  private readonly probes: ProbeScheduler;
  private scraper: AgentScraper | null = null;

  private constructor(
    private readonly options: AgentOptions,
    private readonly spool: Spool<SpoolBatch>,
    private readonly collectors: HostCollectors,
    private readonly link: AgentLink,
    security: Pick<ActionGateOptions, 'pinned' | 'replay'>,
  ) {
    this.actions = new ActionRunner(options.config.actions);
    this.gate = new ActionGate({ ...security, allows: (name) => this.actions.allows(name), now: Date.now });
    this.probes = new ProbeScheduler({
      vantage: options.config.name,
      appender: new SpoolBatchAppender(options.config.labels, (samples) => this.spoolSamples(samples)),
      now: Date.now,
      onResult: (status, previous) => this.logProbeChange(status, previous),
    });
  }

  /** Enrolls if needed, opens the spool and starts collecting and sending; throws EnrollmentRefusedError. */
  static async start(options: AgentOptions): Promise<Agent> {
    const { config, logger } = options;
    const hostname = options.hostname ?? osHostname();
    const tls = await loadTls(config);
    const credentials = new CredentialSource(options, hostname, tls);
    await credentials.ensureEnrolled();
    credentials.logPinnedKey();
    const replay = ReplayGuard.open(join(config.state_dir, 'action-requests.json'), Date.now(), (note) =>
      logger.warn({}, note),
    );
    const spool = Spool.open<SpoolBatch>({
      dir: join(config.state_dir, 'spool'),
      maxBytes: config.spool.max_bytes,
      fsync: config.spool.fsync,
    });
    for (const note of spool.recoveryNotes) logger.warn({ spool: join(config.state_dir, 'spool') }, note);
    const collectors = hostCollectors(config.collectors, {
      ...(options.procRoot === undefined ? {} : { procRoot: options.procRoot }),
      onError: (message) => logger.warn({}, message),
    });
    let agent: Agent | null = null;
    const link = new AgentLink({
      url: connectUrl(config.server),
      credential: () => credentials.current(),
      hello: () => ({
        type: 'hello',
        protocol: AGENT_PROTOCOL_VERSION,
        hostname,
        version: options.version.slice(0, 64),
        labels: { ...config.labels },
        configVersion: agent?.configVersion ?? null,
      }),
      spool,
      tls,
      logger,
      onFrame: (frame) => agent?.onServerFrame(frame),
      ...(options.onReconnectScheduled ? { onReconnectScheduled: options.onReconnectScheduled } : {}),
      ...(options.window === undefined ? {} : { window: options.window }),
      ...(options.backoff === undefined ? {} : { backoff: options.backoff }),
    });
    agent = new Agent(options, spool, collectors, link, { pinned: () => credentials.pinned(), replay });
    agent.run();
    return agent;
  }

  /** Where the agent is in its lifecycle. */
  get state(): AgentState {
    return this.agentState;
  }

  /** What the spool holds now. */
  spoolStats(): SpoolStats {
    return this.spool.stats();
  }

  /** Whether the link to the server is up (welcomed). */
  get connected(): boolean {
    return this.link.stats().connected;
  }

  /** Graceful stop: no more collections, actions finish, spool flushed and closed, link closed. */
  async stop(): Promise<void> {
    if (this.agentState === 'stopping' || this.agentState === 'stopped') return;
    this.agentState = 'stopping';
    clearTimeout(this.collectTimer);
    clearInterval(this.flushTimer);
    this.probes.stop();
    await this.collecting;
    await this.scraper?.stop();
    await Promise.allSettled([...this.runningActions]);
    await this.link.close();
    this.spool.close();
    this.agentState = 'stopped';
    this.options.logger.info({}, 'agent stopped');
  }

  private run(): void {
    const { config, logger } = this.options;
    this.agentState = 'running';
    this.link.start();
    this.flushTimer = setInterval(() => this.flushSpool(), this.options.flushIntervalMs ?? 1000);
    logger.info(
      { server: config.server, interval: config.interval, actions: Object.keys(config.actions) },
      'agent running',
    );
    const tick = (due: number) => {
      this.collecting = this.collectOnce(Date.now()).finally(() => {
        if (this.agentState !== 'running') return;
        // Fixed-rate schedule; a slow collection skips ticks instead of piling them up.
        let next = due + config.interval;
        while (next <= Date.now()) next += config.interval;
        this.collectTimer = setTimeout(() => tick(next), next - Date.now());
      });
    };
    tick(Date.now());
    this.scraper = AgentScraper.start({
      targets: config.scrape,
      defaultIntervalMs: config.interval,
      labels: config.labels,
      logger,
      append: (samples) => {
        this.spool.append({ samples });
        this.link.pump();
      },
    });
  }

  private flushSpool(): void {
    try {
      this.spool.flush();
    } catch (error) {
      this.options.logger.error({ error: errorMessage(error) }, 'cannot flush the spool');
    }
  }

  private async collectOnce(now: number): Promise<void> {
    const { logger } = this.options;
    try {
      const collected = await this.collectors.collect(now);
      const samples = [...collected, ...this.selfSamples()].map((s) => this.toWire(s, now));
      for (let i = 0; i < samples.length; i += SAMPLES_PER_RECORD)
        this.spool.append({ samples: samples.slice(i, i + SAMPLES_PER_RECORD) });
      this.link.pump();
    } catch (error) {
      logger.error({ error: errorMessage(error) }, 'collection failed; the batch is lost');
    }
  }

  /** Spools one probe run's samples as a batch, the same path collector samples take. */
  private spoolSamples(samples: WireSample[]): void {
    if (this.agentState !== 'running') return;
    try {
      this.spool.append({ samples });
      this.link.pump();
    } catch (error) {
      this.options.logger.error({ error: errorMessage(error) }, 'cannot spool probe results; they are lost');
    }
  }

  private logProbeChange(status: ProbeStatus, previous: ProbeStatus | null): void {
    if (previous !== null && previous.result.success === status.result.success) return;
    const fields = { probe: status.probe, kind: status.kind, error: status.result.error };
    if (status.result.success) this.options.logger.info(fields, 'probe succeeds');
    else this.options.logger.warn(fields, 'probe fails');
  }

  /** The agent's own health, read before this batch is appended. */
  private selfSamples(): CollectedSample[] {
    const spool = this.spool.stats();
    const link = this.link.stats();
    const s = (name: string, value: number): CollectedSample => ({ name, labels: {}, value });
    return [
      s('swas_agent_spool_pending_records', spool.pendingRecords),
      s('swas_agent_spool_pending_bytes', spool.pendingBytes),
      s('swas_agent_spool_dropped_records_total', spool.droppedRecords),
      s('swas_agent_connected', link.connected ? 1 : 0),
      s('swas_agent_reconnects_total', link.reconnects),
      s('swas_agent_malformed_server_frames_total', link.malformedFrames),
    ];
  }

  private toWire(sample: CollectedSample, now: number): WireSample {
    // Labels a collector sets win over the agent's labels, as series labels win over external labels.
    return {
      name: sample.name,
      labels: { ...this.options.config.labels, ...sample.labels },
      t: now,
      v: toWireValue(sample.value),
    };
  }

  private onServerFrame(frame: ServerFrame): void {
    if (frame.type === 'action') this.runAction(frame);
    else if (frame.type === 'config') this.applyConfig(frame.version, frame.config);
  }

  private runAction(frame: ActionFrame): void {
    const { logger } = this.options;
    const { id, name, timeoutMs } = frame;
    const checked = this.gate.check(frame);
    if (!checked.ok) {
      // Nothing runs; the server records the answer on the run step.
      logger.warn({ id, action: name, reason: checked.reason }, `refused action ${name}: ${checked.message}`);
      const error =
        checked.reason === 'not_allowed'
          ? checked.message
          : `refused (${checked.reason}): ${checked.message}`;
      this.link.send({
        type: 'action_result',
        id,
        ok: false,
        exitCode: null,
        output: '',
        durationMs: 0,
        error,
      });
      return;
    }
    logger.info({ id, action: name, timeoutMs }, `running action ${name}`);
    const running = this.actions.run(name, timeoutMs).then((outcome) => {
      this.runningActions.delete(running);
      logger.info(
        { id, action: name, ok: outcome.ok, exitCode: outcome.exitCode, error: outcome.error },
        `action ${name} finished`,
      );
      this.link.send({ type: 'action_result', id, ...outcome });
    });
    this.runningActions.add(running);
  }

  /**
   * A pushed config `{collectors, probes}` replaces the running collectors (pushed keys over agent.yaml's)
   * and probes. It is checked whole first: a bad one is refused, reported, and the previous one keeps running.
   */
  private applyConfig(version: string, pushed: unknown): void {
    const { logger } = this.options;
    const checked =
      this.options.probeOnly === true && hasCollectors(pushed)
        ? ({
            ok: false,
            error:
              'this is a probe-only agent (swas probe): it takes probes only; push collectors to host agents',
          } as const)
        : checkPushedConfig(pushed, this.options.config.collectors, this.options.config.scrape);
    let error = checked.ok ? null : checked.error;
    if (checked.ok) {
      try {
        this.collectors.reconfigure(checked.collectors);
        this.probes.setProbes(checked.probes);
        this.scraper?.reconfigure(checked.scrape);
        this.configVersion = version;
      } catch (caught) {
        error = errorMessage(caught);
      }
    }
    if (error === null)
      logger.info({ version, probes: checked.ok ? checked.probes.length : 0 }, 'applied pushed config');
    else logger.warn({ version, error }, 'refused pushed config; keeping the previous one');
    this.link.send({ type: 'config_status', version, ok: error === null, error });
  }
}

/** The link URL for a server base URL: http→ws, https→wss, same path prefix. */
export function connectUrl(server: string): string {
  const url = new URL('api/v1/agents/connect', withSlash(server));
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.href;
}

async function loadTls(config: AgentConfig): Promise<AgentTls> {
  const { insecure_skip_verify: insecure } = config.tls;
  const read = async (field: 'ca_file' | 'cert_file' | 'key_file'): Promise<string | undefined> => {
    const file = config.tls[field];
    if (file === undefined) return undefined;
    try {
      return await readFile(file, 'utf8');
    } catch (error) {
      throw new SwasError('SWAS-AGENT-013', `cannot read tls.${field} ${file}: ${errorMessage(error)}`);
    }
  };
  return {
    ca: await read('ca_file'),
    cert: await read('cert_file'),
    key: await read('key_file'),
    rejectUnauthorized: !insecure,
  };
}

// The server always sends a `collectors` object; only one with settings in it asks for collecting.
function hasCollectors(pushed: unknown): boolean {
  if (typeof pushed !== 'object' || pushed === null || !('collectors' in pushed)) return false;
  const { collectors } = pushed;
  return typeof collectors === 'object' && collectors !== null && Object.keys(collectors).length > 0;
}
