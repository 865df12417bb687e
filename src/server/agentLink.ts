import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { WebSocketServer, type WebSocket } from 'ws';
import { fromWireValue, MAX_FRAME_BYTES, type AgentFrame } from '../agent/index.js';
import { errorMessage, type SampleAppender } from '../core/index.js';
import type { Agent, AgentRepository } from '../store/index.js';
import {
  AGENT_CLOSE,
  AGENT_CONNECT_PATH,
  AgentActionError,
  AgentConnection,
  HubMetrics,
  type ConnectionHub,
  refuseUpgrade,
  type ActionResult,
  type FrameRejection,
} from './agentLinkParts.js';
import { AgentConfigPush } from './agentConfigPush.js';
import { ACTION_REQUEST_TTL_MS, AgentActionSigner } from './agentSigning.js';

export { AGENT_CLOSE, AGENT_CONNECT_PATH, AgentActionError, type ActionResult, type FrameRejection };

/** Options for {@link AgentHub.create}. */
export interface AgentHubOptions {
  readonly agents: AgentRepository;
  /** Where agent samples go: the same appender the scrape manager uses. */
  readonly appender: SampleAppender;
  /** Makes appended samples durable; a batch is acknowledged only after it resolves. */
  readonly commitSamples: () => Promise<void>;
  readonly registry: Registry;
  readonly logger: Logger;
  readonly now: () => number;
  /** How long a new connection may take to send `hello`. @default 10_000 */
  readonly helloTimeoutMs?: number;
  /** How often live connections are pinged; a peer that missed the previous pong is dropped. @default 30_000 */
  readonly pingIntervalMs?: number;
  /** Extra time past an action's own timeout before sendAction gives up. @default 5_000 */
  readonly actionGraceMs?: number;
  /** What config each agent is pushed (swas.yaml `agents.push`). @default nothing is pushed */
  readonly configPush?: AgentConfigPush;
  /** Called once an agent has said hello, with the address it connects from (pool registration). */
  readonly onReady?: (agent: Agent, remoteAddress: string | null) => void;
  /**
   * Signs action requests; agents pin its public key at enrollment.
   * @default a key in memory only (agents enrolled with another key refuse every action)
   */
  readonly signer?: AgentActionSigner;
}

interface PendingAction {
  readonly link: AgentConnection;
  readonly resolve: (result: ActionResult) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

// Recording contact on every batch would write the database for every agent every interval.
const TOUCH_INTERVAL_MS = 60_000;

/**
 * The server end of the agent link: authenticates WebSocket upgrades with agent credentials, keeps one
 * live connection per agent, stores the samples agents send and acknowledges them once durable, and
 * sends action requests. A bad frame closes only the connection that sent it.
 */
export class AgentHub implements ConnectionHub {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });
  private readonly links = new Map<string, AgentConnection>();
  private readonly pending = new Map<string, PendingAction>();
  private readonly metrics: HubMetrics;
  private readonly pingTimer: NodeJS.Timeout;
  private commitRunning: Promise<void> | null = null;
  private commitNext: Promise<void> | null = null;
  private closing = false;
  private closed: Promise<void> | null = null;

  private constructor(readonly options: Required<AgentHubOptions>) {
    this.metrics = new HubMetrics(options.registry, () => this.links.size);
    this.pingTimer = setInterval(() => this.pingAll(), options.pingIntervalMs);
    this.pingTimer.unref();
  }

  /** Creates a hub; call {@link attach} with the HTTP server to accept agents. */
  static create(options: AgentHubOptions): AgentHub {
    return new AgentHub({
      helloTimeoutMs: 10_000,
      pingIntervalMs: 30_000,
      actionGraceMs: 5_000,
      configPush: AgentConfigPush.none(options.logger),
      onReady: () => undefined,
      ...options,
      signer: options.signer ?? AgentActionSigner.ephemeral(),
    });
  }

  /** Takes WebSocket upgrades of {@link AGENT_CONNECT_PATH} on `server`; other upgrade paths get 404. */
  attach(server: Server): void {
    server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      this.upgrade(request, socket, head).catch((error: unknown) => {
        this.options.logger.error({ err: error }, 'agent connection upgrade failed');
        refuseUpgrade(socket, 500, 'internal error; see the server log');
      });
    });
  }

  /** Names of the agents connected now (hello received), sorted. */
  connected(): string[] {
    return [...this.links.values()]
      .filter((l) => l.ready)
      .map((l) => l.agent.name)
      .sort();
  }

  /** When the live connection of an agent last sent anything, or null when it is not connected. */
  lastSeen(name: string): number | null {
    return this.links.get(name)?.lastSeenAt ?? null;
  }

  /** Why the agent refused the last config pushed to it, or null when it runs it. */
  configError(name: string): string | null {
    return this.options.configPush.configError(name);
  }

  /** Sends every connected agent its pushed config where it runs another version (after a reload). */
  pushConfigs(): void {
    for (const link of this.links.values()) if (link.ready) this.pushConfig(link);
  }

  /** Sends one agent its pushed config if it runs another version. */
  pushConfig(link: AgentConnection): void {
    const frame = this.options.configPush.frameFor(link.agent, link.reported.configVersion ?? null);
    if (frame === null) return;
    this.options.logger.info(
      { agent: link.agent.name, configVersion: frame.version },
      'pushing config to agent',
    );
    link.send(frame);
  }

  /** The public key (PEM) agents pin at enrollment; action requests are signed with its private key. */
  actionKey(): string {
    return this.options.signer.publicKeyPem;
  }

  /** Closes an agent's live connection (after a revoke); false when it was not connected. */
  disconnect(name: string, reason: string): boolean {
    const link = this.links.get(name);
    if (link === undefined) return false;
    link.close(AGENT_CLOSE.policy, reason);
    return true;
  }

  /**
   * Asks an agent to run one action from its own allow-list and waits for its result. The request is
   * signed for this agent and valid for {@link ACTION_REQUEST_TTL_MS}. Rejects with an AgentActionError
   * when the agent is not connected, disconnects, or does not answer in time.
   */
  sendAction(agentName: string, action: { name: string; timeoutMs: number }): Promise<ActionResult> {
    const link = this.links.get(agentName);
    if (link === undefined || !link.ready) {
      return Promise.reject(
        new AgentActionError(
          'SWAS-AGENT-001',
          `agent "${agentName}" is not connected; check \`swas agent list\` and the agent's log`,
        ),
      );
    }
    const id = randomUUID();
    return new Promise<ActionResult>((resolve, reject) => {
      const waitMs = action.timeoutMs + this.options.actionGraceMs;
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(
          new AgentActionError(
            'SWAS-AGENT-003',
            `agent "${agentName}" did not answer action "${action.name}" within ${waitMs} ms`,
          ),
        );
      }, waitMs);
      this.pending.set(id, { link, resolve, reject, timer });
      const issuedAt = this.options.now();
      const fields = {
        agentId: String(link.agent.id),
        id,
        name: action.name,
        timeoutMs: action.timeoutMs,
        issuedAt,
        expiresAt: issuedAt + ACTION_REQUEST_TTL_MS,
      };
      link.send({ type: 'action', ...fields, signature: this.options.signer.sign(fields) });
    });
  }

  /** Closes every agent connection and refuses new ones; for server shutdown. Idempotent. */
  close(): Promise<void> {
    this.closed ??= this.shutdown();
    return this.closed;
  }

  private async shutdown(): Promise<void> {
    this.closing = true;
    clearInterval(this.pingTimer);
    const links = [...this.links.values()];
    for (const link of links) link.close(AGENT_CLOSE.shutdown, 'server shutting down');
    await Promise.all(links.map((l) => l.closed(1000)));
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  private async upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const path = (request.url ?? '').split('?')[0];
    if (path !== AGENT_CONNECT_PATH) return refuseUpgrade(socket, 404, `no WebSocket endpoint at ${path}`);
    if (this.closing) return refuseUpgrade(socket, 503, 'swas is shutting down; reconnect later');
    const header = request.headers.authorization ?? '';
    const credential = header.startsWith('Bearer ') ? header.slice('Bearer '.length).trim() : '';
    const agent =
      credential === '' ? null : await this.options.agents.verifyCredential(credential, this.options.now());
    if (agent === null) {
      this.options.logger.warn(
        { ip: request.socket.remoteAddress, withCredential: credential !== '' },
        'agent connection refused: missing, unknown or revoked credential',
      );
      return refuseUpgrade(
        socket,
        401,
        credential === ''
          ? 'agents connect with "Authorization: Bearer <agent credential>"; enroll with an enrollment token first'
          : 'the agent credential is unknown or revoked; enroll the agent again',
      );
    }
    const address = request.socket.remoteAddress ?? null;
    this.wss.handleUpgrade(request, socket, head, (ws) => this.accept(agent, ws, address));
  }

  private accept(agent: Agent, ws: WebSocket, remoteAddress: string | null): void {
    const link = new AgentConnection(agent, ws, this);
    link.remoteAddress = remoteAddress;
    const previous = this.links.get(agent.name);
    this.links.set(agent.name, link);
    if (previous !== undefined)
      previous.close(AGENT_CLOSE.replaced, 'replaced by a newer connection of this agent');
    this.options.logger.info({ agent: agent.name }, 'agent connected');
  }

  /** Called by a connection when it is gone. */
  forget(link: AgentConnection, code: number, reason: string): void {
    if (this.links.get(link.agent.name) === link) this.links.delete(link.agent.name);
    for (const [id, p] of this.pending) {
      if (p.link !== link) continue;
      clearTimeout(p.timer);
      this.pending.delete(id);
      p.reject(
        new AgentActionError(
          'SWAS-AGENT-002',
          `agent "${link.agent.name}" disconnected (${code}${reason === '' ? '' : ` ${reason}`}) before answering`,
        ),
      );
    }
    this.options.logger.info({ agent: link.agent.name, code, reason }, 'agent disconnected');
    void this.touch(link, true);
  }

  /** Counts a refused frame, logs why, and closes the connection that sent it. */
  reject(
    link: AgentConnection,
    why: FrameRejection,
    message: string,
    code: number = AGENT_CLOSE.policy,
  ): void {
    this.metrics.framesRejected.inc({ reason: why });
    this.options.logger.warn(
      { agent: link.agent.name, reason: why, error: message },
      'agent frame refused; closing its connection',
    );
    link.close(code, message);
  }

  /**
   * Appends a batch with the agent's name as the `agent` label and the labels it enrolled with (which win
   * over the sample's own: an agent cannot relabel itself); refused samples are counted, not fatal.
   */
  appendSamples(link: AgentConnection, frame: Extract<AgentFrame, { type: 'samples' }>): void {
    const { appender } = this.options;
    for (const sample of frame.samples) {
      const labels: Record<string, string> = {};
      for (const [name, value] of Object.entries(sample.labels)) {
        if (name === 'agent') this.metrics.labelsDropped.inc();
        else labels[name] = value;
      }
      Object.assign(labels, link.agent.labels);
      labels.__name__ = sample.name;
      labels.agent = link.agent.name;
      const result = appender.append(labels, sample.t, fromWireValue(sample.v));
      if (!result.ok) this.metrics.samplesRejected.inc({ reason: result.reason });
    }
    this.metrics.samplesReceived.inc(frame.samples.length);
  }

  /** Resolves once everything appended before the call is durable; concurrent callers share commits. */
  durable(): Promise<void> {
    if (this.commitNext !== null) return this.commitNext;
    if (this.commitRunning === null) return this.startCommit();
    // The running commit may have started before our samples were appended: wait for the next one.
    this.commitNext = this.commitRunning
      .catch(() => undefined)
      .then(() => {
        this.commitNext = null;
        return this.startCommit();
      });
    return this.commitNext;
  }

  private startCommit(): Promise<void> {
    const running = this.options.commitSamples().finally(() => {
      if (this.commitRunning === running) this.commitRunning = null;
    });
    this.commitRunning = running;
    return running;
  }

  /** Settles a pending action with the agent's answer; answers for other agents' actions are ignored. */
  settleAction(link: AgentConnection, result: ActionResult): void {
    const pending = this.pending.get(result.id);
    if (pending === undefined || pending.link !== link) {
      this.options.logger.warn(
        { agent: link.agent.name, id: result.id },
        'agent answered an unknown action; ignored',
      );
      return;
    }
    clearTimeout(pending.timer);
    this.pending.delete(result.id);
    if (!result.ok)
      // A refusal (bad signature, expired, not allowed, …) or a failure; the run step records it too.
      this.options.logger.warn(
        { agent: link.agent.name, id: result.id, exitCode: result.exitCode, error: result.error },
        'agent action failed or was refused',
      );
    pending.resolve(result);
  }

  /** Records contact (and what hello reported) in the store; failures are logged, not fatal. */
  async touch(link: AgentConnection, force = false): Promise<void> {
    const now = this.options.now();
    if (!force && now - link.touchedAt < TOUCH_INTERVAL_MS) return;
    link.touchedAt = now;
    try {
      await this.options.agents.touch(link.agent.id, { lastSeenAt: link.lastSeenAt, ...link.reported });
    } catch (error) {
      this.options.logger.warn(
        { agent: link.agent.name, error: errorMessage(error) },
        'recording agent contact failed',
      );
    }
  }

  private pingAll(): void {
    for (const link of this.links.values()) link.ping();
  }
}
