import type { QueryValue } from '../../promql/index.js';
import { pollUntil, stringParam, type StepHandler } from './StepContext.js';

/** A condition holds when the query returns at least one sample, as an alerting rule would fire. */
function holds(value: QueryValue): boolean {
  if (value.resultType === 'vector') return value.result.length > 0;
  if (value.resultType === 'scalar') return value.result[1] !== 0 && !Number.isNaN(value.result[1]);
  return false;
}

function describe(value: QueryValue | null): string {
  if (value === null) return 'no result';
  if (value.resultType === 'vector')
    return value.result.length === 0
      ? 'empty vector'
      : `${value.result.length} samples, first ${value.result[0]?.value}`;
  if (value.resultType === 'scalar') return `scalar ${value.result[1]}`;
  return value.resultType;
}

/** Waits until a PromQL condition holds continuously for `for`, or fails at the timeout. */
export const waitUntil: StepHandler = async (ctx, params) => {
  const expr = stringParam(params, 'expr');
  const forMs = Number(params.for ?? 0);
  let since: number | null = null;
  let last = null as QueryValue | null;
  let lastError = null as string | null;
  const met = await pollUntil(ctx, async () => {
    const now = ctx.now();
    const outcome = await ctx.query.instant(expr, now);
    if (!outcome.ok) {
      lastError = outcome.error.message;
      since = null;
      return null;
    }
    last = outcome.value;
    if (!holds(outcome.value)) {
      since = null;
      return null;
    }
    since ??= now;
    return now - since >= forMs ? now : null;
  });
  if (met !== null)
    return {
      ok: true,
      message: `condition \`${expr}\` held${forMs > 0 ? ` for ${forMs / 1000} s` : ''}`,
      result: { expr },
    };
  const why = lastError !== null ? `query error: ${lastError}` : `last result: ${describe(last)}`;
  return {
    ok: false,
    error: `condition \`${expr}\` did not hold before the step timeout (${why})`,
    result: { expr },
  };
};
