/** The guards of DESIGN §6, by the names dry-run, `swas lb` and step results show. */
export type GuardName =
  | 'target_sanity'
  | 'quarantine'
  | 'flap_budget'
  | 'window'
  | 'concurrency'
  | 'last_member'
  | 'blast_radius'
  | 'capacity';

/** One guard's verdict, as dry-run, `swas lb` and the run's step result show it. */
export interface GuardDecision {
  readonly guard: GuardName;
  readonly ok: boolean;
  readonly detail: string;
}

/** What the pool guards need to know of a member. */
export interface MemberView {
  readonly name: string;
  /** Ready, weighted and passing its health checks. */
  readonly serving: boolean;
  readonly weight: number;
  /** The weight from the load balancer's configuration: full capacity. */
  readonly initialWeight: number;
  /** The status as the load balancer prints it, for messages. */
  readonly statusText: string;
}

/** The refusing guards of a check, for messages: `capacity: …; blast_radius: …`. */
export function describeRefusals(decisions: readonly GuardDecision[]): string {
  return decisions
    .filter((d) => !d.ok)
    .map((d) => `${d.guard}: ${d.detail}`)
    .join('; ');
}

/** The last member serving traffic never leaves (DESIGN §6.2). */
export function lastMemberDecision(
  pool: string,
  member: string,
  others: readonly MemberView[],
): GuardDecision {
  const serving = others.filter((m) => m.serving).length;
  return serving > 0
    ? { guard: 'last_member', ok: true, detail: `${serving} other member(s) of ${pool} keep serving` }
    : {
        guard: 'last_member',
        ok: false,
        detail: `${pool}/${member} is the last member of ${pool} serving traffic; taking it out would stop the pool`,
      };
}

/**
 * At most `maxOut` members (and `maxOutPercent` of the pool, the stricter) out of service at once,
 * counting this one; `others` are the pool's members but the one about to leave (DESIGN §6.3).
 */
export function blastRadiusDecision(
  poolSize: number,
  others: readonly MemberView[],
  limits: { readonly maxOut: number; readonly maxOutPercent?: number },
): GuardDecision {
  const out = others.filter((m) => !m.serving);
  const limit = Math.min(
    limits.maxOut,
    limits.maxOutPercent === undefined ? Infinity : Math.floor((poolSize * limits.maxOutPercent) / 100),
  );
  const outText =
    out.length === 0
      ? 'none out now'
      : `out now: ${out.map((m) => `${m.name} (${m.statusText})`).join(', ')}`;
  const ok = out.length + 1 <= limit;
  return {
    guard: 'blast_radius',
    ok,
    detail: `${ok ? 'within' : 'over'} the limit of ${limit} member(s) of ${poolSize} out at once with this one; ${outText}`,
  };
}

/** The load, capacities and the change a capacity decision weighs. */
export interface CapacityInput {
  /** The pool's load now (e.g. requests/s). */
  readonly load: number;
  /** The load one member carries at its configured weight. */
  readonly perMember: number;
  /** Share of capacity kept spare, 0..0.9. */
  readonly headroom: number;
  readonly target: MemberView;
  /** The target's weight after the change (0 when it leaves). */
  readonly weightAfter: number;
  readonly others: readonly MemberView[];
}

/**
 * Whether the members that keep serving — each at `perMember` scaled by its weight — plus what the
 * target keeps can carry the load with headroom (DESIGN §6.2). When not, `shedTo` is the lowest weight
 * the target may be lowered to now (null when it cannot give up any).
 */
export function capacityDecision(input: CapacityInput): { decision: GuardDecision; shedTo: number | null } {
  const { load, perMember, target } = input;
  const share = (m: MemberView) => (m.initialWeight > 0 ? m.weight / m.initialWeight : 1);
  const remaining = input.others.filter((m) => m.serving).reduce((sum, m) => sum + perMember * share(m), 0);
  const usable = 1 - input.headroom;
  const targetShare = target.initialWeight > 0 ? input.weightAfter / target.initialWeight : 0;
  const carried = (remaining + perMember * targetShare) * usable;
  const numbers = `load ${round(load)}, the rest carry ${round(carried)} at ${Math.round(usable * 100)}% of capacity (${round(perMember)} per member)`;
  if (carried >= load) return { decision: { guard: 'capacity', ok: true, detail: numbers }, shedTo: null };
  // The smallest share of its weight the member must keep for the pool to carry the load.
  const keep = (load / usable - remaining) / perMember;
  const weight = Math.max(1, Math.ceil(keep * target.initialWeight));
  return {
    decision: {
      guard: 'capacity',
      ok: false,
      detail: `the remaining members cannot carry the load: ${numbers}; it must keep weight ${weight} of ${target.initialWeight}`,
    },
    shedTo: weight < target.weight ? weight : null,
  };
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
