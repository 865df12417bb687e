import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EmbeddedTsdb } from '../src/tsdb/index.js';
import { makeTempDir } from './support/tmp.js';

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups) await cleanup();
});

async function tempDir(): Promise<string> {
  const { dir, remove } = await makeTempDir('tsdb-retention');
  cleanups.push(remove);
  return dir;
}

const all = [{ name: '__name__', type: '=~' as const, value: '.+' }];
const minute = 60_000;
const options = {
  chunkSamples: 10,
  chunkSpanMs: 10 * minute,
  chunkFileSpanMs: 10 * minute,
  retentionMs: 60 * minute,
};

/** Two series sampled every 15 s for `minutes`; `quiet` stops after the first 20 minutes. */
async function fill(dir: string, minutes: number): Promise<EmbeddedTsdb> {
  const db = await EmbeddedTsdb.open({ dir, ...options });
  for (let t = 0; t <= minutes * minute; t += 15_000) {
    db.append({ __name__: 'busy' }, t, t / 1000);
    if (t < 20 * minute) db.append({ __name__: 'quiet' }, t, 1);
  }
  await db.commit();
  return db;
}

const firstT = (db: EmbeddedTsdb, name: string): number | undefined =>
  db.select([{ name: '__name__', type: '=', value: name }], -Infinity, Infinity)[0]?.t[0];

describe('EmbeddedTsdb retention', () => {
  it('deletes whole files older than the retention time, forgets emptied series, and stays deleted after restart', async () => {
    const dir = await tempDir();
    let db = await fill(dir, 180);
    const filesBefore = readdirSync(join(dir, 'chunks')).length;
    const result = await db.enforceRetention(180 * minute);
    expect(result.filesDeleted).toBeGreaterThan(5);
    expect(readdirSync(join(dir, 'chunks')).length).toBe(filesBefore - result.filesDeleted);
    // Files are 10 minutes wide, so what is left starts within one file width of the cutoff.
    const first = firstT(db, 'busy') ?? -1;
    expect(first).toBeGreaterThanOrEqual(110 * minute);
    expect(first).toBeLessThanOrEqual(120 * minute);
    const kept = db.select(all, 120 * minute, Infinity)[0];
    expect(kept?.t.length).toBe(60 * 4 + 1);
    // "quiet" stopped at minute 20: its head was sealed, persisted and aged out with its files.
    expect(result.seriesRemoved).toBe(1);
    expect(db.seriesCount()).toBe(1);
    expect(db.hasMetric('quiet')).toBe(true);
    await db.close();

    db = await EmbeddedTsdb.open({ dir, ...options });
    expect(db.openWarnings()).toEqual([]);
    expect(firstT(db, 'busy')).toBe(first);
    expect(firstT(db, 'quiet')).toBeUndefined();
    expect(db.select(all, 120 * minute, Infinity)[0]?.t.length).toBe(60 * 4 + 1);
    await db.close();
  });

  it('deleteBefore(t) drops files and heads wholly older than t', async () => {
    const dir = await tempDir();
    const db = await fill(dir, 60);
    const result = await db.deleteBefore(30 * minute);
    expect(result.filesDeleted).toBeGreaterThan(0);
    expect(firstT(db, 'quiet')).toBeUndefined();
    expect(firstT(db, 'busy')).toBeGreaterThanOrEqual(20 * minute);
    expect(db.select(all, 30 * minute, Infinity)[0]?.t.length).toBe(30 * 4 + 1);
    await db.close();
  });

  it('deletes the oldest files while the store is over its size limit', async () => {
    const dir = await tempDir();
    let db = await fill(dir, 180);
    const before = db.stats();
    await db.close();
    const limit = Math.floor(before.chunkFileBytes / 2);
    db = await EmbeddedTsdb.open({
      dir,
      ...options,
      retentionMs: 365 * 24 * 60 * minute,
      retentionBytes: limit,
    });
    const result = await db.enforceRetention(180 * minute);
    expect(result.filesDeleted).toBeGreaterThan(0);
    const after = db.stats();
    expect(after.chunkFileBytes + after.walBytes).toBeLessThanOrEqual(limit);
    // The newest data is what remains.
    expect(db.select(all, 170 * minute, Infinity)[0]?.t.length).toBe(10 * 4 + 1);
    expect(firstT(db, 'busy') ?? 0).toBeGreaterThan(60 * minute);
    await db.close();
  });
});
