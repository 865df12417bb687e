import { labelsKey } from '../core/index.js';
import type { Labels } from '../core/index.js';
import type { SeriesHead, Vector } from './values.js';

interface Bucket {
  upperBound: number;
  count: number;
}

/** Parses a float as Go's strconv.ParseFloat does for bucket bounds ("+Inf", "1e3", "0.5"); null when malformed. */
export function parseGoFloat(text: string): number | null {
  const t = text.trim();
  if (/^[+-]?(inf|infinity)$/i.test(t)) return t.startsWith('-') ? -Infinity : Infinity;
  if (/^[+-]?nan$/i.test(t)) return NaN;
  if (!/^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/.test(t) && !/^[+-]?0[xX][0-9a-fA-F]+$/.test(t))
    return null;
  const v = Number(t);
  return Number.isNaN(v) ? null : v;
}

/**
 * Groups classic histogram buckets (series with an `le` label) by their labels without `le`; a series without
 * a parseable `le` is left out and reported to onBadBucket with the warning Prometheus gives for it.
 */
export function groupBuckets(
  vec: Vector,
  headFor: (labels: Labels) => SeriesHead,
  onBadBucket: (warning: string) => void = () => undefined,
): Map<string, { head: SeriesHead; buckets: Bucket[] }> {
  const groups = new Map<string, { head: SeriesHead; buckets: Bucket[] }>();
  for (const sample of vec) {
    const le = sample.head.labels.le;
    const upperBound = le === undefined ? null : parseGoFloat(le);
    if (upperBound === null) {
      // A name due to be dropped is already gone in Prometheus, which drops names eagerly.
      const name = sample.head.dropName ? '' : (sample.head.labels.__name__ ?? '');
      onBadBucket(
        `bucket label "le" is missing or has a malformed value of ${JSON.stringify(le ?? '')} for metric name ${JSON.stringify(name)}`,
      );
      continue;
    }
    const rest: Record<string, string> = { ...sample.head.labels };
    delete rest.le;
    const key = labelsKey(rest);
    let group = groups.get(key);
    if (group === undefined) groups.set(key, (group = { head: headFor(rest), buckets: [] }));
    group.buckets.push({ upperBound, count: sample.v });
  }
  return groups;
}

const smallDeltaTolerance = 1e-12;

function almostEqual(a: number, b: number, epsilon: number): boolean {
  if (Number.isNaN(a) && Number.isNaN(b)) return true;
  if (a === b) return true;
  const minNormal = 2.2250738585072014e-308;
  const absSum = Math.abs(a) + Math.abs(b);
  const diff = Math.abs(a - b);
  if (a === 0 || b === 0 || absSum < minNormal) return diff < epsilon * minNormal;
  return diff / Math.min(absSum, Number.MAX_VALUE) < epsilon;
}

/** Prometheus's info when bucket counts had to be made monotonic (a real decrease, not float noise). */
export const forcedMonotonicityInfo =
  'input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile)';

/** The φ-quantile from classic histogram buckets, interpolating linearly within a bucket (Prometheus's BucketQuantile). */
export function bucketQuantile(q: number, input: readonly Bucket[]): number {
  return bucketQuantileDetail(q, input).value;
}

/** bucketQuantile, also saying whether decreasing bucket counts had to be raised to make them monotonic. */
export function bucketQuantileDetail(
  q: number,
  input: readonly Bucket[],
): { value: number; forcedMonotonic: boolean } {
  let forcedMonotonic = false;
  const value = quantileOfBuckets(q, input, () => (forcedMonotonic = true));
  return { value, forcedMonotonic };
}

function quantileOfBuckets(q: number, input: readonly Bucket[], onForced: () => void): number {
  if (Number.isNaN(q)) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  const sorted = [...input].map((b) => ({ ...b })).sort((a, b) => a.upperBound - b.upperBound);
  const last = sorted[sorted.length - 1];
  if (last === undefined || last.upperBound !== Infinity) return NaN;
  const buckets = coalesce(sorted);
  if (ensureMonotonic(buckets)) onForced();
  if (buckets.length < 2) return NaN;
  const observations = buckets[buckets.length - 1]?.count ?? 0;
  if (observations === 0) return NaN;
  let rank = q * observations;
  let b = buckets.length - 1;
  for (let i = 0; i < buckets.length - 1; i++) {
    if ((buckets[i]?.count ?? 0) >= rank) {
      b = i;
      break;
    }
  }
  const at = (i: number): Bucket => buckets[i] ?? { upperBound: NaN, count: NaN };
  if (b === buckets.length - 1) return at(buckets.length - 2).upperBound;
  if (b === 0 && at(0).upperBound <= 0) return at(0).upperBound;
  let bucketStart = 0;
  const bucketEnd = at(b).upperBound;
  let count = at(b).count;
  if (b > 0) {
    bucketStart = at(b - 1).upperBound;
    count -= at(b - 1).count;
    rank -= at(b - 1).count;
  }
  return bucketStart + (bucketEnd - bucketStart) * (rank / count);
}

function coalesce(buckets: Bucket[]): Bucket[] {
  const out: Bucket[] = [];
  for (const b of buckets) {
    const prev = out[out.length - 1];
    if (prev !== undefined && prev.upperBound === b.upperBound) prev.count += b.count;
    else out.push(b);
  }
  return out;
}

/**
 * Ignores float-precision noise and removes decreases, so the binary search over counts is meaningful;
 * true when a real decrease was removed.
 */
function ensureMonotonic(buckets: Bucket[]): boolean {
  let forced = false;
  let prev = buckets[0]?.count ?? 0;
  for (let i = 1; i < buckets.length; i++) {
    const b = buckets[i];
    if (b === undefined) continue;
    const curr = b.count;
    if (curr === prev) continue;
    if (almostEqual(prev, curr, smallDeltaTolerance) || curr < prev) {
      if (!almostEqual(prev, curr, smallDeltaTolerance)) forced = true;
      b.count = prev;
      continue;
    }
    prev = curr;
  }
  return forced;
}

/** The fraction of observations between lower and upper, from classic histogram buckets (Prometheus's BucketFraction). */
export function bucketFraction(lower: number, upper: number, input: readonly Bucket[]): number {
  const sorted = [...input].map((b) => ({ ...b })).sort((a, b) => a.upperBound - b.upperBound);
  if (sorted[sorted.length - 1]?.upperBound !== Infinity) return NaN;
  const buckets = coalesce(sorted);
  const count = buckets[buckets.length - 1]?.count ?? 0;
  if (count === 0 || Number.isNaN(lower) || Number.isNaN(upper)) return NaN;
  if (lower >= upper) return 0;
  let rank = 0;
  let lowerRank = 0;
  let upperRank = 0;
  let lowerSet = false;
  let upperSet = false;
  // Only positive buckets: observations start at 0; otherwise the first bucket reaches down to -Inf.
  let lowerBound = (buckets[0]?.upperBound ?? 0) <= 0 ? -Infinity : 0;
  for (let i = 0; i < buckets.length; i++) {
    const b = buckets[i] as Bucket;
    if (i > 0) lowerBound = buckets[i - 1]?.upperBound ?? lowerBound;
    const upperBound = b.upperBound;
    // No interpolation inside an infinitely wide bucket.
    const interpolate = (v: number): number =>
      lowerBound === -Infinity
        ? b.count
        : rank + ((b.count - rank) * (v - lowerBound)) / (upperBound - lowerBound);
    if (!lowerSet && lowerBound >= lower) [lowerRank, lowerSet] = [rank, true];
    if (!upperSet && lowerBound >= upper) [upperRank, upperSet] = [rank, true];
    if (lowerSet && upperSet) break;
    if (!lowerSet && lowerBound < lower && upperBound > lower)
      [lowerRank, lowerSet] = [interpolate(lower), true];
    if (!upperSet && lowerBound < upper && upperBound > upper)
      [upperRank, upperSet] = [interpolate(upper), true];
    if (lowerSet && upperSet) break;
    rank = b.count;
  }
  if (!lowerSet || lowerRank > count) lowerRank = count;
  if (!upperSet || upperRank > count) upperRank = count;
  return (upperRank - lowerRank) / count;
}
