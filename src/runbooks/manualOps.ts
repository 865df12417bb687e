import { InputError, NotFoundError, type GuardDecision } from '../core/index.js';
import type { LoadBalancer, MemberAdminState, PoolMember } from '../lb/index.js';
import type { AuditRepository, Run, RunRepository } from '../store/index.js';
import type { MemberChange, PoolGuard } from './guards/poolGuard.js';
import type { LoadBalancerDirectory } from './ports.js';

/** What a person can do to a pool member with `swas lb` or the API. */
export type ManualOp = 'drain' | 'maint' | 'ready' | 'weight';

/** The manual operations, in the order help texts list them. */
export const MANUAL_OPS: readonly ManualOp[] = ['drain', 'maint', 'ready', 'weight'];

/** A person's request to change one member. */
export interface MemberChangeRequest {
  readonly pool: string;
  readonly member: string;
  readonly op: ManualOp;
  /** The new weight (0..256); required for `weight`, ignored otherwise. */
  readonly weight?: number;
  readonly reason?: string | null;
  /** Act even when a guard refuses or a run holds the member; the audit entry says so. @default false */
  readonly force?: boolean;
  /** The token name of the person asking; the audit actor is `user:<actor>`. */
  readonly actor: string;
}

/** A member's state as the audit log and the answer show it. */
export interface MemberState {
  readonly admin: MemberAdminState;
  readonly operational: PoolMember['operational'];
  readonly weight: number;
  readonly sessions: number;
}

/** The outcome of a manual change: done (or already so), or refused with every guard's verdict. */
export type MemberChangeResult =
  | {
      readonly result: 'done';
      /** False when the member was already in the asked state: nothing was changed. */
      readonly changed: boolean;
      readonly forced: boolean;
      readonly before: MemberState;
      readonly after: MemberState;
      readonly guards: readonly GuardDecision[];
    }
  | {
      readonly result: 'refused';
      readonly reason: string;
      readonly before: MemberState;
      readonly guards: readonly GuardDecision[];
      /** The unfinished run that targets the member, when that is (one of) the reasons. */
      readonly heldBy: string | null;
    };

/** What manual changes read and write. */
export interface ManualOpsDeps {
  readonly lbs: LoadBalancerDirectory;
  readonly poolGuard: PoolGuard;
  readonly runs: RunRepository;
  readonly audit: AuditRepository;
  readonly now: () => number;
  /** The pools swas may act on, for the message when a pool is unknown. */
  readonly knownPools: () => readonly string[];
}

/** A member's state for audit entries and answers. */
export function memberState(m: PoolMember): MemberState {
  return { admin: m.admin, operational: m.operational, weight: m.weight, sessions: m.activeSessions };
}

/** The load balancer of a pool; unknown pools are a 404 naming the pools swas knows. */
export function lbForPool(deps: Pick<ManualOpsDeps, 'lbs' | 'knownPools'>, pool: string): LoadBalancer {
  const lb = deps.lbs.forPool(pool);
  if (lb !== null) return lb;
  const known = deps.knownPools();
  throw new NotFoundError(
    'SWAS-LB-404',
    `no load balancer serves pool "${pool}"; known pools: ${known.length > 0 ? known.join(', ') : 'none (add load_balancers[].pools to swas.yaml)'}`,
  );
}

/**
 * Changes one member for a person, with the same pool guards runbooks meet (checked and acted on under
 * the pool's lock), refusing members an unfinished run holds. `force` acts anyway and records so in the
 * audit log. Already in the asked state: nothing changes, and the answer says so.
 */
export async function changeMember(
  deps: ManualOpsDeps,
  request: MemberChangeRequest,
): Promise<MemberChangeResult> {
  const { pool, member } = request;
  const lb = lbForPool(deps, pool);
  if (request.op === 'weight' && !isWeight(request.weight))
    throw new InputError('SWAS-LB-400', `weight must be an integer 0..256, not ${String(request.weight)}`);
  return deps.poolGuard.withPoolLock(pool, async () => {
    const before = await readMember(lb, pool, member);
    if (alreadyThere(before, request))
      return {
        result: 'done',
        changed: false,
        forced: false,
        before: memberState(before),
        after: memberState(before),
        guards: [],
      };
    const guards = await guardsFor(deps, lb, before, request);
    const held = await holdingRun(deps.runs, pool, member);
    const refusals = [...guards.filter((g) => !g.ok).map((g) => `${g.guard}: ${g.detail}`)];
    if (held !== null)
      refusals.push(
        `held by run ${held.id} (${held.runbook}, ${held.status}); cancel it first (\`swas runbook cancel ${held.id}\`) or use --force`,
      );
    const force = request.force === true;
    if (refusals.length > 0 && !force) {
      const reason = `refused ${request.op} of ${pool}/${member}: ${refusals.join('; ')}`;
      await audit(deps, request, before, null, guards, 'refused', reason);
      return { result: 'refused', reason, before: memberState(before), guards, heldBy: held?.id ?? null };
    }
    const forcedPast = refusals.length > 0 ? refusals : null;
    try {
      await apply(lb, before, request);
    } catch (error) {
      await audit(deps, request, before, null, guards, `error: ${String(error)}`, null, forcedPast);
      throw error;
    }
    const after = await lb.getMember(pool, member);
    await audit(deps, request, before, after, guards, 'ok', null, forcedPast);
    return {
      result: 'done',
      changed: true,
      forced: forcedPast !== null,
      before: memberState(before),
      after: memberState(after),
      guards,
    };
  });
}

function isWeight(weight: number | undefined): weight is number {
  return weight !== undefined && Number.isInteger(weight) && weight >= 0 && weight <= 256;
}

async function readMember(lb: LoadBalancer, pool: string, member: string): Promise<PoolMember> {
  const members = await lb.listMembers(pool);
  const found = members.find((m) => m.name === member);
  if (found === undefined)
    throw new NotFoundError(
      'SWAS-LB-404',
      `pool "${pool}" has no member "${member}"; its members: ${members.map((m) => m.name).join(', ') || 'none'}`,
    );
  return found;
}

function alreadyThere(m: PoolMember, request: MemberChangeRequest): boolean {
  return request.op === 'weight' ? m.weight === request.weight : m.admin === request.op;
}

/** The change the pool guards judge; null when the request adds to the pool (ready, a higher weight). */
function changeOf(m: PoolMember, request: MemberChangeRequest): MemberChange | null {
  if (request.op === 'drain' || request.op === 'maint') return { kind: 'out' };
  if (request.op === 'weight' && (request.weight ?? 0) < m.weight)
    return { kind: 'weight', weight: request.weight ?? 0 };
  return null;
}

async function guardsFor(
  deps: ManualOpsDeps,
  lb: LoadBalancer,
  m: PoolMember,
  request: MemberChangeRequest,
): Promise<GuardDecision[]> {
  const change = changeOf(m, request);
  if (change === null) return [];
  return [...(await deps.poolGuard.check(lb, m.pool, m.name, change)).decisions];
}

/** The unfinished run whose target is this member, directly or in a rolling run's member list. */
export async function holdingRun(runs: RunRepository, pool: string, member: string): Promise<Run | null> {
  const unfinished = await runs.listUnfinished();
  return (
    unfinished.find(
      (r) =>
        r.target.pool === pool &&
        (r.target.member === member || (r.target.members ?? '').split(',').includes(member)),
    ) ?? null
  );
}

// Back to ready from drain goes through maint: HAProxy's slow start applies only from maint (see readyMember).
async function apply(lb: LoadBalancer, m: PoolMember, request: MemberChangeRequest): Promise<void> {
  if (request.op === 'weight') return lb.setWeight(m.pool, m.name, request.weight ?? m.weight);
  if (request.op === 'ready' && m.admin === 'drain') await lb.setAdminState(m.pool, m.name, 'maint');
  await lb.setAdminState(m.pool, m.name, request.op);
}

async function audit(
  deps: ManualOpsDeps,
  request: MemberChangeRequest,
  before: PoolMember,
  after: PoolMember | null,
  guards: readonly GuardDecision[],
  result: string,
  refusal: string | null,
  forcedPast: readonly string[] | null = null,
): Promise<void> {
  const asked = request.op === 'weight' ? { op: 'weight', weight: request.weight } : { op: request.op };
  await deps.audit.append({
    at: deps.now(),
    actor: `user:${request.actor}`,
    action: `lb.${request.op}`,
    target: `${request.pool}/${request.member}`,
    reason: request.reason ?? null,
    before: memberState(before),
    after:
      after === null
        ? { asked, refusal, guards }
        : {
            ...memberState(after),
            force: forcedPast !== null,
            ...(forcedPast === null ? {} : { refusedGuards: guards.filter((g) => !g.ok), forcedPast }),
          },
    result,
  });
}
