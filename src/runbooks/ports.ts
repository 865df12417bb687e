import type { LoadBalancer } from '../lb/index.js';
import type { MetricsQuery } from '../promql/index.js';
import type { PoolGuard } from './guards/poolGuard.js';
import type { StepExtensions } from './steps/stepPorts.js';

/** A service verb a runbook step can ask for. */
export type ServiceVerb = 'restart' | 'start' | 'stop';

/** What running a service command produced. */
export type ServiceOutcome =
  | { readonly ok: true; readonly exitCode: 0; readonly output: string; readonly durationMs: number }
  | { readonly ok: false; readonly error: string; readonly output: string; readonly durationMs: number };

/** Restarts, starts and stops services; locally by command now, on hosts through agents later. */
export interface ServiceControl {
  /** True when `service` declares `verb`. */
  has(service: string, verb: ServiceVerb): boolean;
  run(service: string, verb: ServiceVerb, signal: AbortSignal): Promise<ServiceOutcome>;
}

/** Finds the load balancer that serves a pool. */
export interface LoadBalancerDirectory {
  forPool(pool: string): LoadBalancer | null;
}

/** One action for the append-only audit log. */
export interface AuditRecord {
  readonly actor: string;
  readonly action: string;
  readonly target: string;
  readonly reason: string | null;
  readonly before: unknown;
  readonly after: unknown;
  readonly result: string;
}

/** Appends to the audit log. */
export interface AuditPort {
  record(entry: AuditRecord): Promise<void>;
}

/** What steps may use while they act; the newer steps' ports are optional (see StepExtensions). */
export interface StepServices extends StepExtensions {
  readonly lbs: LoadBalancerDirectory;
  readonly services: ServiceControl;
  readonly query: MetricsQuery;
  readonly audit: AuditPort;
  /** The pool guards every step that takes a member out (or lowers its weight) must pass. */
  readonly poolGuard: PoolGuard;
  readonly now: () => number;
  /** How often steps poll state they wait for. @default 500 */
  readonly pollMs: number;
}
