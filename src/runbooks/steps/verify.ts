import { setTimeout as sleep } from 'node:timers/promises';
import { checkCondition } from './promqlCondition.js';
import { stringParam, type StepHandler } from './StepContext.js';

/**
 * Proves a repair under real traffic: the PromQL condition must start holding before the step timeout and
 * then hold at every evaluation for `for`. Unlike `wait.until`, which keeps waiting when a condition breaks,
 * `verify` FAILS as soon as the condition breaks after having held (a regression), and on a query error
 * while holding (nothing proves it still holds).
 */
export const verify: StepHandler = async (ctx, params) => {
  const expr = stringParam(params, 'expr');
  const forMs = Number(params.for);
  const intervalMs = Number(params.interval ?? ctx.pollMs);
  let since: number | null = null;
  let last = 'not evaluated';
  let checks = 0;
  for (;;) {
    ctx.signal.throwIfAborted();
    const now = ctx.now();
    const check = await checkCondition(ctx, expr);
    checks++;
    last = check.seen;
    const holds = check.kind === 'value' && check.holds;
    if (since !== null && !holds) {
      return {
        ok: false,
        error: `\`${expr}\` broke after holding for ${seconds(now - since)} of the required ${seconds(forMs)} (${last})`,
        result: { expr, heldMs: now - since, forMs, last, checks },
      };
    }
    if (holds) {
      since ??= now;
      if (now - since >= forMs)
        return {
          ok: true,
          message: `\`${expr}\` held for ${seconds(forMs)} (${checks} checks; last ${last})`,
          result: { expr, heldMs: now - since, forMs, last, checks },
        };
    }
    if (now >= ctx.deadline) break;
    await sleep(Math.min(intervalMs, Math.max(1, ctx.deadline - now)), undefined, { signal: ctx.signal });
  }
  const error =
    since === null
      ? `\`${expr}\` never held before the step timeout (last: ${last})`
      : `\`${expr}\` held for only ${seconds(ctx.now() - since)} of the required ${seconds(forMs)} before the step timeout (last: ${last})`;
  return {
    ok: false,
    error,
    result: { expr, heldMs: since === null ? 0 : ctx.now() - since, forMs, last, checks },
  };
};

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms % 1000 === 0 ? 0 : 1)} s`;
}
