import { setTimeout as sleep } from 'node:timers/promises';
import type { LoadBalancer, PoolMember } from '../../lb/index.js';
import { checkCondition } from './promqlCondition.js';
import { auditAction, type StepContext, type StepOutcome } from './StepContext.js';

/** `lb.ready`'s own weight ramp, as the planner hands it over (templates in `check` already expanded). */
export interface WeightRamp {
  /** Percent of the member's configured weight, in order; the ramp always ends at 100. */
  readonly weights: readonly number[];
  /** How long each weight is held before its check (ms). @default 5000 */
  readonly interval: number;
  /** PromQL that holds (returns a sample) while the member is healthy at its current weight. */
  readonly check: string | undefined;
}

/** One evaluation of the ramp check at one weight. */
export interface RampCheck {
  readonly weight: number;
  readonly ok: boolean;
  readonly detail: string;
}

/** The member fields the audit log and step results keep. */
export const memberSnapshot = (m: PoolMember) => ({
  admin: m.admin,
  operational: m.operational,
  weight: m.weight,
  sessions: m.activeSessions,
});

/** Reads `ramp` from lb.ready's params; null when it is not a weight ramp ('slowstart', 'none'). */
export function weightRampOf(ramp: unknown): WeightRamp | null {
  if (typeof ramp !== 'object' || ramp === null || !Array.isArray((ramp as { weights?: unknown }).weights))
    return null;
  const { weights, interval, check } = ramp as { weights: number[]; interval?: unknown; check?: unknown };
  return {
    weights,
    interval: Number(interval ?? 5000),
    check: typeof check === 'string' && check !== '' ? check : undefined,
  };
}

/** The ramp's percents as absolute weights of a member whose configured weight is `initialWeight`. */
export function rampWeights(ramp: WeightRamp, initialWeight: number): number[] {
  const percents = ramp.weights.at(-1) === 100 ? ramp.weights : [...ramp.weights, 100];
  return percents.map((p) => Math.max(1, Math.round((initialWeight * p) / 100)));
}

/** Sets a member's weight unless it already has it (idempotent), auditing the change; returns the member after. */
export async function setWeight(
  ctx: StepContext,
  lb: LoadBalancer,
  member: PoolMember,
  weight: number,
  reason: string,
): Promise<PoolMember> {
  if (member.weight === weight) return member;
  await lb.setWeight(member.pool, member.name, weight);
  const after = await lb.getMember(member.pool, member.name);
  await auditAction(ctx, {
    action: 'lb.weight',
    target: `${member.pool}/${member.name}`,
    reason,
    before: memberSnapshot(member),
    after: memberSnapshot(after),
    result: 'ok',
  });
  return after;
}

/**
 * Walks a member that is already up through `weights` (absolute; the first is assumed set), holding each
 * for the ramp interval. With a `check`, the member must prove itself at every weight, the last included:
 * on a regression or a query error the member goes back to the first weight and the step fails, so the run
 * takes its undo path instead of loading a server that is getting worse.
 */
export async function rampWeight(
  ctx: StepContext,
  lb: LoadBalancer,
  before: PoolMember,
  weights: readonly number[],
  ramp: WeightRamp,
  reason: string,
): Promise<StepOutcome> {
  const { pool, name } = before;
  const tried: number[] = [];
  const checks: RampCheck[] = [];
  for (const [i, weight] of weights.entries()) {
    if (i > 0) await setWeight(ctx, lb, await lb.getMember(pool, name), weight, reason);
    tried.push(weight);
    const last = i === weights.length - 1;
    if (ramp.check === undefined && last) break;
    await sleep(ramp.interval, undefined, { signal: ctx.signal });
    if (ramp.check === undefined) continue;
    const check = await evaluate(ctx, ramp.check, weight);
    checks.push(check);
    if (!check.ok) return backOff(ctx, lb, before, weights, ramp.check, { tried, checks }, reason);
  }
  const after = await lb.getMember(pool, name);
  const how = `weights ${weights.join(' → ')}${ramp.check === undefined ? '' : `, check held at each`}`;
  return {
    ok: true,
    message: `${pool}/${name} back in rotation (${how})`,
    result: { before: memberSnapshot(before), after: memberSnapshot(after), weights: tried, checks },
  };
}

async function evaluate(ctx: StepContext, expr: string, weight: number): Promise<RampCheck> {
  try {
    const check = await checkCondition(ctx, expr);
    return { weight, ok: check.kind === 'value' && check.holds, detail: check.seen };
  } catch (error) {
    // A query adapter that throws instead of returning an error still must not let the ramp go on.
    return {
      weight,
      ok: false,
      detail: `query error: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
}

// Puts the member back on the lowest ramp weight and fails the step, saying where and why it regressed.
async function backOff(
  ctx: StepContext,
  lb: LoadBalancer,
  before: PoolMember,
  weights: readonly number[],
  expr: string,
  seen: { tried: number[]; checks: RampCheck[] },
  reason: string,
): Promise<StepOutcome> {
  const { pool, name } = before;
  const failed = seen.checks.at(-1) as RampCheck;
  const lowest = weights[0] ?? failed.weight;
  const percent = Math.round((failed.weight * 100) / before.initialWeight);
  let backedOff: string;
  try {
    const why = `${reason}: ramp check failed at weight ${failed.weight}, backing off`;
    await setWeight(ctx, lb, await lb.getMember(pool, name), lowest, why);
    backedOff = `backed off to weight ${lowest}`;
  } catch (error) {
    backedOff = `backing off to weight ${lowest} FAILED: ${error instanceof Error ? error.message : String(error)}`;
  }
  return {
    ok: false,
    error:
      `${pool}/${name} regressed at weight ${failed.weight} (${percent}% of ${before.initialWeight}): ` +
      `ramp check \`${expr}\` did not hold (${failed.detail}); ${backedOff}`,
    result: { before: memberSnapshot(before), weights: seen.tried, checks: seen.checks, backedOffTo: lowest },
  };
}
