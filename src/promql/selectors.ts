import type { SeriesData } from '../tsdb/index.js';
import type { MatrixSelector, SubqueryExpr, VectorSelector } from './ast.js';
import { resolveAt } from './evalContext.js';
import type { EvalContext, RangeSource } from './evalContext.js';
import { isStaleMarker, stepCount } from './values.js';
import type { EvalRange, RangeSeries, SeriesHead, StepSeries } from './values.js';

/** What a vector selector yields per step: the sample's value, or (for timestamp()) its timestamp in seconds. */
export type SelectorOutput = 'value' | 'timestamp';

/**
 * Evaluates an instant vector selector: at each step the newest sample within the lookback window
 * (refTime - lookback, refTime], unless that sample is a staleness marker.
 */
export function evalVectorSelector(
  ctx: EvalContext,
  sel: VectorSelector,
  range: EvalRange,
  output: SelectorOutput = 'value',
): StepSeries[] {
  const steps = stepCount(range);
  if (steps <= 0) return [];
  const at = resolveAt(ctx, sel.at);
  const lastStep = range.start + (steps - 1) * range.step;
  const firstRef = (at ?? range.start) - sel.offsetMs;
  const lastRef = (at ?? lastStep) - sel.offsetMs;
  const data = ctx.reader.select(sel.matchers, firstRef - ctx.lookbackMs + 1, lastRef);
  const out: StepSeries[] = [];
  for (const series of data) {
    ctx.guard.check();
    const points = lookbackPoints(ctx, series, range, steps, at, sel.offsetMs, output);
    if (points.ts.length > 0) out.push(points);
  }
  return out;
}

function lookbackPoints(
  ctx: EvalContext,
  series: SeriesData,
  range: EvalRange,
  steps: number,
  at: number | undefined,
  offsetMs: number,
  output: SelectorOutput,
): StepSeries {
  const head: SeriesHead = { labels: series.labels, dropName: output === 'timestamp' };
  const result: StepSeries = { head, ts: [], vs: [] };
  const { t, v } = series;
  let j = -1;
  for (let i = 0; i < steps; i++) {
    const ts = range.start + i * range.step;
    const ref = (at ?? ts) - offsetMs;
    while (j + 1 < t.length && (t[j + 1] ?? Infinity) <= ref) j++;
    if (j < 0) continue;
    const sampleT = t[j] ?? -Infinity;
    const value = v[j] ?? NaN;
    if (sampleT <= ref - ctx.lookbackMs || isStaleMarker(value)) continue;
    result.ts.push(ts);
    result.vs.push(output === 'timestamp' ? sampleT / 1000 : value);
  }
  ctx.guard.addSamples(result.ts.length);
  return result;
}

/** Selects the raw samples a range function needs for a matrix selector over the whole evaluation range. */
export function matrixSource(ctx: EvalContext, ms: MatrixSelector, range: EvalRange): RangeSource {
  const sel = ms.selector;
  const at = resolveAt(ctx, sel.at);
  const steps = Math.max(1, stepCount(range));
  const lastStep = range.start + (steps - 1) * range.step;
  const refTime = (ts: number): number => (at ?? ts) - sel.offsetMs;
  const data = ctx.reader.select(sel.matchers, refTime(range.start) - ms.rangeMs + 1, refTime(lastStep));
  const series: RangeSeries[] = [];
  for (const d of data) {
    ctx.guard.check();
    const clean = withoutStaleMarkers(d);
    if (clean.t.length === 0) continue;
    ctx.guard.addSamples(clean.t.length);
    series.push(clean);
  }
  return { series, rangeMs: ms.rangeMs, refTime };
}

/** Staleness markers never take part in range functions; copy only when a series has some. */
function withoutStaleMarkers(d: SeriesData): RangeSeries {
  const head: SeriesHead = { labels: d.labels, dropName: false };
  let stale = 0;
  for (let i = 0; i < d.v.length; i++) if (isStaleMarker(d.v[i] ?? 0)) stale++;
  if (stale === 0) return { head, t: d.t, v: d.v };
  const t = new Float64Array(d.t.length - stale);
  const v = new Float64Array(d.t.length - stale);
  let k = 0;
  for (let i = 0; i < d.v.length; i++) {
    const value = d.v[i] ?? 0;
    if (isStaleMarker(value)) continue;
    t[k] = d.t[i] ?? 0;
    v[k] = value;
    k++;
  }
  return { head, t, v };
}

/**
 * Evaluates a subquery's inner expression on its own step grid (multiples of the step, as Prometheus aligns
 * them) covering every window the outer steps will ask for.
 */
export function subquerySource(ctx: EvalContext, sq: SubqueryExpr, range: EvalRange): RangeSource {
  const step = sq.stepMs ?? ctx.subqueryStepMs;
  const at = resolveAt(ctx, sq.at);
  const steps = Math.max(1, stepCount(range));
  const lastStep = range.start + (steps - 1) * range.step;
  const refTime = (ts: number): number => (at ?? ts) - sq.offsetMs;
  const earliest = refTime(range.start) - sq.rangeMs;
  let innerStart = step * Math.trunc(earliest / step);
  if (innerStart <= earliest) innerStart += step;
  const innerEnd = refTime(lastStep);
  const inner =
    innerEnd < innerStart ? [] : ctx.evalSteps(sq.expr, { start: innerStart, end: innerEnd, step });
  const series: RangeSeries[] = inner.map((s) => ({ head: s.head, t: s.ts, v: s.vs }));
  return { series, rangeMs: sq.rangeMs, refTime };
}

/** Index bounds [from, to) of the samples of t inside the window (end - rangeMs, end]. */
export function windowBounds(
  t: ArrayLike<number>,
  end: number,
  rangeMs: number,
  hint: { from: number; to: number },
): void {
  let { from, to } = hint;
  if (to > 0 && (t[to - 1] ?? -Infinity) > end) {
    from = 0;
    to = 0;
  }
  while (to < t.length && (t[to] ?? Infinity) <= end) to++;
  if (from > to) from = to;
  while (from < to && (t[from] ?? Infinity) <= end - rangeMs) from++;
  hint.from = from;
  hint.to = to;
}
