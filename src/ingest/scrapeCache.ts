import { labelsKey, type AppendResult, type Labels, type SampleAppender } from '../core/index.js';
import type { CachedSeriesText, ExpositionSeriesCache, ParsedSample } from './expositionTypes.js';
import { scrapeSamples, type ScrapeOutcome } from './scrapeHttp.js';
import { mergeTargetLabels } from './scrapeLabels.js';
import type { ScrapeTarget } from './scrapeTarget.js';

/**
 * A store that hands out series references, so repeated appends skip label handling (EmbeddedTsdb is
 * one). `appendRef` returns null when the reference is no longer valid (retention forgot the series).
 */
export interface RefAppender extends SampleAppender {
  /** The reference of the series `labels` name, creating it; null when the labels are unusable. */
  getOrCreateRef(labels: Labels): number | null;
  /** Appends by reference; null when no series has that reference any more. */
  appendRef(ref: number, t: number, v: number): AppendResult | null;
}

/** True when the appender supports references. */
export function isRefAppender(appender: SampleAppender): appender is RefAppender {
  const candidate = appender as Partial<RefAppender>;
  return typeof candidate.getOrCreateRef === 'function' && typeof candidate.appendRef === 'function';
}

/** Appends by the series' reference, getting one first or again when the store has forgotten it. */
export function appendByRef(store: RefAppender, series: TargetSeries, t: number, v: number): AppendResult {
  const result = series.ref === null ? null : store.appendRef(series.ref, t, v);
  if (result !== null) return result;
  // New, or forgotten by retention since; unusable labels keep ref null and go the slow way for the refusal.
  series.ref = store.getOrCreateRef(series.labels);
  return (
    (series.ref === null ? null : store.appendRef(series.ref, t, v)) ?? store.append(series.labels, t, v)
  );
}

/** One stored series a target feeds, shared by every series text that ends up with its labels. */
export interface TargetSeries {
  /** The labels it is stored under: scraped labels merged with the target's, after metric relabelling. */
  readonly labels: Labels;
  /** The store's reference; null until first resolved (and always with a store without references). */
  ref: number | null;
  /** The scrape that last appended it, to refuse a second sample of it in one scrape. */
  seenScrape: number;
  /** The last scrape that appended it without an own timestamp, i.e. tracked it for staleness. */
  staleScrape: number;
}

/** What the cache keeps per series text. */
interface ScrapeCacheEntry extends CachedSeriesText {
  /** undefined until resolved for the current config; null when metric relabelling drops the series. */
  series: TargetSeries | null | undefined;
  /** The last scrape whose body had this text, to prune texts that went away. */
  seenScrape: number;
}

/** Cache entries beyond this many plus twice the body's series trigger pruning of texts no longer seen. */
const pruneSlack = 256;

/**
 * A target's scrape cache, as in Prometheus: series text as written in the body → its parsed labels and
 * the stored series they map to, so a series seen before skips label parsing, merging, relabelling and
 * keying. Entries follow the target's honor_labels and relabel config and are dropped when either changes.
 */
export class ScrapeCache implements ExpositionSeriesCache {
  /** Counts scrapes; every scrape gets a new number before its body is parsed. */
  scrape = 0;
  private readonly entries = new Map<string, ScrapeCacheEntry>();
  // Kept across config changes so a series keeps its staleness state when its text is re-resolved.
  private readonly byKey = new Map<string, TargetSeries>();
  private honorLabels: boolean | null = null;
  private metricRelabel: ScrapeTarget['metricRelabel'] = undefined;

  constructor(private readonly targetLabels: Labels) {}

  get(raw: string): CachedSeriesText | undefined {
    const entry = this.entries.get(raw);
    if (entry !== undefined) entry.seenScrape = this.scrape;
    return entry;
  }

  add(raw: string, labels: Labels, hash: number): CachedSeriesText {
    const entry: ScrapeCacheEntry = { labels, hash, series: undefined, seenScrape: this.scrape };
    this.entries.set(raw, entry);
    return entry;
  }

  /** Starts a scrape of `target`; forgets resolved texts when its label policy changed. */
  beginScrape(target: ScrapeTarget): void {
    this.scrape++;
    if (this.honorLabels === target.honorLabels && this.metricRelabel === target.metricRelabel) return;
    this.honorLabels = target.honorLabels;
    this.metricRelabel = target.metricRelabel;
    this.entries.clear();
  }

  /** The stored series a parsed sample goes to; null when metric relabelling drops it. */
  seriesOf(sample: ParsedSample): TargetSeries | null {
    // The parser only hands out entries this cache created in add().
    const entry = sample.cached as ScrapeCacheEntry | undefined;
    if (entry === undefined) return this.resolve(sample.labels);
    if (entry.series === undefined) entry.series = this.resolve(sample.labels);
    return entry.series;
  }

  /** Drops texts and series the current scrape did not have, once the cache is well larger than the body. */
  prune(bodySeries: number): void {
    if (this.entries.size <= 2 * bodySeries + pruneSlack) return;
    for (const [raw, entry] of this.entries) if (entry.seenScrape !== this.scrape) this.entries.delete(raw);
    for (const [key, series] of this.byKey) if (series.seenScrape !== this.scrape) this.byKey.delete(key);
  }

  /** Number of series texts held. */
  get size(): number {
    return this.entries.size;
  }

  private resolve(scraped: Labels): TargetSeries | null {
    const merged = mergeTargetLabels(scraped, this.targetLabels, this.honorLabels === true);
    const labels = this.metricRelabel === undefined ? merged : this.metricRelabel(merged);
    if (labels === null) return null;
    const key = labelsKey(labels);
    let series = this.byKey.get(key);
    if (series === undefined) {
      series = { labels, ref: null, seenScrape: -1, staleScrape: -1 };
      this.byKey.set(key, series);
    }
    return series;
  }
}

/** Fetches and parses one scrape through the target's cache (see {@link scrapeSamples}). */
export function scrapeWithCache(target: ScrapeTarget, cache: ScrapeCache): Promise<ScrapeOutcome> {
  return scrapeSamples(target, { seriesCache: cache, beforeParse: () => cache.beginScrape(target) });
}
