import { parseExposition } from './exposition.js';
import { fetchScrapeBody, type ScrapeLimit } from './scrapeFetch.js';
import type { ExpositionSeriesCache, MetricMetadata, ParsedSample } from './expositionTypes.js';
import type { SampleColumns } from './sampleColumns.js';
import type { ScrapeTarget } from './scrapeTarget.js';

export { SCRAPE_ACCEPT_HEADER } from './scrapeFetch.js';

/** The samples and HELP/TYPE/UNIT metadata of one scrape, or why it failed. */
export type ScrapeOutcome =
  | {
      ok: true;
      /** Samples that went to `columns` are not here (with columns, normally none are). */
      samples: ParsedSample[];
      columns?: SampleColumns;
      /** All samples: `samples` and those in `columns`. */
      count: number;
      metadata: Map<string, MetricMetadata>;
    }
  | { ok: false; error: string; limit?: ScrapeLimit };

/**
 * Fetches and parses one scrape, enforcing the target's limits; a bad body fails the whole scrape.
 * With a series cache, lines seen before skip label parsing (`beforeParse` runs once the body has arrived).
 */
export async function scrapeSamples(
  target: ScrapeTarget,
  cache: { seriesCache?: ExpositionSeriesCache; columns?: SampleColumns; beforeParse?: () => void } = {},
): Promise<ScrapeOutcome> {
  const body = await fetchScrapeBody(target);
  if (!body.ok) return body;
  cache.beforeParse?.();
  const columns = cache.seriesCache === undefined ? undefined : cache.columns;
  const parsed = parseExposition(body.pieces, {
    format: body.format,
    seriesCache: cache.seriesCache,
    columns,
  });
  if (!parsed.ok) return { ok: false, error: parsed.error.message };
  const count = parsed.samples.length + (columns?.length ?? 0);
  if (target.sampleLimit > 0 && count > target.sampleLimit) {
    return {
      ok: false,
      limit: 'sample',
      error: `sample limit exceeded: the body has ${count} samples, the target allows ${target.sampleLimit}; raise the sample limit or make the exporter return fewer series`,
    };
  }
  return columns === undefined
    ? { ok: true, samples: parsed.samples, count, metadata: parsed.metadata }
    : { ok: true, samples: parsed.samples, columns, count, metadata: parsed.metadata };
}
