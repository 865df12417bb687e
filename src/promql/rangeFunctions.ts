import { executionError } from './QueryGuard.js';
import { KahanSum, kahanInc, linearRegression, quantileOf } from './mathUtil.js';

/** The samples of one series inside one step's window: indices [from, to) of t and v. */
export interface Window {
  readonly t: ArrayLike<number>;
  readonly v: ArrayLike<number>;
  readonly from: number;
  readonly to: number;
}

/** Where the window lies and the step it is evaluated for. */
export interface WindowContext {
  /** The evaluation step's timestamp. */
  readonly ts: number;
  /** The window is (rangeEnd - rangeMs, rangeEnd]. */
  readonly rangeEnd: number;
  readonly rangeMs: number;
  /** The scalar argument of quantile_over_time and predict_linear at this step. */
  readonly param: number;
  /** The second scalar argument (double_exponential_smoothing's trend factor) at this step. */
  readonly param2: number;
}

/** A function over the samples in a window; null means "no output at this step". */
export type RangeFunction = (w: Window, c: WindowContext) => number | null;

/** rate, increase and delta with Prometheus's extrapolation to the window boundaries. */
function extrapolatedRate(w: Window, c: WindowContext, isCounter: boolean, isRate: boolean): number | null {
  const n = w.to - w.from;
  if (n < 2) return null;
  const { t, v, from, to } = w;
  const firstT = t[from] ?? 0;
  const lastT = t[to - 1] ?? 0;
  const firstV = v[from] ?? NaN;
  let result = (v[to - 1] ?? NaN) - firstV;
  if (isCounter) {
    for (let i = from + 1; i < to; i++) {
      const prev = v[i - 1] ?? NaN;
      if ((v[i] ?? NaN) < prev) result += prev;
    }
  }
  const rangeStart = c.rangeEnd - c.rangeMs;
  let durationToStart = (firstT - rangeStart) / 1000;
  let durationToEnd = (c.rangeEnd - lastT) / 1000;
  const sampledInterval = (lastT - firstT) / 1000;
  const averageDurationBetweenSamples = sampledInterval / (n - 1);
  const extrapolationThreshold = averageDurationBetweenSamples * 1.1;
  if (durationToStart >= extrapolationThreshold) durationToStart = averageDurationBetweenSamples / 2;
  if (isCounter && result > 0 && firstV >= 0) {
    // A counter cannot go below zero: do not extrapolate further back than where it would have been zero.
    const durationToZero = sampledInterval * (firstV / result);
    if (durationToZero < durationToStart) durationToStart = durationToZero;
  }
  if (durationToEnd >= extrapolationThreshold) durationToEnd = averageDurationBetweenSamples / 2;
  let factor =
    sampledInterval === 0 ? 1 : (sampledInterval + durationToStart + durationToEnd) / sampledInterval;
  if (isRate) factor /= c.rangeMs / 1000;
  return result * factor;
}

/** irate and idelta: from the last two samples only. */
function instantValue(w: Window, isRate: boolean): number | null {
  if (w.to - w.from < 2) return null;
  const lastT = w.t[w.to - 1] ?? 0;
  const prevT = w.t[w.to - 2] ?? 0;
  const last = w.v[w.to - 1] ?? NaN;
  const prev = w.v[w.to - 2] ?? NaN;
  const interval = lastT - prevT;
  if (interval === 0) return null;
  // For irate a decrease is a counter reset: the new value is the increase since the reset.
  let result = isRate && last < prev ? last : last - prev;
  if (isRate) result /= interval / 1000;
  return result;
}

function avgOverTime(w: Window): number {
  let sum = w.v[w.from] ?? NaN;
  let c = 0;
  let mean = 0;
  let count = 1;
  let incremental = false;
  for (let i = w.from + 1; i < w.to; i++) {
    const f = w.v[i] ?? NaN;
    count = i - w.from + 1;
    if (!incremental) {
      const [newSum, newC] = kahanInc(f, sum, c);
      if (Number.isFinite(newSum) || Number.isNaN(newSum)) {
        sum = newSum;
        c = newC;
        continue;
      }
      // The running sum would overflow: switch to an incremental mean from here on.
      incremental = true;
      mean = sum / (count - 1);
      c /= count - 1;
    }
    const q = (count - 1) / count;
    [mean, c] = kahanInc(f / count, q * mean, q * c);
  }
  return incremental ? mean + c : sum / count + c / count;
}

function sumOverTime(w: Window): number {
  const k = new KahanSum();
  for (let i = w.from; i < w.to; i++) k.add(w.v[i] ?? NaN);
  return k.value();
}

function extremeOverTime(w: Window, better: (cur: number, best: number) => boolean): number {
  let best = w.v[w.from] ?? NaN;
  for (let i = w.from; i < w.to; i++) {
    const f = w.v[i] ?? NaN;
    if (better(f, best) || Number.isNaN(best)) best = f;
  }
  return best;
}

function varianceOverTime(w: Window): number {
  let count = 0;
  let mean = 0;
  let cMean = 0;
  let aux = 0;
  let cAux = 0;
  for (let i = w.from; i < w.to; i++) {
    const f = w.v[i] ?? NaN;
    count++;
    const delta = f - (mean + cMean);
    [mean, cMean] = kahanInc(delta / count, mean, cMean);
    [aux, cAux] = kahanInc(delta * (f - (mean + cMean)), aux, cAux);
  }
  return (aux + cAux) / count;
}

function changes(w: Window): number {
  let n = 0;
  for (let i = w.from + 1; i < w.to; i++) {
    const prev = w.v[i - 1] ?? NaN;
    const cur = w.v[i] ?? NaN;
    if (cur !== prev && !(Number.isNaN(cur) && Number.isNaN(prev))) n++;
  }
  return n;
}

function resets(w: Window): number {
  let n = 0;
  for (let i = w.from + 1; i < w.to; i++) if ((w.v[i] ?? NaN) < (w.v[i - 1] ?? NaN)) n++;
  return n;
}

function values(w: Window): number[] {
  const out: number[] = [];
  for (let i = w.from; i < w.to; i++) out.push(w.v[i] ?? NaN);
  return out;
}

/** Median absolute deviation; a NaN sample makes it NaN, as in Prometheus. */
function madOverTime(w: Window): number {
  const xs = values(w);
  if (xs.some(Number.isNaN)) return NaN;
  const median = quantileOf(0.5, xs);
  return quantileOf(
    0.5,
    xs.map((x) => Math.abs(x - median)),
  );
}

/** Timestamp (seconds) of the last sample for which better(sample, best so far) holds, or best is NaN. */
function tsOfExtreme(w: Window, better: (cur: number, best: number) => boolean): number {
  let best = w.v[w.from] ?? NaN;
  let at = w.t[w.from] ?? NaN;
  for (let i = w.from; i < w.to; i++) {
    const f = w.v[i] ?? NaN;
    if (better(f, best) || Number.isNaN(best)) {
      best = f;
      at = w.t[i] ?? NaN;
    }
  }
  return at / 1000;
}

/** Go's %f: six decimals, for Prometheus's parameter error messages. */
function goFixed(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf';
  return v.toFixed(6);
}

/** Holt's linear (double exponential) smoothing with smoothing factor sf and trend factor tf. */
function doubleExponentialSmoothing(w: Window, c: WindowContext): number | null {
  const sf = c.param;
  const tf = c.param2;
  if (!(sf > 0 && sf < 1))
    executionError(`invalid smoothing factor. Expected: 0 < sf < 1, got: ${goFixed(sf)}`);
  if (!(tf > 0 && tf < 1)) executionError(`invalid trend factor. Expected: 0 < tf < 1, got: ${goFixed(tf)}`);
  if (w.to - w.from < 2) return null;
  let s0 = 0;
  let s1 = w.v[w.from] ?? NaN;
  let b = (w.v[w.from + 1] ?? NaN) - s1;
  for (let i = w.from + 1; i < w.to; i++) {
    const x = sf * (w.v[i] ?? NaN);
    // The trend starts as the first difference and is then smoothed with tf.
    if (i > w.from + 1) b = tf * (s1 - s0) + (1 - tf) * b;
    const y = (1 - sf) * (s1 + b);
    s0 = s1;
    s1 = x + y;
  }
  return s1;
}

/** Range-vector functions by name. absent_over_time is handled by the caller (it looks at all series). */
export const rangeFunctions: ReadonlyMap<string, RangeFunction> = new Map<string, RangeFunction>([
  ['rate', (w, c) => extrapolatedRate(w, c, true, true)],
  ['increase', (w, c) => extrapolatedRate(w, c, true, false)],
  ['delta', (w, c) => extrapolatedRate(w, c, false, false)],
  ['irate', (w) => instantValue(w, true)],
  ['idelta', (w) => instantValue(w, false)],
  ['avg_over_time', avgOverTime],
  ['sum_over_time', sumOverTime],
  ['count_over_time', (w) => w.to - w.from],
  ['min_over_time', (w) => extremeOverTime(w, (cur, best) => cur < best)],
  ['max_over_time', (w) => extremeOverTime(w, (cur, best) => cur > best)],
  ['last_over_time', (w) => w.v[w.to - 1] ?? NaN],
  ['first_over_time', (w) => w.v[w.from] ?? NaN],
  ['present_over_time', () => 1],
  ['stdvar_over_time', varianceOverTime],
  ['stddev_over_time', (w) => Math.sqrt(varianceOverTime(w))],
  ['quantile_over_time', (w, c) => quantileOf(c.param, values(w))],
  ['mad_over_time', madOverTime],
  ['ts_of_min_over_time', (w) => tsOfExtreme(w, (cur, best) => cur <= best)],
  ['ts_of_max_over_time', (w) => tsOfExtreme(w, (cur, best) => cur >= best)],
  ['ts_of_first_over_time', (w) => (w.t[w.from] ?? NaN) / 1000],
  ['ts_of_last_over_time', (w) => (w.t[w.to - 1] ?? NaN) / 1000],
  ['double_exponential_smoothing', doubleExponentialSmoothing],
  ['changes', changes],
  ['resets', resets],
  [
    'deriv',
    (w) => (w.to - w.from < 2 ? null : linearRegression(w.t, w.v, w.from, w.to, w.t[w.from] ?? 0)[0]),
  ],
  [
    'predict_linear',
    (w, c) => {
      if (w.to - w.from < 2) return null;
      const [slope, intercept] = linearRegression(w.t, w.v, w.from, w.to, c.ts);
      return slope * c.param + intercept;
    },
  ],
]);

/** Range functions whose output keeps the metric name (they act like offset). */
export const nameKeepingRangeFunctions: ReadonlySet<string> = new Set(['last_over_time', 'first_over_time']);
