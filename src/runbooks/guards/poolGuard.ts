import type { PoolGuardsConfig } from '../../config/index.js';
import {
  blastRadiusDecision,
  capacityDecision,
  errorMessage,
  lastMemberDecision,
  type GuardDecision,
  type MemberView,
} from '../../core/index.js';
import type { LoadBalancer, PoolMember } from '../../lb/index.js';
import type { MetricsQuery, QueryValue } from '../../promql/index.js';

/** What a change does to a member: takes it out of service, or sets its weight. */
export type MemberChange = { readonly kind: 'out' } | { readonly kind: 'weight'; readonly weight: number };

/** The verdict on a change: allowed, or refused with the guards that said no. */
export interface RemovalCheck {
  readonly ok: boolean;
  readonly decisions: readonly GuardDecision[];
  /**
   * When only capacity refused and the pool's fallback is `shed`: the lowest weight the member may be
   * lowered to now (below its current weight), or null when the pool cannot spare any of it.
   */
  readonly shedTo: number | null;
  /** The pool's capacity fallback when capacity refused, else null. */
  readonly fallback: 'shed' | 'page' | null;
}

/** Options for {@link PoolGuard}. */
export interface PoolGuardOptions {
  /** The guards of a pool (the defaults for a pool swas.yaml does not list). */
  readonly guardsFor: (pool: string) => PoolGuardsConfig;
  readonly query: MetricsQuery;
  readonly now: () => number;
}

const DEFAULT_GUARDS: PoolGuardsConfig = { max_out: 1 };

/** True when the member serves traffic now: ready, weighted and passing its health checks. */
export function isServing(m: PoolMember): boolean {
  return m.admin === 'ready' && m.weight > 0 && (m.operational === 'up' || m.operational === 'starting');
}

/**
 * The pool guards of DESIGN §6.2 and §6.3, shared by runbook steps and `swas lb`: a member may leave
 * service (or lose weight) only when another member keeps serving, the pool stays within its blast
 * radius (counted from the load balancer's own state, so every run and every person counts), and the
 * members that remain can carry the current load with the configured headroom.
 */
export class PoolGuard {
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(private readonly options: PoolGuardOptions) {}

  /** Pool guards without configuration: never the last serving member, at most one out at once. */
  static defaults(): PoolGuardsConfig {
    return DEFAULT_GUARDS;
  }

  /**
   * Runs `fn` alone for the pool, so a check and the action it allows happen together: two changes on
   * the same pool cannot both pass on the same spare capacity.
   */
  async withPoolLock<T>(pool: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(pool) ?? Promise.resolve();
    const turn = previous.then(fn, fn);
    const settled = turn.catch(() => undefined);
    this.locks.set(pool, settled);
    try {
      return await turn;
    } finally {
      if (this.locks.get(pool) === settled) this.locks.delete(pool);
    }
  }

  /** Checks a change to `member` of `pool` against the pool's guards, reading the load balancer and metrics now. */
  async check(lb: LoadBalancer, pool: string, member: string, change: MemberChange): Promise<RemovalCheck> {
    const members = await lb.listMembers(pool);
    const target = members.find((m) => m.name === member);
    if (target === undefined)
      throw new Error(
        `pool "${pool}" has no member "${member}" (members: ${members.map((m) => m.name).join(', ')})`,
      );
    const guards = this.options.guardsFor(pool);
    const after = change.kind === 'out' ? 0 : change.weight;
    // Raising a weight, or a member that does not serve now, takes nothing away from the pool.
    if (!isServing(target) || after >= target.weight)
      return { ok: true, decisions: [notRemoving(target, change)], shedTo: null, fallback: null };
    const others = members.filter((m) => m.name !== member);
    const decisions: GuardDecision[] = [];
    const leaving = after === 0;
    if (leaving) {
      const views = others.map(viewOf);
      decisions.push(lastMemberDecision(pool, member, views));
      decisions.push(
        blastRadiusDecision(members.length, views, {
          maxOut: guards.max_out,
          ...(guards.max_out_percent === undefined ? {} : { maxOutPercent: guards.max_out_percent }),
        }),
      );
    }
    let shedTo: number | null = null;
    if (guards.capacity !== undefined) {
      const capacity = await this.capacity(guards.capacity, target, others, after);
      decisions.push(capacity.decision);
      shedTo = capacity.shedTo;
    }
    const ok = decisions.every((d) => d.ok);
    const onlyCapacity = !ok && decisions.every((d) => d.ok || d.guard === 'capacity');
    const fallback = guards.capacity !== undefined && !ok && onlyCapacity ? guards.capacity.fallback : null;
    return { ok, decisions, shedTo: fallback === 'shed' ? shedTo : null, fallback };
  }

  private async capacity(
    config: NonNullable<PoolGuardsConfig['capacity']>,
    target: PoolMember,
    others: readonly PoolMember[],
    weightAfter: number,
  ): Promise<{ decision: GuardDecision; shedTo: number | null }> {
    const load = await this.sum(config.load, 'capacity.load');
    const perMember =
      config.member_capacity === undefined
        ? await this.sum(config.member_capacity_query ?? '', 'capacity.member_capacity_query')
        : { ok: true as const, value: config.member_capacity };
    if (!load.ok || !perMember.ok) {
      const error = load.ok ? (perMember.ok ? '' : perMember.error) : load.error;
      return {
        decision: {
          guard: 'capacity',
          ok: false,
          detail: `cannot tell whether the pool can spare it: ${error}`,
        },
        shedTo: null,
      };
    }
    return capacityDecision({
      load: load.value,
      perMember: perMember.value,
      headroom: config.headroom,
      target: viewOf(target),
      weightAfter,
      others: others.map(viewOf),
    });
  }

  private async sum(
    expr: string,
    field: string,
  ): Promise<{ ok: true; value: number } | { ok: false; error: string }> {
    try {
      const outcome = await this.options.query.instant(expr, this.options.now());
      if (!outcome.ok) return { ok: false, error: `${field} query failed: ${outcome.error.message}` };
      const value = sumOf(outcome.value);
      if (value === null) return { ok: false, error: `${field} (${expr}) returned no sample` };
      return { ok: true, value };
    } catch (error) {
      return { ok: false, error: `${field} query failed: ${errorMessage(error)}` };
    }
  }
}

function sumOf(value: QueryValue): number | null {
  if (value.resultType === 'scalar') return Number.isFinite(value.result[1]) ? value.result[1] : null;
  if (value.resultType !== 'vector' || value.result.length === 0) return null;
  const total = value.result.reduce((sum, s) => sum + s.value, 0);
  return Number.isFinite(total) ? total : null;
}

function notRemoving(target: PoolMember, change: MemberChange): GuardDecision {
  const what = change.kind === 'out' ? 'taking it out' : `weight ${target.weight} → ${change.weight}`;
  return {
    guard: 'blast_radius',
    ok: true,
    detail: isServing(target)
      ? `${what} takes nothing away from the pool`
      : `${target.pool}/${target.name} is not serving now (${target.statusText}, weight ${target.weight}); ${what} takes nothing away`,
  };
}

function viewOf(m: PoolMember): MemberView {
  return {
    name: m.name,
    serving: isServing(m),
    weight: m.weight,
    initialWeight: m.initialWeight,
    statusText: m.statusText,
  };
}
