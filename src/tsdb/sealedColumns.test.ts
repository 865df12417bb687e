import { describe, expect, it } from 'vitest';
import { isStaleNaN, STALE_NAN } from '../core/index.js';
import { decodeColumnarRange } from './sealedColumnDecode.js';
import { encodeTimestamps, encodeValues } from './sealedColumnEncode.js';
import { XorEncoder } from './HeadChunks.js';
import { decodeXorRange } from './XorChunk.js';

function rng(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
}

function sink(n: number): { t: Float64Array; v: Float64Array; bits: Int32Array } {
  const v = new Float64Array(n);
  return { t: new Float64Array(n), v, bits: new Int32Array(v.buffer) };
}

/** IEEE-754 bits as hex, so NaN payloads and -0 compare exactly. */
const hex = (values: Float64Array): string[] =>
  Array.from(new BigUint64Array(values.buffer, values.byteOffset, values.length), (b) => b.toString(16));

interface Encoded {
  times: Uint8Array;
  values: Uint8Array;
}

function encode(t: Float64Array, v: Float64Array): Encoded {
  const times = encodeTimestamps(t, t.length);
  if (times === null) throw new Error('timestamps did not fit a column');
  return { times, values: encodeValues(v, v.length) };
}

/** Decodes [fromT, toT] at index 3 of the output (to prove `at` is honoured) and returns the samples. */
function decode(
  e: Encoded,
  count: number,
  fromT = -Infinity,
  toT = Infinity,
): { t: Float64Array; v: Float64Array } {
  const out = sink(count + 5);
  const got = decodeColumnarRange(e.times, e.values, count, fromT, toT, out, 3);
  return { t: out.t.subarray(3, 3 + got), v: out.v.subarray(3, 3 + got) };
}

const specials = [
  NaN,
  STALE_NAN,
  Infinity,
  -Infinity,
  -0,
  0,
  Number.MAX_VALUE,
  -Number.MAX_VALUE,
  Number.MIN_VALUE,
  -1e-300,
  2 ** 53,
  2 ** 53 - 1,
  -(2 ** 53),
  2 ** 48,
  2 ** 48 + 1,
  -(2 ** 48) - 1,
  0.1,
  0.30000000000000004,
  1 / 3,
  1e15,
  123456789.123,
];

/** Random chunks of every shape the encoder chooses between. */
function randomChunk(rand: () => number, shape: number): { t: Float64Array; v: Float64Array } {
  const n = 1 + Math.floor(rand() * (shape % 5 === 0 ? 400 : 130));
  const t = new Float64Array(n);
  const v = new Float64Array(n);
  let time = Math.floor((rand() - 0.2) * 4e12);
  let c = Math.floor(rand() * 1e7);
  let walk = 45 + rand() * 20;
  for (let i = 0; i < n; i++) {
    t[i] = time;
    const r = rand();
    time += r < 0.05 ? 1 + Math.floor(rand() * 1e9) : r < 0.5 ? 15_000 : 14_990 + Math.floor(rand() * 20);
    switch (shape % 10) {
      case 0:
        v[i] = specials[Math.floor(rand() * specials.length)] ?? 0;
        break;
      case 1:
        v[i] = c += Math.floor(rand() * 5000);
        break;
      case 2:
        v[i] = (c += Math.floor(rand() * 300)) / 100;
        break;
      case 3: // decimals with a few exceptions
        v[i] = rand() < 0.04 ? (specials[Math.floor(rand() * 5)] ?? 0) : (c += Math.floor(rand() * 9)) / 1000;
        break;
      case 4:
        v[i] = rand() * 1e9 - 5e8;
        break;
      case 5:
        v[i] = 4096 * Math.floor(1e5 + rand() * 100);
        break;
      case 6:
        v[i] = 2 ** 48 - 50 + Math.floor(rand() * 100); // integers both sides of the column limit
        break;
      case 7: // a slowly moving double: bit-pattern deltas
        v[i] = walk += (rand() - 0.5) * 0.4;
        break;
      case 8: // a growing sum, with the odd staleness marker or sign change sending it to XOR
        v[i] = rand() < 0.01 ? (specials[Math.floor(rand() * 5)] ?? 0) : (walk += rand() * 3);
        break;
      default:
        v[i] = 1;
    }
  }
  return { t, v };
}

describe('sealed chunk codec', () => {
  it('round-trips random chunks of every shape bit-exactly', () => {
    const rand = rng(7);
    for (let trial = 0; trial < 2000; trial++) {
      const { t, v } = randomChunk(rand, trial);
      const got = decode(encode(t, v), t.length);
      expect(Array.from(got.t)).toEqual(Array.from(t));
      expect(hex(got.v)).toEqual(hex(v));
    }
  });

  it('keeps special values exactly: staleness markers, NaN, ±Inf, -0, extremes, 2^53 neighbours', () => {
    for (const base of [[], [1, 2, 3], [0.25, 0.5]]) {
      const v = Float64Array.from([...base, ...specials, ...base]);
      v[base.length + 1] = STALE_NAN; // a literal in an array of numbers would be quieted
      const t = Float64Array.from(v, (_, i) => 1_700_000_000_000 + i * 15_000);
      const got = decode(encode(t, v), v.length);
      expect(hex(got.v)).toEqual(hex(v));
      expect(isStaleNaN(got.v[base.length + 1] ?? 0)).toBe(true);
      expect(Object.is(got.v[base.length + 4], -0)).toBe(true);
    }
    // A staleness marker inside an integer chunk is an exception, not a reason to fall back.
    const v = Float64Array.from({ length: 120 }, (_, i) => 1000 + i);
    v[60] = STALE_NAN;
    const t = Float64Array.from(v, (_, i) => i * 15_000);
    const e = encode(t, v);
    expect(e.values.length).toBeLessThan(40);
    expect(isStaleNaN(decode(e, 120).v[60] ?? 0)).toBe(true);
    expect(decode(e, 120).v[61]).toBe(1061);
  });

  it('round-trips single-sample and two-sample chunks, and -0 alone', () => {
    for (const value of [...specials, STALE_NAN]) {
      for (const n of [1, 2]) {
        const v = new Float64Array(n).fill(value);
        if (Number.isNaN(value)) v[0] = value;
        const t = Float64Array.from({ length: n }, (_, i) => -5 + i);
        expect(hex(decode(encode(t, v), n).v)).toEqual(hex(v));
      }
    }
  });

  it('refuses timestamps that do not fit an integer column (the chunk stays Gorilla)', () => {
    expect(encodeTimestamps(Float64Array.from([1, 2 ** 49]), 2)).toBeNull();
    expect(encodeTimestamps(Float64Array.from([1.5, 2]), 2)).toBeNull();
    expect(encodeTimestamps(new Float64Array(0), 0)).toBeNull();
    expect(encodeTimestamps(Float64Array.from([-(2 ** 48), 2 ** 48]), 2)).not.toBeNull();
  });

  it('decodes only [fromT, toT], the same samples as a full decode filtered', () => {
    const rand = rng(11);
    for (let trial = 0; trial < 500; trial++) {
      const { t, v } = randomChunk(rand, trial);
      const e = encode(t, v);
      const lo = (t[0] ?? 0) + (rand() - 0.1) * ((t[t.length - 1] ?? 0) - (t[0] ?? 0));
      const hi = lo + rand() * ((t[t.length - 1] ?? 0) - (t[0] ?? 0));
      const keep = Array.from(t.keys()).filter((i) => (t[i] ?? 0) >= lo && (t[i] ?? 0) <= hi);
      const got = decode(e, t.length, lo, hi);
      expect(Array.from(got.t)).toEqual(keep.map((i) => t[i]));
      expect(hex(got.v)).toEqual(hex(Float64Array.from(keep, (i) => v[i] ?? 0)));
    }
  });

  it('stores scrape-like integers and decimals compactly and true doubles no worse than Gorilla', () => {
    const rand = rng(3);
    const n = 120;
    const t = Float64Array.from({ length: n }, (_, i) => 1_700_000_000_000 + i * 15_000);
    const sizes = (make: (i: number) => number): { columnar: number; gorilla: number } => {
      const v = Float64Array.from({ length: n }, (_, i) => make(i));
      const encoder = new XorEncoder();
      v.forEach((x, i) => encoder.append(t[i] ?? 0, x));
      return { columnar: encodeValues(v, n).length, gorilla: encoder.byteLength() };
    };
    let c = 5e5;
    const counter = sizes(() => (c += 40 + Math.floor(rand() * 20)));
    let cpu = 1234.5;
    const cpuSeconds = sizes(() => (cpu = Math.round((cpu + rand() * 3) * 100) / 100));
    const constant = sizes(() => 1_048_576);
    const doubles = sizes(() => rand() * 100);
    let temperature = 50;
    // sin() gives steps with every mantissa bit used, as measured values have.
    const walk = sizes(() => (temperature += Math.sin(rand() * 1e6) * 0.2));
    // Increments of 40..59 need about 4.3 bits (Gorilla spends ~2.3 bytes); hundredths about 8.2 bits.
    expect(counter.columnar / n).toBeLessThan(0.8);
    expect(cpuSeconds.columnar / n).toBeLessThan(1.3);
    expect(cpuSeconds.gorilla / n).toBeGreaterThan(5);
    expect(constant.columnar).toBeLessThan(12);
    expect(doubles.columnar).toBeLessThanOrEqual(doubles.gorilla);
    // Steps of ~0.12 at 50 are ~2^44 units in the last place: bit-pattern deltas beat XOR's ~52 bits.
    expect(walk.columnar / n).toBeLessThan(6.1);
    expect(walk.gorilla / n).toBeGreaterThan(6.3);
  });

  it('throws RangeError for a cut value column', () => {
    const t = Float64Array.from({ length: 50 }, (_, i) => i * 1000);
    const v = Float64Array.from({ length: 50 }, (_, i) => i * i * 7.25);
    const e = encode(t, v);
    const cut = { times: e.times, values: e.values.subarray(0, e.values.length - 4) };
    expect(() => decode(cut, 50)).toThrow(RangeError);
    const cutTimes = { times: e.times.subarray(0, 2), values: e.values };
    expect(() => decode(cutTimes, 50)).toThrow(RangeError);
  });

  it('decodes about as fast as Gorilla (reported, not asserted)', () => {
    const rand = rng(5);
    const n = 120;
    const chunks = Array.from({ length: 500 }, (_, c) => {
      const t = new Float64Array(n);
      const v = new Float64Array(n);
      let time = 1_700_000_000_000 + c;
      let x = Math.floor(rand() * 1e5);
      for (let i = 0; i < n; i++) {
        t[i] = time;
        time += 15_000 + (rand() < 0.3 ? Math.round((rand() - 0.5) * 8) : 0);
        v[i] =
          c % 4 === 0 ? (x += Math.floor(rand() * 300)) : c % 4 === 1 ? x / 100 : c % 4 === 2 ? 1 : rand();
      }
      const encoder = new XorEncoder();
      for (let i = 0; i < n; i++) encoder.append(t[i] ?? 0, v[i] ?? 0);
      return { encoder, columns: encode(t, v) };
    });
    const out = sink(n);
    // Best of a few rounds: the machine is shared, and the first rounds run before the JIT settles.
    const rate = (decodeAll: (toT: number) => number, share: number): number => {
      let best = 0;
      for (let round = 0; round < 5; round++) {
        let samples = 0;
        const start = process.hrtime.bigint();
        for (let rep = 0; rep < 10; rep++) samples += decodeAll(share);
        best = Math.max(best, samples / (Number(process.hrtime.bigint() - start) / 1e9) / 1e6);
      }
      return best;
    };
    const gorilla = (share: number): number =>
      chunks.reduce((k, { encoder }) => {
        const toT = encoder.minT + share * (encoder.maxT - encoder.minT);
        return k + decodeXorRange(encoder.view(), n, encoder.minT, -Infinity, toT, out, 0);
      }, 0);
    const columnar = (share: number): number =>
      chunks.reduce((k, { encoder, columns }) => {
        const toT = encoder.minT + share * (encoder.maxT - encoder.minT);
        return k + decodeColumnarRange(columns.times, columns.values, n, -Infinity, toT, out, 0);
      }, 0);
    expect(gorilla(1)).toBe(columnar(1)); // warm-up, and both decode every sample
    expect(gorilla(0.1)).toBe(columnar(0.1));
    const line = (share: number): string =>
      `${share * 100}% of each chunk: gorilla ${rate(gorilla, share).toFixed(1)}, ` +
      `columnar ${rate(columnar, share).toFixed(1)} M samples/s`;
    console.log(`sealed chunk decode speed: ${line(1)}; ${line(0.1)}`);
  });
});
