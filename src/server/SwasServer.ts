import type { Server as HttpsServer } from 'node:https';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { formatConfigIssue, loadConfig, type LoadedConfig, type ServerTls } from '../config/index.js';
import { errorMessage, SwasError } from '../core/index.js';
import { IncidentManager, type NoisePolicy } from '../incidents/index.js';
import { ScrapeManager, type RemoteWriteSender } from '../ingest/index.js';
import { Notifier } from '../paging/index.js';
import { compileRuleGroups, RuleManager } from '../rules/index.js';
import {
  NotifierStepNotifier,
  Reconciler,
  PoolGuard,
  RunExecutor,
  RunStepApprovals,
  type CommandControl,
  type HostControl,
  type ServiceControl,
} from '../runbooks/index.js';
import { ProbeScheduler, scheduledProbe } from '../probes/index.js';
import { openStateStore } from '../store/index.js';
import { EmbeddedTsdb } from '../tsdb/index.js';
import { join } from 'node:path';
import { registerTsdbMetrics } from './tsdbMetrics.js';
import { RoutedHostControl, RoutedServiceControl } from './agentControl.js';
import { AgentConfigPush } from './agentConfigPush.js';
import { AgentHub } from './agentLink.js';
import { AGENT_SIGNING_KEY_FILE, AgentActionSigner } from './agentSigning.js';
import { AgentRegistration } from './agentRegistration.js';
import { alertStateFromStore, auditFromStore, checkExpression } from './adapters.js';
import {
  commandControlFrom,
  loadBalancersFrom,
  noisePolicyFrom,
  startServiceDiscovery,
  webhooksFrom,
  type ServiceDiscovery,
} from './fromConfig.js';
import { buildHttpApp, secureContextOf } from './http.js';
import { metricsEnginesFrom } from './metricsEngines.js';
import { ProbeQuorumWatch, quorumProbes } from './probeQuorum.js';
import type { ServerLifecycle, ServerParts } from './ServerParts.js';
import { VERSION } from './version.js';

/** Options for {@link SwasServer.start}. */
export interface SwasServerOptions {
  readonly loaded: LoadedConfig;
  /** The data directory (absolute); overrides `data_dir` from the config. */
  readonly dataDir: string;
  readonly logger: Logger;
  readonly now?: () => number;
}

/** The composition root: wires store, metrics, rules, incidents, runbooks and paging, and serves the API. */
export class SwasServer {
  private state: ServerLifecycle = 'starting';
  private app: FastifyInstance | null = null;
  private retentionTimer: NodeJS.Timeout | null = null;
  private commitTimer: NodeJS.Timeout | null = null;
  private stopping: Promise<void> | null = null;
  /** The TLS material the listener serves now (a reload can swap it; turning TLS on or off cannot). */
  private liveTls: ServerTls | null = null;

  private constructor(
    private loaded: LoadedConfig,
    readonly parts: ServerParts,
    private readonly notifier: Notifier,
    private readonly senders: readonly RemoteWriteSender[],
  ) {}

  /** Opens the store, restores state, resumes unfinished runs and starts serving. */
  static async start(options: SwasServerOptions): Promise<SwasServer> {
    const { loaded, logger } = options;
    const now = options.now ?? Date.now;
    const config = loaded.config;
    const policy = noisePolicyFrom(loaded);
    const registry = new Registry();
    // First, so a damaged key file stops the start before anything is opened.
    const signer = await AgentActionSigner.loadOrCreate(
      join(options.dataDir, AGENT_SIGNING_KEY_FILE),
      logger,
    );
    // Event-loop lag sampled every 100 ms instead of prom-client's 10 ms: the same lag figures for a
    // fraction of the wake-ups (at 10 ms they cost an idle server about 2 ms of CPU per second).
    collectDefaultMetrics({ register: registry, prefix: 'swas_', eventLoopMonitoringPrecision: 100 });
    const store = await openStateStore({ url: config.store.url, dataDir: options.dataDir });
    const series = await EmbeddedTsdb.open({
      dir: join(options.dataDir, 'tsdb'),
      retentionMs: config.metrics.retention,
      retentionBytes: config.metrics.retention_size_bytes,
      onWarning: (message) => logger.warn({ tsdb: message }, 'metrics store recovered from damage'),
    }).catch(async (error: unknown) => {
      await store.close();
      throw error;
    });
    registerTsdbMetrics(registry, series);
    const { query, remoteQuery, appender, senders } = metricsEnginesFrom(
      config,
      series,
      options.dataDir,
      logger,
    );
    const scrape = ScrapeManager.create({
      appender,
      now,
      logger,
      registry,
      timestampToleranceMs: config.scrape.timestamp_tolerance,
    });

    // Late-bound holders let config reload swap load balancers and services under running steps.
    let lbs = loadBalancersFrom(config);
    // Agent-run verbs reach the agent hub, which exists only once the HTTP server does.
    let agentHub: AgentHub | null = null;
    let services = new RoutedServiceControl(config, () => agentHub);
    let commands = commandControlFrom(config);
    let hosts = new RoutedHostControl(config, () => agentHub);
    const swap = {
      lbs: { forPool: (pool: string) => lbs.directory.forPool(pool) },
      services: {
        has: (s: string, v: 'restart' | 'start' | 'stop') => services.has(s, v),
        run: (...a: Parameters<ServiceControl['run']>) => services.run(...a),
      },
      commands: {
        args: (name: string) => commands.args(name),
        run: (...a: Parameters<CommandControl['run']>) => commands.run(...a),
      },
      hosts: {
        has: (host: string) => hosts.has(host),
        reboot: (...a: Parameters<HostControl['reboot']>) => hosts.reboot(...a),
      },
    };
    let incidents: IncidentManager | null = null;
    const notifier = new Notifier(
      webhooksFrom(config, { userAgent: `swas/${VERSION}`, now }),
      (n, r) => incidents?.recordDelivery(n, r) ?? Promise.resolve(),
      logger,
    );
    const probes = new ProbeScheduler({
      vantage: 'server',
      appender,
      now,
      onResult: (status, previous) => {
        if (previous !== null && previous.result.success === status.result.success) return;
        const fields = { probe: status.probe, kind: status.kind, error: status.result.error };
        if (status.result.success) logger.info(fields, 'probe succeeds');
        else logger.warn(fields, 'probe fails');
      },
    });
    const poolGuard = new PoolGuard({
      guardsFor: (pool) => (server?.loaded ?? loaded).config.pools[pool] ?? PoolGuard.defaults(),
      query,
      now,
    });
    const executor = RunExecutor.create({
      runs: store.runs,
      quarantines: store.quarantines,
      services: {
        lbs: swap.lbs,
        services: swap.services,
        commands: swap.commands,
        hosts: swap.hosts,
        approvals: new RunStepApprovals(store.runs),
        notifications: new NotifierStepNotifier({
          notifier,
          runs: store.runs,
          incidents: store.incidents,
          timeline: store.timeline,
          externalUrl: config.server.external_url ?? null,
        }),
        query,
        audit: auditFromStore(store, now),
        poolGuard,
        now,
        pollMs: 500,
      },
      observer: (event) => incidents?.handleRunEvent(event) ?? Promise.resolve(),
      logger,
    });
    executor.setRunbooks(loaded.runbooks.map((r) => r.runbook));
    incidents = IncidentManager.create({
      incidents: store.incidents,
      timeline: store.timeline,
      runs: store.runs,
      silences: store.silences,
      executor,
      notifier,
      groupBy: config.incidents.group_by,
      stillFiringAfterRunMs: config.incidents.still_firing_after_run,
      policy,
      registry,
      logger,
      now,
      externalUrl: config.server.external_url ?? baseUrl(loaded),
    });
    const incidentManager = incidents;
    const rules = RuleManager.create({
      query,
      appender,
      alertState: alertStateFromStore(store),
      onAlertChange: (c) => incidentManager.handleAlertChange(c),
      logger,
      registry,
      now,
      externalLabels: config.rules.external_labels,
      externalURL: config.server.external_url ?? '',
    });

    const registration = new AgentRegistration({
      config: () => server?.loaded ?? loaded,
      lbs: swap.lbs,
      executor,
      audit: auditFromStore(store, now),
      logger,
    });
    const agents = AgentHub.create({
      agents: store.agents,
      appender,
      commitSamples: () => series.commit(),
      registry,
      logger,
      now,
      configPush: new AgentConfigPush(() => (server?.loaded ?? loaded).config.agents, logger),
      onReady: (agent, address) => void registration.handle(agent, address),
      signer,
    });
    agentHub = agents;
    const probeQuorum = new ProbeQuorumWatch({
      query,
      appender,
      probes: () => quorumProbes((server?.loaded ?? loaded).config),
      logger,
      now,
    });

    let server: SwasServer | null = null;
    const parts: ServerParts = {
      store,
      series,
      commitSamples: () => series.commit(),
      query,
      remoteQuery,
      scrape,
      rules,
      probes,
      probeQuorum,
      executor,
      poolGuard,
      incidents,
      agents,
      registry,
      logger,
      now,
      loadBalancers: () => lbs.all,
      lifecycle: () => server?.state ?? 'starting',
      config: () => server?.loaded ?? loaded,
      reload: () =>
        server ? server.reload() : Promise.resolve({ ok: false as const, error: 'still starting' }),
    };
    server = new SwasServer(loaded, parts, notifier, senders);
    const restored = await rules.restore();
    await incidents.restore(rules.activeAlerts());
    await rules.setGroups(
      compileRuleGroups(loaded.ruleFiles, config.rules.evaluation_interval, config.rules.query_offset),
    );
    const resumed = await executor.resumeUnfinished();
    logger.info({ alerts: restored, runs: resumed, store: store.dialect }, 'state restored');

    server.app = await buildHttpApp(parts, loaded.serverTls);
    server.liveTls = loaded.serverTls;
    agents.attach(server.app.server);
    const [host, port] = splitListen(config.server.listen);
    try {
      await server.app.listen({ host, port });
    } catch (error) {
      await store.close();
      const code = (error as NodeJS.ErrnoException).code;
      const why =
        code === 'EADDRINUSE' ? 'the address is in use (is another swas running?)' : errorMessage(error);
      throw new SwasError(
        'SWAS-SRV-001',
        `cannot listen on ${config.server.listen}: ${why}; change server.listen in ${loaded.file}`,
        { cause: error },
      );
    }
    server.discovery = await startServiceDiscovery(loaded, (targets) => scrape.setTargets(targets), logger);
    scrape.start();
    rules.start();
    probes.setProbes(config.probes.map(scheduledProbe));
    probeQuorum.start();
    // Scraped samples become durable within a second; remote writes commit before they are acknowledged.
    server.commitTimer = setInterval(() => {
      series.commit().catch((error: unknown) => logger.error({ err: error }, 'committing samples failed'));
    }, 1000);
    server.retentionTimer = setInterval(() => {
      series
        .enforceRetention(now())
        .catch((error: unknown) => logger.error({ err: error }, 'metrics retention failed'));
    }, 60_000);
    server.retentionTimer.unref();
    // Swapping holders on reload needs the mutable bindings above.
    server.rebind = (next) => {
      lbs = loadBalancersFrom(next);
      services = new RoutedServiceControl(next, () => agentHub);
      commands = commandControlFrom(next);
      hosts = new RoutedHostControl(next, () => agentHub);
      notifier.setChannels(webhooksFrom(next, { userAgent: `swas/${VERSION}`, now }));
    };
    server.reconciler = Reconciler.create({
      runs: store.runs,
      executor,
      lbs: swap.lbs,
      audit: auditFromStore(store, now),
      auditLog: store.audit,
      note: (incidentId, message, data) =>
        store.timeline
          .append({ incidentId, at: now(), kind: 'run.reconciled', message, data })
          .then(() => undefined),
      registry,
      logger,
      intervalMs: config.runbooks.reconcile_interval,
    });
    server.reconciler.start();
    server.state = 'running';
    logger.info({ url: server.url, version: VERSION }, 'swas is running');
    if (loaded.serverTls !== null)
      logger.info(
        {
          subject: loaded.serverTls.subject,
          notAfter: new Date(loaded.serverTls.notAfter).toISOString(),
          clientCertificates: loaded.serverTls.clientCa !== null,
        },
        'serving HTTPS only',
      );
    return server;
  }

  private rebind: (config: LoadedConfig['config']) => void = () => undefined;
  private reconciler: Reconciler | null = null;
  private discovery: ServiceDiscovery | null = null;

  /** The base URL the API listens on. */
  get url(): string {
    return `${this.liveTls === null ? 'http' : 'https'}://${this.loaded.config.server.listen}`;
  }

  get lifecycle(): ServerLifecycle {
    return this.state;
  }

  /**
   * Re-reads the config files. An invalid new config is rejected and the old one keeps running; listen
   * address, data directory and store changes need a restart and are reported.
   */
  async reload(): Promise<{ ok: true } | { ok: false; error: string }> {
    let next: LoadedConfig;
    let policy: NoisePolicy;
    try {
      next = await loadConfig(this.loaded.file, { checkExpression });
      policy = noisePolicyFrom(next);
    } catch (error) {
      this.parts.logger.error(
        { error: errorMessage(error) },
        'config reload rejected; the previous config keeps running',
      );
      return { ok: false, error: errorMessage(error) };
    }
    const { config } = next;
    const old = this.loaded.config;
    if (
      config.server.listen !== old.server.listen ||
      config.store.url !== old.store.url ||
      config.data_dir !== old.data_dir
    ) {
      this.parts.logger.warn('server.listen, store.url and data_dir changes take effect at the next restart');
    }
    this.reloadTls(next);
    this.rebind(config);
    await this.parts.incidents.setPolicy(policy);
    this.parts.executor.setRunbooks(next.runbooks.map((r) => r.runbook));
    this.parts.probes.setProbes(config.probes.map(scheduledProbe));
    this.parts.rules.setTemplateData(config.rules.external_labels, config.server.external_url ?? '');
    // Broken rule groups load as warnings (not evaluated, SwasRuleGroupBroken fires); `swas up` logs them at start.
    for (const warning of next.warnings) this.parts.logger.warn(formatConfigIssue(warning));
    await this.parts.rules.setGroups(
      compileRuleGroups(next.ruleFiles, config.rules.evaluation_interval, config.rules.query_offset),
    );
    // Swapping discovery does not disturb running scrapes: setTargets only changes what differs.
    this.discovery?.stop();
    this.discovery = await startServiceDiscovery(
      next,
      (targets) => this.parts.scrape.setTargets(targets),
      this.parts.logger,
    );
    this.loaded = next;
    this.parts.agents.pushConfigs();
    this.parts.logger.info({ file: next.file }, 'config reloaded');
    return { ok: true };
  }

  /**
   * New certificate, key, client CA or minimum version apply to new connections at once (open ones keep
   * theirs); turning TLS or client certificates on or off needs a restart, because the listener changes.
   */
  private reloadTls(next: LoadedConfig): void {
    const before = this.liveTls;
    const after = next.serverTls;
    const { logger } = this.parts;
    if (
      (before === null) !== (after === null) ||
      (before?.clientCa === null) !== (after?.clientCa === null)
    ) {
      logger.warn(
        'turning server.tls or server.tls.client_ca_file on or off takes effect at the next restart',
      );
      return;
    }
    if (before === null || after === null || this.app === null) return;
    (this.app.server as unknown as HttpsServer).setSecureContext(secureContextOf(after));
    this.liveTls = after;
    logger.info(
      { subject: after.subject, notAfter: new Date(after.notAfter).toISOString() },
      'TLS certificate reloaded',
    );
  }

  /** Graceful shutdown: stop detecting, let steps in flight finish or park them, flush notifications, close. */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    const { logger, rules, scrape, executor, store } = this.parts;
    this.state = 'draining';
    logger.info('swas is draining: no new runs; steps in flight finish or park');
    if (this.retentionTimer) clearInterval(this.retentionTimer);
    if (this.commitTimer) clearInterval(this.commitTimer);
    // Agents keep their unacknowledged samples and resend them to the next server.
    await this.parts.agents.close();
    await rules.stop();
    this.discovery?.stop();
    await scrape.stop();
    this.parts.probes.stop();
    await this.parts.probeQuorum.stop();
    this.parts.incidents.stop();
    await this.reconciler?.stop();
    await executor.shutdown(this.loaded.config.server.shutdown_timeout);
    for (const sender of this.senders) await sender.close();
    await this.parts.series.commit();
    await this.parts.series.close();
    await this.notifier.drain(5000);
    await this.app?.close();
    await store.close();
    this.state = 'stopped';
    logger.info('swas stopped');
  }
}

/** The server's own base URL: https:// when server.tls is set. */
function baseUrl(loaded: LoadedConfig): string {
  return `${loaded.serverTls === null ? 'http' : 'https'}://${loaded.config.server.listen}`;
}

function splitListen(listen: string): [string, number] {
  const index = listen.lastIndexOf(':');
  return [listen.slice(0, index).replace(/^\[|\]$/g, ''), Number(listen.slice(index + 1))];
}
