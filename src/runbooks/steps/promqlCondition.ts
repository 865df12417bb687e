import type { QueryValue } from '../../promql/index.js';
import type { StepContext } from './StepContext.js';

/** A condition holds when the query returns at least one sample (as an alerting rule fires), or a non-zero scalar. */
export function conditionHolds(value: QueryValue): boolean {
  if (value.resultType === 'vector') return value.result.length > 0;
  if (value.resultType === 'scalar') return value.result[1] !== 0 && !Number.isNaN(value.result[1]);
  return false;
}

/** A short, human description of a query result: how many samples, and the first with its labels. */
export function describeValue(value: QueryValue | null): string {
  if (value === null) return 'no result';
  if (value.resultType === 'vector') {
    const first = value.result[0];
    if (first === undefined) return 'empty vector (condition false)';
    const labels = Object.entries(first.labels)
      .map(([k, v]) => `${k}="${v}"`)
      .join(', ');
    return `${value.result.length} sample(s), first {${labels}} = ${first.value}`;
  }
  if (value.resultType === 'scalar') return `scalar ${value.result[1]}`;
  return value.resultType;
}

/** One evaluation of a condition: held or not, with what was seen. */
export type ConditionCheck =
  | { readonly kind: 'value'; readonly holds: boolean; readonly seen: string }
  | { readonly kind: 'error'; readonly seen: string };

/** Evaluates `expr` now. */
export async function checkCondition(ctx: StepContext, expr: string): Promise<ConditionCheck> {
  const outcome = await ctx.query.instant(expr, ctx.now());
  if (!outcome.ok) return { kind: 'error', seen: `query error: ${outcome.error.message}` };
  return { kind: 'value', holds: conditionHolds(outcome.value), seen: describeValue(outcome.value) };
}
