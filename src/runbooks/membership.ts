import { InputError } from '../core/index.js';
import type { NewPoolMember } from '../lb/index.js';
import { holdingRun, lbForPool, memberState, type ManualOpsDeps } from './manualOps.js';

/** A person's request to add a member to a pool. */
export interface AddMemberRequest extends NewPoolMember {
  readonly pool: string;
  readonly reason?: string | null;
  /** The token name of the person asking; the audit actor is `user:<actor>`. */
  readonly actor: string;
}

/** A person's request to remove a member from a pool. */
export interface RemoveMemberRequest {
  readonly pool: string;
  readonly member: string;
  readonly reason?: string | null;
  /** Remove it even when an unfinished run targets it; the audit entry says so. */
  readonly force?: boolean;
  readonly actor: string;
}

/**
 * Adds a member in `maint` with its health checks running: nothing reaches it until someone (a person
 * with `swas lb ready`, or a runbook with a ramp) puts it in rotation. Audited.
 */
export async function addPoolMember(
  deps: ManualOpsDeps,
  request: AddMemberRequest,
): Promise<ReturnType<typeof memberState>> {
  const lb = lbForPool(deps, request.pool);
  if (lb.addMember === undefined)
    throw new InputError(
      'SWAS-LB-400',
      `load balancer "${lb.name}" cannot add members at runtime; add ${request.name} to its configuration instead`,
    );
  const { pool, actor, reason, ...member } = request;
  try {
    await lb.addMember(pool, member);
  } catch (error) {
    await audit(
      deps,
      actor,
      'lb.add',
      `${pool}/${member.name}`,
      reason,
      null,
      { asked: member },
      `error: ${String(error)}`,
    );
    throw error;
  }
  const after = memberState(await lb.getMember(pool, member.name));
  await audit(deps, actor, 'lb.add', `${pool}/${member.name}`, reason, null, after, 'ok');
  return after;
}

/**
 * Removes a member that is in `maint` with no sessions left (the adapter checks), refusing one that an
 * unfinished run targets unless forced. Audited.
 */
export async function removePoolMember(
  deps: ManualOpsDeps,
  request: RemoveMemberRequest,
): Promise<{ removed: true } | { removed: false; reason: string }> {
  const { pool, member, actor, reason } = request;
  const lb = lbForPool(deps, pool);
  if (lb.removeMember === undefined)
    throw new InputError(
      'SWAS-LB-400',
      `load balancer "${lb.name}" cannot remove members at runtime; remove ${member} from its configuration instead`,
    );
  const held = await holdingRun(deps.runs, pool, member);
  const before = memberState(await lb.getMember(pool, member));
  if (held !== null && request.force !== true) {
    const why = `held by run ${held.id} (${held.runbook}); cancel it first (\`swas runbook cancel ${held.id}\`) or use --force`;
    await audit(deps, actor, 'lb.remove', `${pool}/${member}`, reason, before, { refusal: why }, 'refused');
    return { removed: false, reason: `refused remove of ${pool}/${member}: ${why}` };
  }
  try {
    await lb.removeMember(pool, member);
  } catch (error) {
    await audit(
      deps,
      actor,
      'lb.remove',
      `${pool}/${member}`,
      reason,
      before,
      null,
      `error: ${String(error)}`,
    );
    throw error;
  }
  await audit(
    deps,
    actor,
    'lb.remove',
    `${pool}/${member}`,
    reason,
    before,
    { removed: true, force: held !== null },
    'ok',
  );
  return { removed: true };
}

async function audit(
  deps: ManualOpsDeps,
  actor: string,
  action: string,
  target: string,
  reason: string | null | undefined,
  before: unknown,
  after: unknown,
  result: string,
): Promise<void> {
  await deps.audit.append({
    at: deps.now(),
    actor: `user:${actor}`,
    action,
    target,
    reason: reason ?? null,
    before,
    after,
    result,
  });
}
