import { describe, expect, it } from 'vitest';
import { ChunkBlockCache } from './ChunkBlockCache.js';
import { HeadArena } from './HeadArena.js';
import { XorEncoder } from './HeadChunks.js';
import { decodeXorChunk } from './XorChunk.js';

function decode(encoder: XorEncoder): { t: number[]; v: number[] } {
  const t = new Float64Array(encoder.count);
  const v = new Float64Array(encoder.count);
  decodeXorChunk(encoder.view(), encoder.count, encoder.minT, t, v, 0);
  return { t: Array.from(t), v: Array.from(v) };
}

describe('HeadArena', () => {
  it('keeps many interleaved head chunks apart while they grow through every slot size', () => {
    const arena = new HeadArena();
    const encoders = Array.from({ length: 300 }, () => new XorEncoder(arena));
    const expected = encoders.map(() => ({ t: [] as number[], v: [] as number[] }));
    let seed = 11;
    const rand = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    for (let i = 0; i < 150; i++) {
      encoders.forEach((encoder, s) => {
        const t = i * 15_000 + s;
        const v = rand() * 1e6;
        encoder.append(t, v);
        expected[s]?.t.push(t);
        expected[s]?.v.push(v);
      });
    }
    encoders.forEach((encoder, s) => expect(decode(encoder)).toEqual(expected[s]));
  });

  it('reuses released slots instead of growing, and gives back slabs left empty', () => {
    const arena = new HeadArena();
    const fill = (): XorEncoder[] =>
      Array.from({ length: 2000 }, (_, s) => {
        const encoder = new XorEncoder(arena);
        for (let i = 0; i < 60; i++) encoder.append(i * 1000, s * i * 1.5);
        return encoder;
      });
    const first = fill();
    const held = arena.bytes();
    expect(held).toBeGreaterThan(0);
    for (const encoder of first.slice(1)) encoder.release();
    const second = fill();
    expect(arena.bytes()).toBe(held);
    first[0]?.release();
    for (const encoder of second) encoder.release();
    expect(arena.bytes()).toBe(0);
    const third = fill();
    expect(arena.bytes()).toBe(held);
    expect(decode(third[1999] ?? new XorEncoder()).v[59]).toBe(1999 * 59 * 1.5);
  });

  it('never lets a slot of a size that does not divide the slab run past its slab or overlap another', () => {
    const arena = new HeadArena();
    const size = HeadArena.slotSize(33);
    expect(size).toBe(48);
    // More 48-byte slots than fit one 256 KiB slab (5461 and 16 bytes over).
    const addresses = Array.from({ length: 12_000 }, () => arena.take(size));
    const pastEnd = addresses.filter((address) => (address % (1 << 18)) + size > 1 << 18);
    expect(pastEnd).toEqual([]);
    addresses.forEach((address, i) => {
      const offset = address % (1 << 18);
      arena.slabOf(address).fill(i % 251, offset, offset + size);
    });
    const overwritten = addresses.filter((address, i) => {
      const offset = address % (1 << 18);
      return !arena
        .slabOf(address)
        .subarray(offset, offset + size)
        .every((b) => b === i % 251);
    });
    expect(overwritten).toEqual([]);
    expect(arena.bytes()).toBe(3 * (1 << 18));
  });

  it('gives a chunk bigger than a slab a buffer of its own', () => {
    const arena = new HeadArena();
    const encoder = new XorEncoder(arena);
    const n = 40_000;
    for (let i = 0; i < n; i++) encoder.append(i * 1_000_003 + (i % 7) * 12_345, i === 0 ? 0 : Math.random());
    expect(encoder.byteLength()).toBeGreaterThan(1 << 18);
    const { t } = decode(encoder);
    expect(t.length).toBe(n);
    encoder.release();
    expect(() => encoder.append(1e15, 1)).toThrow(/after release/);
  });
});

describe('ChunkBlockCache', () => {
  it('drops the least recently used blocks past its budget, and a deleted file entirely', () => {
    const cache = new ChunkBlockCache(3000);
    const block = (): Buffer => Buffer.alloc(1000);
    cache.put(1, 0, block());
    cache.put(1, 1, block());
    cache.put(2, 0, block());
    expect(cache.get(1, 0, 10)).toBeDefined(); // now the most recently used
    cache.put(2, 1, block());
    expect(cache.get(1, 1, 10)).toBeUndefined();
    expect(cache.get(1, 0, 10)).toBeDefined();
    expect(cache.bytes()).toBe(3000);
    expect(cache.get(2, 0, 1001)).toBeUndefined(); // shorter than asked for: read again
    cache.dropFile(2);
    expect(cache.get(2, 1, 10)).toBeUndefined();
    expect(cache.bytes()).toBe(1000);
  });

  it('holds nothing with a zero budget', () => {
    const cache = new ChunkBlockCache(0);
    cache.put(1, 0, Buffer.alloc(10));
    expect(cache.get(1, 0, 1)).toBeUndefined();
    expect(cache.bytes()).toBe(0);
  });
});
