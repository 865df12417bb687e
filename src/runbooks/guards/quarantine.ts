import { describeRefusals, errorMessage } from '../../core/index.js';
import type { Quarantine } from '../../store/index.js';
import type { AuditPort, LoadBalancerDirectory } from '../ports.js';
import type { PoolGuard } from './poolGuard.js';

/** What taking a quarantined target out of rotation needs. */
export interface LeaveOutDeps {
  readonly lbs: LoadBalancerDirectory;
  readonly poolGuard: PoolGuard;
  readonly audit: AuditPort;
}

/**
 * Leaves a quarantined pool member out of rotation (maint), if the pool guards allow it: a member that
 * keeps failing is better out than flapping, but not at the price of the pool. Returns what happened,
 * for the page.
 */
export async function leaveOutOfRotation(deps: LeaveOutDeps, quarantine: Quarantine): Promise<string> {
  const { pool, member } = quarantine.target;
  if (pool === undefined || member === undefined)
    return 'automation leaves it alone until a human releases it';
  const lb = deps.lbs.forPool(pool);
  if (lb === null) return `no load balancer serves pool ${pool}, so it stays as it is`;
  try {
    return await deps.poolGuard.withPoolLock(pool, async () => {
      const before = await lb.getMember(pool, member);
      if (before.admin === 'maint') return `${pool}/${member} is already in maintenance and stays there`;
      const check = await deps.poolGuard.check(lb, pool, member, { kind: 'out' });
      if (!check.ok)
        return `${pool}/${member} stays in rotation: the pool guards refuse to take it out (${describeRefusals(check.decisions)})`;
      await lb.setAdminState(pool, member, 'maint');
      const after = await lb.getMember(pool, member);
      await deps.audit.record({
        actor: `quarantine:${quarantine.id}`,
        action: 'lb.maint',
        target: `${pool}/${member}`,
        reason: quarantine.reason,
        before: { admin: before.admin, weight: before.weight },
        after: { admin: after.admin, weight: after.weight },
        result: 'ok',
      });
      return `${pool}/${member} is in maintenance (out of rotation) until a human releases the quarantine`;
    });
  } catch (error) {
    return `taking ${pool}/${member} out of rotation failed: ${errorMessage(error)}`;
  }
}
