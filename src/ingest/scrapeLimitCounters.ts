import { Counter, type Registry } from 'prom-client';
import type { ScrapeLimit } from './scrapeFetch.js';

/** The `swas_scrape_*_limit_exceeded_total{job}` counters, like Prometheus's `prometheus_target_scrapes_exceeded_*`. */
export type ScrapeLimitCounters = Record<ScrapeLimit, Counter<'job'>>;

/** Creates the counters, registered in `registry` when there is one. */
export function scrapeLimitCounters(registry: Registry | undefined): ScrapeLimitCounters {
  const registers = registry ? [registry] : [];
  const counter = (limit: string, what: string): Counter<'job'> =>
    new Counter({
      name: `swas_scrape_${limit}_limit_exceeded_total`,
      help: `Scrapes that failed because ${what}, by job.`,
      labelNames: ['job'],
      registers,
    });
  return {
    sample: counter('sample', 'the body had more samples than sample_limit'),
    label: counter(
      'label',
      'a series broke label_limit, label_name_length_limit or label_value_length_limit',
    ),
    body_size: counter('body_size', 'the body was larger than body_size_limit_bytes'),
  };
}
