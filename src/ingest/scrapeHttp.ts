import { errorMessage } from '../core/index.js';
import { parseExposition } from './exposition.js';
import type {
  ExpositionFormat,
  ExpositionSeriesCache,
  MetricMetadata,
  ParsedSample,
} from './expositionTypes.js';
import type { ScrapeTarget } from './scrapeTarget.js';

/** What swas asks exporters for: the Prometheus text format first, OpenMetrics text second. */
export const SCRAPE_ACCEPT_HEADER =
  'text/plain;version=0.0.4;q=0.9,application/openmetrics-text;version=1.0.0;q=0.5,*/*;q=0.1';

/** The body of one scrape, or why there is none. */
export type ScrapeBody = { ok: true; text: string; format: ExpositionFormat } | { ok: false; error: string };

/** The samples and HELP/TYPE/UNIT metadata of one scrape, or why it failed. */
export type ScrapeOutcome =
  { ok: true; samples: ParsedSample[]; metadata: Map<string, MetricMetadata> } | { ok: false; error: string };

/** Where and how to fetch one body. */
export interface ScrapeRequest {
  readonly url: string;
  readonly timeoutMs: number;
  /** 0 = no limit. */
  readonly bodyLimitBytes: number;
}

/** Fetches a metrics body with a timeout covering connect, headers and body, stopping past the body limit. */
export async function fetchScrapeBody(request: ScrapeRequest): Promise<ScrapeBody> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), request.timeoutMs);
  try {
    const response = await fetch(request.url, {
      headers: {
        Accept: SCRAPE_ACCEPT_HEADER,
        'User-Agent': 'swas-scraper',
        'X-Prometheus-Scrape-Timeout-Seconds': String(request.timeoutMs / 1000),
      },
      signal: controller.signal,
    });
    if (response.status !== 200) {
      await response.body?.cancel();
      return {
        ok: false,
        error: `server returned HTTP status ${response.status} ${response.statusText}; expected 200 (check the URL and metrics path)`,
      };
    }
    const bytes = await readLimited(response, request.bodyLimitBytes);
    if (bytes === null) {
      return {
        ok: false,
        error: `body exceeds the limit of ${request.bodyLimitBytes} bytes; raise the target's body limit or make the exporter return less`,
      };
    }
    const text = decodeUtf8(bytes);
    if (text === null) return { ok: false, error: 'body is not valid UTF-8; expected UTF-8 text' };
    return { ok: true, text, format: formatOf(response.headers.get('content-type')) };
  } catch (error) {
    if (controller.signal.aborted) {
      return {
        ok: false,
        error: `scrape timed out after ${request.timeoutMs}ms; the target did not answer in time (check it, or raise the timeout)`,
      };
    }
    return { ok: false, error: describeFetchError(error) };
  } finally {
    clearTimeout(timer);
  }
}

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
      error: `sample limit exceeded: the body has ${parsed.samples.length} samples, the target allows ${target.sampleLimit}; raise the sample limit or make the exporter return fewer series`,
    };
  }
  return { ok: true, samples: parsed.samples, metadata: parsed.metadata };
}

/** Reads the whole body, or returns null as soon as it grows past `limit` bytes (0 = no limit). */
async function readLimited(response: Response, limit: number): Promise<Uint8Array | null> {
  if (response.body === null) return new Uint8Array(0);
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (limit > 0 && total > limit) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, total);
}

function decodeUtf8(bytes: Uint8Array): string | null {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return null;
  }
}

function formatOf(contentType: string | null): ExpositionFormat {
  return contentType?.trim().toLowerCase().startsWith('application/openmetrics-text') === true
    ? 'openmetrics'
    : 'prometheus';
}

/** Node's fetch says only "fetch failed"; the useful part ("connect ECONNREFUSED …") is in its cause. */
function describeFetchError(error: unknown): string {
  const cause = error instanceof Error ? error.cause : undefined;
  if (cause instanceof AggregateError && cause.errors.length > 0) {
    return cause.errors.map((e) => errorMessage(e)).join('; ');
  }
  if (cause instanceof Error && cause.message !== '') return cause.message;
  return errorMessage(error);
}
