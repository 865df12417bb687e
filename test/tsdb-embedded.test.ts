import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isStaleNaN, STALE_NAN } from '../src/core/index.js';
import type { Labels } from '../src/core/index.js';
import { EmbeddedTsdb, MemorySeriesStore, TsdbConfigError } from '../src/tsdb/index.js';
import type { LabelMatcher, SeriesData, SeriesReader } from '../src/tsdb/index.js';
import { makeTempDir } from './support/tmp.js';

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups) await cleanup();
});

async function tempDir(): Promise<string> {
  const { dir, remove } = await makeTempDir('tsdb');
  cleanups.push(remove);
  return dir;
}

/** Small chunks and files so a few thousand samples spread over head, sealed and persisted data. */
const smallOptions = {
  chunkSamples: 10,
  chunkFileSpanMs: 20_000,
  checkpointAfterBytes: 8192,
  walSegmentBytes: 4096,
};

function rng(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
}

interface Input {
  readonly labels: Labels;
  readonly t: number;
  readonly v: number;
}

/** Random appends over a few metrics and label values, with out-of-order, duplicate and special values. */
function randomInput(seed: number, n: number): Input[] {
  const rand = rng(seed);
  const clock = new Map<string, number>();
  const out: Input[] = [];
  for (let i = 0; i < n; i++) {
    const labels = {
      __name__: ['up', 'http_requests_total', 'mem_bytes'][Math.floor(rand() * 3)] ?? 'up',
      job: ['api', 'web', 'db'][Math.floor(rand() * 3)] ?? 'api',
      instance: `i${Math.floor(rand() * 5)}`,
    };
    const key = JSON.stringify(labels);
    const last = clock.get(key) ?? Math.floor(rand() * 5000);
    const r = rand();
    const t =
      r < 0.05 ? last - Math.floor(rand() * 3000) : r < 0.08 ? last : last + 1 + Math.floor(rand() * 4000);
    if (t > last) clock.set(key, t);
    const k = rand();
    const v = k < 0.05 ? STALE_NAN : k < 0.07 ? Infinity : k < 0.08 ? NaN : Math.round(rand() * 1e4) / 8;
    out.push({ labels, t, v });
  }
  return out;
}

const bits = (v: number): string => {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, v);
  return view.getBigUint64(0).toString(16);
};

const plain = (data: SeriesData[]): { labels: Labels; t: number[]; v: string[] }[] =>
  data.map((s) => ({ labels: s.labels, t: Array.from(s.t), v: Array.from(s.v, bits) }));

const selectors: LabelMatcher[][] = [
  [{ name: '__name__', type: '=', value: 'up' }],
  [{ name: 'job', type: '=~', value: 'api|web' }],
  [
    { name: '__name__', type: '!=', value: 'mem_bytes' },
    { name: 'instance', type: '!~', value: 'i[12]' },
  ],
];

function expectSameAs(db: SeriesReader, reference: MemorySeriesStore, seed: number): void {
  const rand = rng(seed);
  for (const matchers of selectors) {
    expect(plain(db.select(matchers, -Infinity, Infinity))).toEqual(
      plain(reference.select(matchers, -Infinity, Infinity)),
    );
    for (let i = 0; i < 5; i++) {
      const minT = Math.floor(rand() * 200_000);
      const maxT = minT + Math.floor(rand() * 100_000);
      expect(plain(db.select(matchers, minT, maxT))).toEqual(plain(reference.select(matchers, minT, maxT)));
    }
  }
  expect(db.labelNames()).toEqual(reference.labelNames());
  expect(db.labelValues('instance')).toEqual(reference.labelValues('instance'));
  expect(db.labelValues('job', selectors[0])).toEqual(reference.labelValues('job', selectors[0]));
  expect(db.seriesCount()).toBe(reference.seriesCount());
}

describe('EmbeddedTsdb against MemorySeriesStore', () => {
  it('returns the same data from head, sealed and persisted chunks, before and after a restart', async () => {
    const dir = await tempDir();
    const input = randomInput(11, 4000);
    const reference = new MemorySeriesStore();
    let db = await EmbeddedTsdb.open({ dir, ...smallOptions });
    for (const [i, sample] of input.entries()) {
      expect(db.append(sample.labels, sample.t, sample.v)).toEqual(
        reference.append(sample.labels, sample.t, sample.v),
      );
      if (i % 500 === 499) await db.commit();
      if (i % 1000 === 999) expectSameAs(db, reference, i);
    }
    const stats = db.stats();
    expect(stats.sealedChunks).toBeGreaterThan(50);
    expect(stats.headChunks).toBeGreaterThan(0);
    expect(stats.outOfOrderSamples).toBe(reference.rejectedSamples().out_of_order);
    expect(stats.duplicateSamples).toBe(reference.rejectedSamples().duplicate);
    expect(stats.outOfOrderSamples).toBeGreaterThan(0);
    expect(stats.sealedSamples + stats.headSamples).toBe(reference.sampleCount());
    await db.close();
    // The run went through several chunk files and WAL checkpoints, so the restart reads all of them.
    expect(readdirSync(join(dir, 'chunks')).length).toBeGreaterThan(3);
    expect(readdirSync(join(dir, 'wal')).filter((n) => n.startsWith('checkpoint.'))).toHaveLength(1);

    db = await EmbeddedTsdb.open({ dir, ...smallOptions });
    expect(db.openWarnings()).toEqual([]);
    expectSameAs(db, reference, 99);
    expect(db.stats().sealedSamples + db.stats().headSamples).toBe(reference.sampleCount());
    expect(db.hasMetric('mem_bytes')).toBe(true);
    // Appending continues where the data left off; old timestamps are still refused after the restart.
    const last = input[input.length - 1];
    if (last === undefined) throw new Error('no input');
    expect(db.append(last.labels, -1, 1)).toEqual({ ok: false, reason: 'out_of_order' });
    expect(db.rejectedSamples().out_of_order).toBe(1);
    await db.close();
  });

  it('replays committed data when the previous instance never closed (crash without close)', async () => {
    const dir = await tempDir();
    const input = randomInput(23, 1500);
    const reference = new MemorySeriesStore();
    const crashed = await EmbeddedTsdb.open({ dir, ...smallOptions });
    for (const sample of input) {
      crashed.append(sample.labels, sample.t, sample.v);
      reference.append(sample.labels, sample.t, sample.v);
    }
    await crashed.commit();
    const db = await EmbeddedTsdb.open({ dir, ...smallOptions });
    expectSameAs(db, reference, 5);
    await db.close();
    await crashed.close(); // only to release its file descriptors
  });
});

describe('EmbeddedTsdb staleness markers', () => {
  it('keep their exact bit pattern through head, chunk files, WAL replay and checkpoints', async () => {
    const dir = await tempDir();
    const options = { dir, chunkSamples: 4 };
    const stale = (db: EmbeddedTsdb, name: string): string[] =>
      Array.from(db.select([{ name: '__name__', type: '=', value: name }], 0, Infinity)[0]?.v ?? [], (v) =>
        isStaleNaN(v) ? 'stale' : bits(v),
      );
    const expected = ['stale', bits(1), 'stale', bits(NaN), bits(2), 'stale'];
    let db = await EmbeddedTsdb.open(options);
    // Filled element by element: V8 quiets the marker (a signalling NaN) inside a plain array literal.
    const values = new Float64Array([0, 1, 0, NaN, 2, 0]);
    for (const i of [0, 2, 5]) values[i] = STALE_NAN;
    for (let i = 0; i < values.length; i++) db.append({ __name__: 'wal_only' }, i * 1000, values[i] ?? 0);
    await db.commit();
    expect(stale(db, 'wal_only')).toEqual(expected);
    await db.close();
    db = await EmbeddedTsdb.open(options); // replayed from the WAL, first 4 from the chunk file
    expect(stale(db, 'wal_only')).toEqual(expected);
    for (let i = 0; i < values.length; i++) db.append({ __name__: 'checkpointed' }, i * 1000, values[i] ?? 0);
    await db.deleteBefore(-1); // nothing to delete
    await db.enforceRetention(5000); // nothing old enough; seals nothing (heads are recent)
    await db.close();
    db = await EmbeddedTsdb.open({ ...options, checkpointAfterBytes: 1 });
    await db.commit(); // writes a checkpoint holding the head chunks
    await db.close();
    expect(readdirSync(join(dir, 'wal')).some((n) => n.startsWith('checkpoint.'))).toBe(true);
    db = await EmbeddedTsdb.open(options);
    expect(stale(db, 'wal_only')).toEqual(expected);
    expect(stale(db, 'checkpointed')).toEqual(expected);
    await db.close();
  });
});

describe('EmbeddedTsdb appends', () => {
  it('refuses out-of-order, duplicate and unnamed samples and counts each reason', async () => {
    const db = await EmbeddedTsdb.open({ dir: await tempDir() });
    const up = { __name__: 'up', job: 'a' };
    expect(db.append(up, 2000, 1)).toEqual({ ok: true });
    expect(db.append(up, 1000, 1)).toEqual({ ok: false, reason: 'out_of_order' });
    expect(db.append(up, 2000, 2)).toEqual({ ok: false, reason: 'duplicate' });
    expect(db.append({ job: 'a' }, 3000, 1)).toEqual({ ok: false, reason: 'invalid_labels' });
    expect(db.append({ ...up, empty: '' }, 3000, 1)).toEqual({ ok: true });
    expect(db.rejectedSamples()).toEqual({ out_of_order: 1, duplicate: 1, invalid_labels: 1 });
    expect(db.stats().outOfOrderSamples).toBe(1);
    expect(plain(db.select([{ name: 'job', type: '=', value: 'a' }], 0, 5000))).toEqual([
      { labels: up, t: [2000, 3000], v: [bits(1), bits(1)] },
    ]);
    expect(() => db.append(up, NaN, 1)).toThrow(RangeError);
    await db.close();
    expect(() => db.append(up, 4000, 1)).toThrow(/after close/);
  });

  it('rejects bad options with a message naming the option', async () => {
    await expect(EmbeddedTsdb.open({ dir: await tempDir(), chunkSamples: 0 })).rejects.toThrow(
      TsdbConfigError,
    );
    await expect(EmbeddedTsdb.open({ dir: await tempDir(), retentionBytes: -1 })).rejects.toThrow(
      /retentionBytes/,
    );
  });
});
