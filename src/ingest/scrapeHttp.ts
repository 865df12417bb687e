import { parseExposition } from './exposition.js';
import { fetchScrapeBody, type ScrapeLimit } from './scrapeFetch.js';
import type { ExpositionSeriesCache, MetricMetadata, ParsedSample } from './expositionTypes.js';
import type { ScrapeTarget } from './scrapeTarget.js';

export { SCRAPE_ACCEPT_HEADER } from './scrapeFetch.js';

/** The samples and HELP/TYPE/UNIT metadata of one scrape, or why it failed. */
export type ScrapeOutcome =
  | { ok: true; samples: ParsedSample[]; metadata: Map<string, MetricMetadata> }
  | { ok: false; error: string; limit?: ScrapeLimit };

/**
 * Fetches and parses one scrape, enforcing the target's limits; a bad body fails the whole scrape.
 * With a series cache, lines seen before skip label parsing (`beforeParse` runs once the body has arrived).
 */
export async function scrapeSamples(
  target: ScrapeTarget,
  cache: { seriesCache?: ExpositionSeriesCache; beforeParse?: () => void } = {},
): Promise<ScrapeOutcome> {
  const body = await fetchScrapeBody(target);
  if (!body.ok) return body;
  cache.beforeParse?.();
  const parsed = parseExposition(body.text, { format: body.format, seriesCache: cache.seriesCache });
  if (!parsed.ok) return { ok: false, error: parsed.error.message };
  if (target.sampleLimit > 0 && parsed.samples.length > target.sampleLimit) {
    return {
      ok: false,
      limit: 'sample',
      error: `sample limit exceeded: the body has ${parsed.samples.length} samples, the target allows ${target.sampleLimit}; raise the sample limit or make the exporter return fewer series`,
    };
  }
  return { ok: true, samples: parsed.samples, metadata: parsed.metadata };
}
