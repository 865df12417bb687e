import { Counter, Gauge, type Registry } from 'prom-client';
import type { EmbeddedTsdb } from '../tsdb/index.js';

/** Publishes the embedded TSDB's state on swas's own /metrics, read when scraped. */
export function registerTsdbMetrics(registry: Registry, tsdb: EmbeddedTsdb): void {
  const registers = [registry];
  new Gauge({
    name: 'swas_tsdb_series',
    help: 'Series in the embedded TSDB.',
    registers,
    collect() {
      this.set(tsdb.stats().series);
    },
  });
  new Gauge({
    name: 'swas_tsdb_storage_bytes',
    help: 'Bytes on disk, by part of the embedded TSDB.',
    labelNames: ['part'],
    registers,
    collect() {
      const stats = tsdb.stats();
      this.set({ part: 'chunks' }, stats.chunkFileBytes);
      this.set({ part: 'wal' }, stats.walBytes);
    },
  });
  // Counters read from the store's own totals: each scrape adds what grew since the last one.
  const counted: [string, string, () => number][] = [
    [
      'swas_tsdb_out_of_order_samples_total',
      'Samples refused because they were older than the series’ newest sample.',
      () => tsdb.stats().outOfOrderSamples,
    ],
    [
      'swas_tsdb_duplicate_samples_total',
      'Samples refused because the series already had a sample at that time.',
      () => tsdb.stats().duplicateSamples,
    ],
    [
      'swas_tsdb_invalid_label_samples_total',
      'Samples refused because of invalid labels.',
      () => tsdb.stats().invalidLabelSamples,
    ],
  ];
  for (const [name, help, read] of counted) {
    let seen = 0;
    new Counter({
      name,
      help,
      registers,
      collect() {
        const now = read();
        if (now > seen) this.inc(now - seen);
        seen = now;
      },
    });
  }
}
