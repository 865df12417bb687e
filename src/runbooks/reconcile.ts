import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import { errorMessage } from '../core/index.js';
import type { MemberAdminState, PoolMember } from '../lb/index.js';
import type { RunRepository, RunStep } from '../store/index.js';
import type { AuditPort, LoadBalancerDirectory } from './ports.js';
import type { RunExecutor } from './RunExecutor.js';

/** One audit-log entry, as much of it as reconciliation reads. */
export interface AuditLogEntry {
  readonly seq: number;
  readonly actor: string;
  readonly action: string;
  readonly target: string;
  readonly after: unknown;
  readonly result: string;
}

/** Reads the audit log in order (the store's audit repository fits). */
export interface AuditLogReader {
  list(options: { afterSeq?: number; limit?: number }): Promise<readonly AuditLogEntry[]>;
}

/** Options for {@link Reconciler.create}. */
export interface ReconcilerOptions {
  readonly runs: RunRepository;
  readonly executor: Pick<RunExecutor, 'activeRunIds' | 'holdRun'>;
  readonly lbs: LoadBalancerDirectory;
  readonly audit: AuditPort;
  readonly auditLog: AuditLogReader;
  /** Adds an entry to an incident's timeline. */
  readonly note: (incidentId: number, message: string, data: Record<string, unknown>) => Promise<void>;
  readonly registry: Registry;
  readonly logger: Logger;
  /** How often to compare. @default 30000 */
  readonly intervalMs: number;
}

/** What a run intends for one member: its admin state out of rotation, and/or a weight. */
interface Intent {
  readonly pool: string;
  readonly member: string;
  admin: 'drain' | 'maint' | null;
  weight: number | null;
}

/** A member swas took out of rotation (or lowered) and no run owns any more; reported, never touched. */
export interface DriftedMember {
  readonly pool: string;
  readonly member: string;
  readonly admin: MemberAdminState;
  readonly weight: number;
  readonly initialWeight: number;
  /** Who last changed it, per the audit log (`run:<id>` or `reconcile`). */
  readonly lastActor: string;
}

/** What one comparison did. */
export interface ReconcileReport {
  readonly reapplied: readonly { runId: string; pool: string; member: string; change: string }[];
  readonly drift: readonly DriftedMember[];
}

const RECONCILE_ACTOR = 'reconcile';
const BY_SWAS = /^(run:|reconcile$)/;

/**
 * Compares the load balancer with what runs intend: (a) a member an active run holds out of rotation (or
 * at a weight) that the load balancer reports otherwise, e.g. after an HAProxy reload, gets the run's state
 * back, audited and noted on the incident; (b) a member swas took out of rotation that no run owns is
 * reported as drift (log, `swas_lb_drift_members`) and left alone, since a person may have done it since.
 */
export class Reconciler {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;
  private auditCursor = 0;
  private readonly lastBySwas = new Map<string, AuditLogEntry>();
  private lastDriftKey = '';
  private readonly driftGauge: Gauge;
  private readonly reappliedCounter: Counter;

  private constructor(private readonly options: ReconcilerOptions) {
    const registers = [options.registry];
    this.driftGauge = new Gauge({
      name: 'swas_lb_drift_members',
      help: 'Members swas took out of rotation (or lowered in weight) that no run owns any more.',
      registers,
    });
    this.reappliedCounter = new Counter({
      name: 'swas_lb_reconciled_total',
      help: "Times swas re-applied a run's intended member state the load balancer had lost.",
      registers,
    });
  }

  /** Builds a reconciler; {@link start} compares periodically, {@link reconcileOnce} once. */
  static create(options: ReconcilerOptions): Reconciler {
    return new Reconciler(options);
  }

  /** Compares every `intervalMs` until {@link stop}. */
  start(): void {
    this.timer ??= setInterval(() => {
      if (this.running !== null) return;
      this.running = this.reconcileOnce()
        .catch((error: unknown) => this.options.logger.error({ err: error }, 'reconciliation failed'))
        .finally(() => (this.running = null));
    }, this.options.intervalMs);
    this.timer.unref();
  }

  /** Stops comparing and waits for a comparison in flight. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /** Compares once: re-applies what active runs intend, reports drift of members nobody owns. */
  async reconcileOnce(): Promise<ReconcileReport> {
    const reapplied: { runId: string; pool: string; member: string; change: string }[] = [];
    const owned = new Set<string>();
    for (const run of await this.options.runs.listUnfinished()) {
      const full = await this.options.runs.get(run.id);
      if (full === null) continue;
      for (const step of full.steps) {
        const { pool, member } = step.params;
        if (typeof pool === 'string' && typeof member === 'string') owned.add(`${pool}/${member}`);
      }
      if (run.status !== 'running' || !this.options.executor.activeRunIds().includes(run.id)) continue;
      const held = await this.options.executor.holdRun(run.id, () => this.reapply(run.id, run.incidentId));
      if (held !== null) reapplied.push(...held.value);
    }
    const drift = await this.findDrift(owned);
    return { reapplied, drift };
  }

  // Re-reads the run's steps under the hold, so the intent is what the run last set.
  private async reapply(runId: string, incidentId: number | null) {
    const full = await this.options.runs.get(runId);
    const done: { runId: string; pool: string; member: string; change: string }[] = [];
    if (full === null) return done;
    for (const intent of intentsOf(full.steps)) {
      const lb = this.options.lbs.forPool(intent.pool);
      if (lb === null) continue;
      const target = `${intent.pool}/${intent.member}`;
      try {
        const actual = await lb.getMember(intent.pool, intent.member);
        const changes: string[] = [];
        if (intent.admin !== null && !satisfies(actual.admin, intent.admin)) {
          await lb.setAdminState(intent.pool, intent.member, intent.admin);
          changes.push(`${actual.admin} → ${intent.admin}`);
        }
        if (intent.weight !== null && actual.weight !== intent.weight) {
          await lb.setWeight(intent.pool, intent.member, intent.weight);
          changes.push(`weight ${actual.weight} → ${intent.weight}`);
        }
        if (changes.length === 0) continue;
        const change = changes.join(', ');
        const after = await lb.getMember(intent.pool, intent.member);
        await this.options.audit.record({
          actor: RECONCILE_ACTOR,
          action: intent.admin !== null ? `lb.${intent.admin}` : 'lb.weight',
          target,
          reason: `run ${runId} holds ${target} (${describeIntent(intent)}) but the load balancer reported ${actual.admin}, weight ${actual.weight} (reloaded or changed by hand?)`,
          before: snapshot(actual),
          after: snapshot(after),
          result: 'ok',
        });
        this.reappliedCounter.inc();
        this.options.logger.warn({ run: runId, target, change }, 're-applied the state a run holds');
        if (incidentId !== null)
          await this.options.note(
            incidentId,
            `reconciliation: ${target} had lost the state run ${runId} holds; re-applied ${change}`,
            { runId, target },
          );
        done.push({ runId, pool: intent.pool, member: intent.member, change });
      } catch (error) {
        this.options.logger.error({ err: error, run: runId, target }, 're-applying a run’s state failed');
      }
    }
    return done;
  }

  private async findDrift(owned: ReadonlySet<string>): Promise<DriftedMember[]> {
    await this.readNewAuditEntries();
    const drift: DriftedMember[] = [];
    for (const [target, entry] of this.lastBySwas) {
      if (owned.has(target) || !BY_SWAS.test(entry.actor)) continue;
      const slash = target.indexOf('/');
      const [pool, member] = [target.slice(0, slash), target.slice(slash + 1)];
      const lb = this.options.lbs.forPool(pool);
      if (lb === null) continue;
      let actual: PoolMember;
      try {
        actual = await lb.getMember(pool, member);
      } catch (error) {
        this.options.logger.warn({ target, error: errorMessage(error) }, 'cannot read member for drift');
        continue;
      }
      if (!leftOutBy(entry, actual)) continue;
      drift.push({
        pool,
        member,
        admin: actual.admin,
        weight: actual.weight,
        initialWeight: actual.initialWeight,
        lastActor: entry.actor,
      });
    }
    this.driftGauge.set(drift.length);
    const key = drift.map((d) => `${d.pool}/${d.member}:${d.admin}:${d.weight}`).join(',');
    if (key !== this.lastDriftKey && drift.length > 0)
      this.options.logger.warn(
        { drift },
        'members swas took out of rotation are still out and no run owns them; check them and return them with `swas lb ready`',
      );
    this.lastDriftKey = key;
    return drift;
  }

  // Keeps, per target, the last successful load-balancer change in the audit log.
  private async readNewAuditEntries(): Promise<void> {
    for (;;) {
      const page = await this.options.auditLog.list({ afterSeq: this.auditCursor, limit: 1000 });
      for (const entry of page) {
        this.auditCursor = Math.max(this.auditCursor, entry.seq);
        if (entry.action.startsWith('lb.') && entry.result === 'ok') this.lastBySwas.set(entry.target, entry);
      }
      if (page.length < 1000) return;
    }
  }
}

/** What a run's succeeded load-balancer steps, in order, leave each member holding. */
function intentsOf(steps: readonly RunStep[]): Intent[] {
  const intents = new Map<string, Intent>();
  for (const step of steps) {
    if (step.status !== 'succeeded' || !step.action.startsWith('lb.')) continue;
    const { pool, member } = step.params;
    if (typeof pool !== 'string' || typeof member !== 'string') continue;
    const key = `${pool}/${member}`;
    const intent = intents.get(key) ?? { pool, member, admin: null, weight: null };
    intents.set(key, intent);
    if (step.action === 'lb.drain') intent.admin = 'drain';
    else if (step.action === 'lb.maint') intent.admin = 'maint';
    else if (step.action === 'lb.weight') intent.weight = Number(step.params.weight);
    else if (step.action === 'lb.ready') {
      // Back in rotation at its configured weight: nothing out of rotation to hold.
      intent.admin = null;
      intent.weight = null;
    }
  }
  return [...intents.values()].filter((i) => i.admin !== null || i.weight !== null);
}

// A drain step leaves a member already in maint there: both hold it out of rotation.
function satisfies(actual: MemberAdminState, intended: 'drain' | 'maint'): boolean {
  return intended === 'drain' ? actual !== 'ready' : actual === 'maint';
}

function describeIntent(intent: Intent): string {
  return [intent.admin, intent.weight === null ? null : `weight ${intent.weight}`]
    .filter((x) => x !== null)
    .join(', ');
}

// Out of rotation (or lowered) exactly as swas's last change left it.
function leftOutBy(entry: AuditLogEntry, actual: PoolMember): boolean {
  const after = entry.after as { admin?: unknown; weight?: unknown } | null;
  if (after === null || typeof after !== 'object') return false;
  const outOfRotation = actual.admin !== 'ready' && after.admin === actual.admin;
  const lowered = actual.weight < actual.initialWeight && after.weight === actual.weight;
  return outOfRotation || lowered;
}

const snapshot = (m: PoolMember) => ({
  admin: m.admin,
  operational: m.operational,
  weight: m.weight,
  sessions: m.activeSessions,
});
