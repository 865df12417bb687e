import { describe, expect, it } from 'vitest';
import { HeadArena } from './HeadArena.js';
import { HeadChunks } from './HeadChunks.js';
import { decodeXorChunk } from './XorChunk.js';

function decode(heads: HeadChunks, slot: number): { t: number[]; v: number[] } {
  const n = heads.count(slot);
  const t = new Float64Array(n);
  const v = new Float64Array(n);
  decodeXorChunk(heads.view(slot), n, heads.minT(slot), t, v, 0);
  return { t: Array.from(t), v: Array.from(v) };
}

describe('HeadChunks', () => {
  it('keeps interleaved heads of many slots apart, past its initial size and through every slot size', () => {
    const heads = new HeadChunks(new HeadArena(), 4);
    const slots = Array.from({ length: 500 }, () => heads.allocate());
    const expected = slots.map(() => ({ t: [] as number[], v: [] as number[] }));
    for (let i = 0; i < 130; i++) {
      slots.forEach((slot, s) => {
        const t = 1_700_000_000_000 + i * 15_000 + (s % 7);
        // Values whose bit patterns have the sign bit set, NaN (staleness) and integers.
        const v = i % 17 === 0 ? Number.NaN : s % 2 === 0 ? -i * 1.25 - s : i * 1000 + s;
        heads.append(slot, t, v);
        expected[s]?.t.push(t);
        expected[s]?.v.push(v);
      });
    }
    slots.forEach((slot, s) => {
      expect(decode(heads, slot)).toEqual(expected[s]);
      expect(heads.maxT(slot)).toBe(expected[s]?.t.at(-1));
      expect(heads.lastT(slot)).toBe(heads.maxT(slot));
    });
  });

  it('keeps lastT after a release, starts a fresh chunk, and resets a freed slot for its next series', () => {
    const arena = new HeadArena();
    const heads = new HeadChunks(arena);
    const slot = heads.allocate();
    expect(heads.lastT(slot)).toBe(-Infinity);
    for (let i = 1; i <= 50; i++) heads.append(slot, i * 1000, i);
    heads.release(slot);
    expect(heads.count(slot)).toBe(0);
    expect(heads.view(slot).length).toBe(0);
    expect(heads.lastT(slot)).toBe(50_000);
    expect(arena.bytes()).toBe(0);
    heads.append(slot, 60_000, 7);
    expect(decode(heads, slot)).toEqual({ t: [60_000], v: [7] });
    heads.setLastT(slot, 90_000);
    expect(heads.lastT(slot)).toBe(90_000);
    expect(heads.maxT(slot)).toBe(60_000);
    heads.free(slot);
    const again = heads.allocate();
    expect(again).toBe(slot);
    expect(heads.lastT(again)).toBe(-Infinity);
    expect(heads.count(again)).toBe(0);
  });

  it('gives a head bigger than a slab a buffer of its own, and drops it on release', () => {
    const arena = new HeadArena();
    const heads = new HeadChunks(arena);
    const small = heads.allocate();
    const big = heads.allocate();
    const n = 40_000;
    for (let i = 0; i < n; i++) {
      heads.append(big, i * 1_000_003 + (i % 7) * 12_345, i === 0 ? 0 : Math.sin(i) * 1e9);
      if (i % 1000 === 0) heads.append(small, i, i);
    }
    expect(heads.byteLength(big)).toBeGreaterThan(1 << 18);
    const decoded = decode(heads, big);
    expect(decoded.t.length).toBe(n);
    expect(decoded.v[12_345]).toBe(Math.sin(12_345) * 1e9);
    expect(decode(heads, small).t).toEqual(Array.from({ length: 40 }, (_, k) => k * 1000));
    heads.release(big);
    expect(heads.count(big)).toBe(0);
    expect(decode(heads, small).t.length).toBe(40);
  });
});
