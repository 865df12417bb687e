import { executionError } from './QueryGuard.js';
import type { QueryGuard } from './QueryGuard.js';
import { headKey, stepCount } from './values.js';
import type { EvalRange, Sample, StepSeries, Vector } from './values.js';

/** Called once per step with the input vectors at that step; returns the output vector. */
export type StepFunction = (inputs: Vector[], ts: number, stepIndex: number) => Vector;

/**
 * Evaluates a per-step operation over a range, Prometheus's rangeEval: gathers each input's vector at every
 * step, calls fn, and assembles the outputs into series. In a single-step evaluation the outputs keep their
 * order and identical label sets are left for the final check; over several steps a label set produced twice
 * in one step is an error.
 */
export function rangeEval(
  guard: QueryGuard,
  range: EvalRange,
  inputs: StepSeries[][],
  fn: StepFunction,
): StepSeries[] {
  const steps = stepCount(range);
  if (steps <= 0) return [];
  const cursors = inputs.map((m) => new Int32Array(m.length));
  const vectors: Vector[] = inputs.map(() => []);
  const single = steps === 1;
  const list: StepSeries[] = [];
  const byKey = new Map<string, StepSeries>();
  for (let i = 0; i < steps; i++) {
    guard.check();
    const ts = range.start + i * range.step;
    for (let k = 0; k < inputs.length; k++)
      vectors[k] = gather(inputs[k] ?? [], cursors[k] ?? new Int32Array(0), ts);
    const out = fn(vectors, ts, i);
    guard.addSamples(out.length);
    if (single) {
      for (const s of out) list.push({ head: s.head, ts: [ts], vs: [s.v] });
      continue;
    }
    addStep(byKey, out, ts);
  }
  return single ? list : [...byKey.values()];
}

function gather(matrix: StepSeries[], cursor: Int32Array, ts: number): Vector {
  const vec: Sample[] = [];
  for (let s = 0; s < matrix.length; s++) {
    const series = matrix[s];
    const c = cursor[s] ?? 0;
    if (series === undefined || c >= series.ts.length || series.ts[c] !== ts) continue;
    vec.push({ head: series.head, v: series.vs[c] ?? NaN });
    cursor[s] = c + 1;
  }
  return vec;
}

function addStep(byKey: Map<string, StepSeries>, out: Vector, ts: number): void {
  for (const sample of out) {
    const key = headKey(sample.head);
    let series = byKey.get(key);
    if (series === undefined) {
      series = { head: sample.head, ts: [], vs: [] };
      byKey.set(key, series);
    } else if (series.ts[series.ts.length - 1] === ts) {
      executionError('vector cannot contain metrics with the same labelset');
    }
    series.ts.push(ts);
    series.vs.push(sample.v);
  }
}

/** Number of points held by a set of step series. */
export function pointCount(series: readonly StepSeries[]): number {
  let n = 0;
  for (const s of series) n += s.ts.length;
  return n;
}
