import { afterAll, describe, expect, it } from 'vitest';
import { makeTempDir } from '../../test/support/tmp.js';
import { EmbeddedTsdb } from './EmbeddedTsdb.js';
import type { EmbeddedTsdbOptions } from './tsdbOptions.js';
import { TsdbConfigError } from './tsdbErrors.js';

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups) await cleanup();
});

async function openTemp(options: Partial<EmbeddedTsdbOptions> = {}): Promise<EmbeddedTsdb> {
  const { dir, remove } = await makeTempDir('tsdb-select');
  const db = await EmbeddedTsdb.open({ dir, ...options });
  cleanups.push(async () => {
    await db.close().catch(() => undefined);
    await remove();
  });
  return db;
}

const all = [{ name: '__name__', type: '=~' as const, value: '.+' }];

describe('EmbeddedTsdb select', () => {
  it('returns exactly the samples in range from sealed chunks and the head, with and without a chunk cache', async () => {
    for (const chunkCacheBytes of [0, 1 << 20]) {
      const db = await openTemp({ chunkSamples: 7, chunkCacheBytes });
      for (let i = 0; i < 100; i++)
        for (let s = 0; s < 50; s++) db.append({ __name__: 'm', s: String(s) }, i * 1000, i * 100 + s);
      await db.commit();
      expect(db.stats().sealedChunks).toBeGreaterThan(600);
      for (let round = 0; round < 2; round++) {
        const got = db.select(all, 20_500, 80_000);
        expect(got).toHaveLength(50);
        for (const series of got) {
          const s = Number(series.labels.s);
          expect(Array.from(series.t)).toEqual(Array.from({ length: 60 }, (_, i) => (i + 21) * 1000));
          expect(Array.from(series.v)).toEqual(Array.from({ length: 60 }, (_, i) => (i + 21) * 100 + s));
        }
      }
      expect(db.select(all, 100_000, 200_000)).toEqual([]);
    }
  });

  it('sorts by label set while series arrive in waves (ranked and new series mixed)', async () => {
    const db = await openTemp();
    const names: string[] = [];
    let t = 0;
    for (const wave of [500, 3, 200, 1]) {
      t += 1000;
      for (let i = 0; i < wave; i++) {
        const name = `m${Math.floor(Math.random() * 1e9)}`;
        names.push(name);
        db.append({ __name__: name, job: 'j' }, t, 1);
      }
      const got = db.select(all, 0, t).map((s) => s.labels.__name__ ?? '');
      expect(got).toEqual([...new Set(names)].sort());
    }
  });

  it('reuses decode buffers only after a read scope ends, never between selects inside it or outside scopes', async () => {
    const db = await openTemp();
    for (let i = 0; i < 200; i++) {
      db.append({ __name__: 'a' }, i * 1000, i);
      db.append({ __name__: 'b' }, i * 1000, -i);
    }
    const one = (name: string) => [{ name: '__name__', type: '=' as const, value: name }];
    const values = (name: string): number[] => Array.from(db.select(one(name), 0, 1e9)[0]?.v ?? []);
    const outside = db.select(one('a'), 0, 1e9)[0];
    const [a, b] = db.readScope(() => {
      const inA = db.select(one('a'), 0, 1e9)[0];
      const inB = db.select(one('b'), 0, 1e9)[0];
      return [Array.from(inA?.v ?? []), Array.from(inB?.v ?? [])];
    });
    expect(a).toEqual(Array.from({ length: 200 }, (_, i) => i));
    expect(b).toEqual(Array.from({ length: 200 }, (_, i) => -i));
    expect(db.readScope(() => values('b'))).toEqual(b);
    expect(db.readScope(() => values('a'))).toEqual(a);
    expect(Array.from(outside?.v ?? [])).toEqual(a);
    expect(() =>
      db.readScope(() => {
        throw new Error('query failed');
      }),
    ).toThrow('query failed');
    expect(db.readScope(() => values('a'))).toEqual(a);
  });

  it('refuses a negative chunk cache size', async () => {
    const { dir, remove } = await makeTempDir('tsdb-select');
    cleanups.push(remove);
    await expect(EmbeddedTsdb.open({ dir, chunkCacheBytes: -1 })).rejects.toThrow(TsdbConfigError);
    await expect(EmbeddedTsdb.open({ dir, chunkCacheBytes: -1 })).rejects.toThrow(/chunkCacheBytes/);
  });
});
