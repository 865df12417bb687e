/** A measured figure over repeated trials: the median, with the spread beside it. */
export interface Summary {
  readonly value: number;
  readonly min: number;
  readonly max: number;
  readonly trials: number;
}

/** The median of `values` (the mean of the middle two for an even count); NaN when there are none. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const upper = sorted[mid] ?? Number.NaN;
  return sorted.length % 2 === 1 ? upper : ((sorted[mid - 1] ?? Number.NaN) + upper) / 2;
}

/** Median, min, max and count of repeated trials; NaN figures when there were no trials. */
export function summarize(values: readonly number[]): Summary {
  if (values.length === 0) return { value: Number.NaN, min: Number.NaN, max: Number.NaN, trials: 0 };
  return {
    value: median(values),
    min: Math.min(...values),
    max: Math.max(...values),
    trials: values.length,
  };
}

/** Rounds to `digits` significant digits so result files stay readable. */
export function round(value: number, digits = 4): number {
  if (!Number.isFinite(value) || value === 0) return value;
  return Number(value.toPrecision(digits));
}
