import { setTimeout as sleep } from 'node:timers/promises';
import type { LoadBalancer, PoolMember } from '../../lb/index.js';
import { describeRefusals, type GuardDecision } from '../../core/index.js';
import type { MemberChange } from '../guards/poolGuard.js';
import { auditAction, runIdOf, type StepContext, type StepOutcome } from './StepContext.js';

/** How long a shedding step waits between lowering the weight further and checking capacity again. */
const SHED_INTERVAL_MS = 2000;

/** What a guarded change did: acted (with the guards' decisions), or refused with a step failure. */
export type GuardedResult<T> =
  | { readonly ok: true; readonly value: T; readonly guards: readonly GuardDecision[] }
  | { readonly ok: false; readonly outcome: StepOutcome };

/**
 * Takes a member out of service (or lowers its weight) only when the pool's guards allow it, holding the
 * pool's lock from the check to the action. When only capacity refuses and the pool sheds, the member's
 * weight is halved step by step (never below what the pool needs from it) while the step waits for
 * capacity; a human is paged once. The step fails at its timeout, and the run's undo path restores the
 * weight.
 */
export async function guardedChange<T>(
  ctx: StepContext,
  lb: LoadBalancer,
  member: PoolMember,
  change: MemberChange,
  act: () => Promise<T>,
): Promise<GuardedResult<T>> {
  // The undo path puts back the state the pool had before the run: no guard stands in its way.
  if (ctx.undo) return { ok: true, value: await act(), guards: [] };
  const { pool, name } = member;
  let paged = false;
  const shed: number[] = [];
  for (;;) {
    ctx.signal.throwIfAborted();
    const attempt = await ctx.poolGuard.withPoolLock(pool, async () => {
      const check = await ctx.poolGuard.check(lb, pool, name, change);
      if (check.ok) {
        const value = await act();
        if (change.kind === 'out') await restoreShedWeight(ctx, lb, member);
        return { acted: true as const, value, check };
      }
      if (check.fallback === 'shed' && check.shedTo !== null) {
        const now = await lb.getMember(pool, name);
        const next = Math.max(check.shedTo, Math.ceil(now.weight / 2));
        if (next < now.weight) {
          await lb.setWeight(pool, name, next);
          await auditAction(ctx, {
            action: 'lb.weight',
            target: `${pool}/${name}`,
            reason: `runbook ${ctx.runbook}: shedding load, the pool cannot spare the member (${describeRefusals(check.decisions)})`,
            before: { weight: now.weight },
            after: { weight: next },
            result: 'ok',
          });
          shed.push(next);
        }
      }
      return { acted: false as const, check };
    });
    if (attempt.acted) return { ok: true, value: attempt.value, guards: attempt.check.decisions };
    const { check } = attempt;
    const why = describeRefusals(check.decisions);
    const result = { guards: check.decisions, shed };
    if (check.fallback !== 'shed')
      return { ok: false, outcome: { ok: false, error: `refused by the pool guards: ${why}`, result } };
    if (!paged) {
      paged = true;
      await ctx.notifications?.notify({
        runId: runIdOf(ctx),
        runbook: ctx.runbook,
        urgency: 'high',
        message: `${pool}/${name} cannot be taken out: ${why}. ${shed.length > 0 ? `Its weight is lowered to ${shed.at(-1)}` : 'Its weight stays'} while swas waits for capacity until the step times out.`,
      });
    }
    if (ctx.now() >= ctx.deadline)
      return {
        ok: false,
        outcome: {
          ok: false,
          error: `refused by the pool guards until the step timeout: ${why}${shed.length > 0 ? `; weight shed to ${shed.join(' → ')}` : ''}`,
          result,
        },
      };
    await sleep(Math.max(1, Math.min(SHED_INTERVAL_MS, ctx.deadline - ctx.now())), undefined, {
      signal: ctx.signal,
    });
  }
}

/**
 * Once a shed member is out of rotation it carries nothing at any weight, so the weight it gave up while
 * the pool could not spare it goes back now: whatever returns it to rotation later returns it whole,
 * instead of at the shed weight with no run that owns it. A step resumed after a crash between shedding
 * and this restore finds the weight it started from in `ctx.memberBefore`.
 */
export async function restoreShedWeight(
  ctx: StepContext,
  lb: LoadBalancer,
  before: PoolMember,
): Promise<void> {
  const { pool, name } = before;
  const first = ctx.memberBefore;
  const weight =
    first !== null && first.admin === 'ready' ? Math.max(first.weight, before.weight) : before.weight;
  const now = await lb.getMember(pool, name);
  if (now.admin === 'ready' || now.weight >= weight) return;
  await lb.setWeight(pool, name, weight);
  await auditAction(ctx, {
    action: 'lb.weight',
    target: `${pool}/${name}`,
    reason: `runbook ${ctx.runbook}: ${pool}/${name} is out of rotation; restoring the weight shed while the pool could not spare it`,
    before: { admin: now.admin, weight: now.weight },
    after: { admin: now.admin, weight },
    result: 'ok',
  });
}
