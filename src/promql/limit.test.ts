import { describe, expect, it } from 'vitest';
import { MemorySeriesStore } from '../tsdb/index.js';
import { EmbeddedPromqlQuery } from './EmbeddedPromqlQuery.js';
import { xxhash64 } from './limit.js';
import { appendSeriesNotation } from './seriesNotation.js';

const store = new MemorySeriesStore();
appendSeriesNotation(
  store,
  `
  req{pod="a", zone="x"} 1x10
  req{pod="b", zone="x"} 2x10
  req{pod="c", zone="y"} 3x10
  req{pod="d", zone="y"} 4x10
  req{pod="e", zone="y"} 5x10
`,
  60_000,
);
const engine = EmbeddedPromqlQuery.create({ reader: store });

async function pods(expr: string): Promise<string[]> {
  const r = await engine.instant(expr, 60_000);
  if (!r.ok) throw new Error(`${expr}: ${r.error.message}`);
  if (r.value.resultType !== 'vector') throw new Error(`unexpected ${r.value.resultType}`);
  return r.value.result.map((s) => s.labels.pod ?? '').sort();
}

async function error(expr: string): Promise<string> {
  const r = await engine.instant(expr, 60_000);
  return r.ok ? 'no error' : r.error.message;
}

describe('limitk', () => {
  it('keeps the first k series of each group, unchanged', async () => {
    expect(await pods('limitk(2, req)')).toEqual(['a', 'b']);
    expect(await pods('limitk by (zone) (1, req)')).toEqual(['a', 'c']);
    expect(await pods('limitk(0, req)')).toEqual([]);
    expect(await pods('limitk(100, req)')).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('rejects a NaN k', async () => {
    expect(await error('limitk(NaN, req)')).toBe('Parameter value is NaN');
  });
});

describe('limit_ratio', () => {
  it('splits a vector into complementary parts for r and r - 1', async () => {
    for (const r of [0.2, 0.5, 0.8]) {
      const part = await pods(`limit_ratio(${r}, req)`);
      const rest = await pods(`limit_ratio(${r - 1}, req)`);
      expect([...part, ...rest].sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
    }
  });

  it('keeps everything at ±1 and beyond, nothing at 0, and rejects NaN', async () => {
    expect(await pods('limit_ratio(1, req)')).toHaveLength(5);
    expect(await pods('limit_ratio(-1.5, req)')).toHaveLength(5);
    expect(await pods('limit_ratio(0, req)')).toEqual([]);
    expect(await error('limit_ratio(NaN, req)')).toBe('Ratio value is NaN');
  });
});

describe('xxhash64', () => {
  it('matches the reference XXH64 (seed 0)', () => {
    const hex = (s: string): string => xxhash64(new TextEncoder().encode(s)).toString(16).padStart(16, '0');
    expect(hex('')).toBe('ef46db3751d8e999');
    expect(hex('a')).toBe('d24ec4f1a98c6e5b');
    expect(hex('abc')).toBe('44bc2cf5ad770999');
    expect(hex('The quick brown fox jumps over the lazy dog')).toBe('0b242d361fda71bc');
  });
});
