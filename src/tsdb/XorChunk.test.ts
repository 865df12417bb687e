import { describe, expect, it } from 'vitest';
import { isStaleNaN, STALE_NAN } from '../core/index.js';
import { XorEncoder } from './HeadChunks.js';
import { decodeXorChunk, decodeXorRange } from './XorChunk.js';

// Values travel in Float64Arrays: V8 quiets the staleness marker (a signalling NaN) in plain double arrays.
function roundTrip(
  ts: readonly number[],
  vs: Float64Array | readonly number[],
): { t: Float64Array; v: Float64Array; bytes: number } {
  const encoder = new XorEncoder();
  ts.forEach((t, i) => encoder.append(t, vs[i] ?? 0));
  const t = new Float64Array(ts.length + 2);
  const v = new Float64Array(ts.length + 2);
  decodeXorChunk(encoder.view(), encoder.count, encoder.minT, t, v, 1);
  return {
    t: t.subarray(1, ts.length + 1),
    v: v.subarray(1, ts.length + 1),
    bytes: encoder.byteLength(),
  };
}

const bits = (v: number): string => {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, v);
  return view.getBigUint64(0).toString(16);
};

describe('XOR chunk encoding', () => {
  it('round-trips special values bit-exactly: NaN, ±Inf, -0, the staleness marker, extremes', () => {
    const vs = new Float64Array(12);
    [1, NaN, 0, Infinity, -Infinity, -0, 0, Number.MAX_VALUE, Number.MIN_VALUE, -1e-300, 0, 42].forEach(
      (x, i) => (vs[i] = x),
    );
    vs[2] = STALE_NAN;
    vs[10] = STALE_NAN;
    const ts = Array.from(vs, (_, i) => 1_700_000_000_000 + i * 15_000);
    const { t, v } = roundTrip(ts, vs);
    expect(Array.from(t)).toEqual(ts);
    expect(Array.from(v, bits)).toEqual(Array.from(vs, bits));
    expect(bits(v[2] ?? 0)).toBe('7ff0000000000002');
    expect(isStaleNaN(v[2] ?? 0)).toBe(true);
    expect(isStaleNaN(v[1] ?? 0)).toBe(false);
    expect(Object.is(v[5], -0)).toBe(true);
  });

  it('round-trips every delta-of-delta bucket edge, large jumps and negative timestamps', () => {
    // Each pair steps just inside then just outside a bucket edge and back, keeping every delta positive.
    const dods = [
      64,
      -63,
      65,
      -64,
      8192,
      -8191,
      8193,
      -8192,
      524288,
      -524287,
      524289,
      -524288,
      2 ** 40,
      -(2 ** 40),
    ];
    const ts: number[] = [-5_000_000_000, -5_000_000_000 + 1];
    let delta = 1;
    for (const dod of [...dods, 0, 0, 2 ** 52, 5]) {
      delta += dod;
      ts.push((ts[ts.length - 1] ?? 0) + delta);
    }
    const vs = ts.map((_, i) => i);
    const { t, v } = roundTrip(ts, vs);
    expect(Array.from(t)).toEqual(ts);
    expect(Array.from(v)).toEqual(vs);
  });

  it('round-trips random data (property test over seeds)', () => {
    let seed = 7;
    const rand = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    for (let round = 0; round < 50; round++) {
      const n = 1 + Math.floor(rand() * 200);
      const ts: number[] = [];
      const vs = new Float64Array(n);
      let t = Math.floor(rand() * 1e12);
      for (let i = 0; i < n; i++) {
        t += 1 + Math.floor(rand() < 0.1 ? rand() * 1e9 : rand() * 30_000);
        ts.push(t);
        const kind = rand();
        vs[i] =
          kind < 0.3
            ? Math.floor(rand() * 100)
            : kind < 0.6
              ? rand() * 1e6 - 5e5
              : kind < 0.7
                ? STALE_NAN
                : i;
      }
      const { t: gotT, v: gotV } = roundTrip(ts, vs);
      expect(Array.from(gotT)).toEqual(ts);
      expect(Array.from(gotV, bits)).toEqual(Array.from(vs, bits));
    }
  });

  it('compresses a regular counter to well under 2 bytes per sample', () => {
    const ts = Array.from({ length: 120 }, (_, i) => 1_700_000_000_000 + i * 15_000);
    const vs = ts.map((_, i) => 1000 + i * 3);
    expect(roundTrip(ts, vs).bytes / 120).toBeLessThan(2);
  });

  it('reports a truncated stream as a RangeError instead of returning garbage', () => {
    const encoder = new XorEncoder();
    for (let i = 0; i < 10; i++) encoder.append(i * 1000, Math.random());
    const cut = encoder.view().subarray(0, 12);
    expect(() => decodeXorChunk(cut, 10, 0, new Float64Array(10), new Float64Array(10), 0)).toThrow(
      RangeError,
    );
  });
});

describe('decodeXorRange', () => {
  it('keeps only samples inside [fromT, toT] and stops after toT', () => {
    const encoder = new XorEncoder();
    for (let i = 0; i < 100; i++) encoder.append(i * 1000, i * 2);
    const t = new Float64Array(100);
    const v = new Float64Array(100);
    const sink = { t, bits: new Int32Array(v.buffer) };
    const n = decodeXorRange(encoder.view(), encoder.count, encoder.minT, 10_500, 20_000, sink, 3);
    expect(n).toBe(10);
    expect(Array.from(t.subarray(3, 13))).toEqual(Array.from({ length: 10 }, (_, i) => (i + 11) * 1000));
    expect(Array.from(v.subarray(3, 13))).toEqual(Array.from({ length: 10 }, (_, i) => (i + 11) * 2));
    expect(decodeXorRange(encoder.view(), encoder.count, encoder.minT, 200_000, 300_000, sink, 0)).toBe(0);
    expect(decodeXorRange(encoder.view(), encoder.count, encoder.minT, -5, -1, sink, 0)).toBe(0);
  });
});
