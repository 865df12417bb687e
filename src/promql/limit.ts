import { METRIC_NAME_LABEL } from '../core/index.js';
import { executionError } from './QueryGuard.js';
import type { SeriesHead, StepSeries, Vector } from './values.js';

// limitk and limit_ratio (experimental in Prometheus): subsets of a vector that keep each sample as it is.

/**
 * limitk over one step: the first k samples of each group in input order (selectors yield series sorted by
 * labels, as in Prometheus); groups in order of first appearance.
 */
export function limitK(vec: Vector, k: number, groupOf: (head: SeriesHead) => number): Vector {
  const groups = new Map<number, Vector>();
  for (const s of vec) {
    const g = groupOf(s.head);
    let kept = groups.get(g);
    if (kept === undefined) groups.set(g, (kept = []));
    if (kept.length < k) kept.push(s);
  }
  return [...groups.values()].flat();
}

/**
 * limit_ratio over one step: a sample is kept when its label hash, scaled to [0, 1), is below ratio (or, for
 * a negative ratio, at or above 1 + ratio), so the same series are chosen at every step and the ratios r and
 * r - 1 split a vector in two. The hash is Prometheus's labels.Hash, so both pick the same series.
 */
export function limitRatio(vec: Vector, ratio: number, groupOf: (head: SeriesHead) => number): Vector {
  const groups = new Map<number, Vector>();
  for (const s of vec) {
    const g = groupOf(s.head);
    let kept = groups.get(g);
    if (kept === undefined) groups.set(g, (kept = []));
    const offset = ratioOffset(s.head);
    if ((ratio >= 0 && offset < ratio) || (ratio < 0 && offset >= 1 + ratio)) kept.push(s);
  }
  return [...groups.values()].flat();
}

/** The ratio limit_ratio applies: NaN is an error, values beyond ±1 are clamped as Prometheus does. */
export function checkRatio(params: readonly StepSeries[]): void {
  if ((params[0]?.vs ?? []).some((v) => Number.isNaN(v))) executionError('Ratio value is NaN');
}

const offsets = new WeakMap<SeriesHead, number>();

function ratioOffset(head: SeriesHead): number {
  let offset = offsets.get(head);
  if (offset === undefined) {
    // A series whose name is due to be dropped is hashed without it, as Prometheus drops names eagerly.
    const names = Object.keys(head.labels)
      .filter((n) => !(head.dropName && n === METRIC_NAME_LABEL))
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const bytes: number[] = [];
    for (const name of names) {
      bytes.push(...Buffer.from(name, 'utf8'), 0xff, ...Buffer.from(head.labels[name] ?? '', 'utf8'), 0xff);
    }
    // float64(math.MaxUint64) in Go is 2^64, the nearest double.
    offset = Number(xxhash64(Uint8Array.from(bytes))) / 2 ** 64;
    offsets.set(head, offset);
  }
  return offset;
}

const mask = (1n << 64n) - 1n;
const P1 = 11400714785074694791n;
const P2 = 14029467366897019727n;
const P3 = 1609587929392839161n;
const P4 = 9650029242287828579n;
const P5 = 2870177450012600261n;

const rotl = (x: bigint, r: bigint): bigint => ((x << r) | (x >> (64n - r))) & mask;

function readU64(b: Uint8Array, i: number): bigint {
  return new DataView(b.buffer, b.byteOffset + i, 8).getBigUint64(0, true);
}

function round(acc: bigint, lane: bigint): bigint {
  return (rotl((acc + lane * P2) & mask, 31n) * P1) & mask;
}

function mergeRound(acc: bigint, v: bigint): bigint {
  return ((acc ^ round(0n, v)) * P1 + P4) & mask;
}

/** XXH64 with seed 0 (github.com/cespare/xxhash, which Prometheus's labels.Hash uses). */
export function xxhash64(b: Uint8Array): bigint {
  const n = b.length;
  let i = 0;
  let h: bigint;
  if (n >= 32) {
    let v1 = (P1 + P2) & mask;
    let v2 = P2;
    let v3 = 0n;
    let v4 = (0n - P1) & mask;
    for (; i + 32 <= n; i += 32) {
      v1 = round(v1, readU64(b, i));
      v2 = round(v2, readU64(b, i + 8));
      v3 = round(v3, readU64(b, i + 16));
      v4 = round(v4, readU64(b, i + 24));
    }
    h = (rotl(v1, 1n) + rotl(v2, 7n) + rotl(v3, 12n) + rotl(v4, 18n)) & mask;
    h = mergeRound(mergeRound(mergeRound(mergeRound(h, v1), v2), v3), v4);
  } else {
    h = P5;
  }
  h = (h + BigInt(n)) & mask;
  for (; i + 8 <= n; i += 8) h = (rotl(h ^ round(0n, readU64(b, i)), 27n) * P1 + P4) & mask;
  if (i + 4 <= n) {
    const word = BigInt(new DataView(b.buffer, b.byteOffset + i, 4).getUint32(0, true));
    h = (rotl(h ^ ((word * P1) & mask), 23n) * P2 + P3) & mask;
    i += 4;
  }
  for (; i < n; i++) h = (rotl(h ^ ((BigInt(b[i] ?? 0) * P5) & mask), 11n) * P1) & mask;
  h ^= h >> 33n;
  h = (h * P2) & mask;
  h ^= h >> 29n;
  h = (h * P3) & mask;
  return h ^ (h >> 32n);
}
