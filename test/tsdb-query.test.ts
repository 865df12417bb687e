import { afterAll, describe, expect, it } from 'vitest';
import { STALE_NAN } from '../src/core/index.js';
import { EmbeddedPromqlQuery } from '../src/promql/index.js';
import { EmbeddedTsdb, MemorySeriesStore } from '../src/tsdb/index.js';
import { makeTempDir } from './support/tmp.js';

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups) await cleanup();
});

/**
 * The embedded store's read path (range-limited decoding of sealed and head chunks, pooled decode buffers,
 * ranked sorting) must answer PromQL exactly like the plain in-memory store, which the conformance suite runs on.
 */
describe('PromQL over EmbeddedTsdb', () => {
  it('answers like MemorySeriesStore over sealed chunks, heads, staleness markers and several selectors', async () => {
    const { dir, remove } = await makeTempDir('tsdb-query');
    const db = await EmbeddedTsdb.open({ dir, chunkSamples: 13, chunkFileSpanMs: 60_000 });
    cleanups.push(async () => {
      await db.close().catch(() => undefined);
      await remove();
    });
    const memory = new MemorySeriesStore();
    let seed = 3;
    const rand = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    const counters = new Float64Array(60);
    for (let step = 0; step < 400; step++) {
      for (let s = 0; s < 60; s++) {
        if (rand() < 0.05) continue; // a missed scrape
        const labels = {
          __name__: s % 3 === 0 ? 'gauge' : 'requests_total',
          job: `job${s % 4}`,
          instance: `host${s}`,
          status: s % 5 === 0 ? '500' : '200',
        };
        counters[s] = rand() < 0.01 ? 0 : (counters[s] ?? 0) + Math.floor(rand() * 20);
        const v = s % 3 === 0 ? rand() * 100 : (counters[s] ?? 0);
        const t = step * 15_000 + Math.floor(rand() * 40);
        const value = step % 97 === 96 && s % 7 === 0 ? STALE_NAN : v;
        db.append(labels, t, value);
        memory.append(labels, t, value);
      }
    }
    await db.commit();
    expect(db.stats().sealedChunks).toBeGreaterThan(1000);
    const embedded = EmbeddedPromqlQuery.create({ reader: db });
    const reference = EmbeddedPromqlQuery.create({ reader: memory });
    const expressions = [
      'sum by (job) (rate(requests_total[1m]))',
      'topk(3, rate(requests_total{status=~"5.."}[5m]))',
      'gauge > 50',
      'sum(requests_total) / sum(rate(requests_total[10m]))',
      'max_over_time(gauge[17m:1m])',
      'requests_total - requests_total offset 20m',
      'count_over_time(gauge{instance=~"host(1|2).*"}[30m])',
    ];
    for (const expr of expressions) {
      for (const at of [4_000_000, 5_985_000]) {
        const got = await embedded.instant(expr, at);
        expect(got.ok && got.value.result.length > 0, `${expr} at ${at} has results`).toBe(true);
        expect(got, `${expr} at ${at}`).toEqual(await reference.instant(expr, at));
      }
      expect(await embedded.range(expr, 3_000_000, 6_000_000, 60_000), expr).toEqual(
        await reference.range(expr, 3_000_000, 6_000_000, 60_000),
      );
    }
  });
});
