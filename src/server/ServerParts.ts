import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { LoadedConfig } from '../config/index.js';
import type { IncidentManager } from '../incidents/index.js';
import type { ScrapeManager } from '../ingest/index.js';
import type { LoadBalancer } from '../lb/index.js';
import type { ProbeScheduler } from '../probes/index.js';
import type { MetricsQuery, RemotePromqlQuery } from '../promql/index.js';
import type { RuleManager } from '../rules/index.js';
import type { PoolGuard, RunExecutor } from '../runbooks/index.js';
import type { StateStore } from '../store/index.js';
import type { EmbeddedTsdb } from '../tsdb/index.js';
import type { AgentHub } from './agentLink.js';
import type { ProbeQuorumWatch } from './probeQuorum.js';

/** Where the server is in its life; `/-/ready` answers 200 only while `running`. */
export type ServerLifecycle = 'starting' | 'running' | 'draining' | 'stopped';

/** The parts of a running server that routes read. */
export interface ServerParts {
  readonly store: StateStore;
  readonly series: EmbeddedTsdb;
  /** Makes appended samples durable (fsync). */
  commitSamples(): Promise<void>;
  /** The PromQL engine rules, runbooks and the API use: embedded, or remote when configured. */
  readonly query: MetricsQuery;
  /** With `metrics.query: remote`, the engine that also answers series and label lookups; else null. */
  readonly remoteQuery: RemotePromqlQuery | null;
  readonly scrape: ScrapeManager;
  readonly rules: RuleManager;
  /** The black-box probes the server runs itself (vantage `server`). */
  readonly probes: ProbeScheduler;
  /** Records probe_quorum_failing{probe} from every vantage point's probe_success. */
  readonly probeQuorum: ProbeQuorumWatch;
  readonly executor: RunExecutor;
  /** The pool guards runbooks and `swas lb` share (one lock per pool across both). */
  readonly poolGuard: PoolGuard;
  readonly incidents: IncidentManager;
  /** Live agent connections: who is connected, revocation, action requests. */
  readonly agents: AgentHub;
  readonly registry: Registry;
  readonly logger: Logger;
  readonly now: () => number;
  loadBalancers(): readonly LoadBalancer[];
  lifecycle(): ServerLifecycle;
  config(): LoadedConfig;
  reload(): Promise<{ ok: true } | { ok: false; error: string }>;
}
