import { labelsKey, type AppendResult, type Labels, type SampleAppender } from '../core/index.js';
import type { CachedSeriesText, ExpositionSeriesCache, ParsedSample } from './expositionTypes.js';
import { SampleColumns } from './sampleColumns.js';
import { scrapeSamples, type ScrapeOutcome } from './scrapeHttp.js';
import { labelLimitProblem, labelLimitsOf, mergeTargetLabels, type LabelLimits } from './scrapeLabels.js';
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
  /** The labels the store keeps for a reference (strings shared between series), if it exposes them. */
  labelsOf?(ref: number): Labels | undefined;
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
  // Hold the store's copy of the labels from now on, so the cache does not keep a second one per series.
  const stored = series.ref === null ? undefined : store.labelsOf?.(series.ref);
  if (stored !== undefined) series.labels = stored;
  return (
    (series.ref === null ? null : store.appendRef(series.ref, t, v)) ?? store.append(series.labels, t, v)
  );
}

/** One stored series a target feeds, shared by every series text that ends up with its labels. */
export interface TargetSeries {
  /**
   * The labels it is stored under: scraped labels merged with the target's, after metric relabelling; once
   * the store knows the series, the store's own (equal) copy.
   */
  labels: Labels;
  /** The store's reference; null until first resolved (and always with a store without references). */
  ref: number | null;
  /** The scrape that last appended it, to refuse a second sample of it in one scrape. */
  seenScrape: number;
  /** The last scrape that appended it without an own timestamp, i.e. tracked it for staleness. */
  staleScrape: number;
}

/** What the cache keeps per series text. */
interface ScrapeCacheEntry extends CachedSeriesText {
  mayAlias: boolean;
  /** undefined until resolved for the current config; null when metric relabelling drops the series. */
  series: TargetSeries | null | undefined;
  /** The last scrape whose body had this text, to prune texts that went away. */
  seenScrape: number;
  /** Which label limit the series breaks (null: none); undefined until checked under the current limits. */
  limitProblem: string | null | undefined;
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
  first: CachedSeriesText | undefined = undefined;
  /** The last body's samples, column by column (see scrapeWithCache). */
  readonly columns = new SampleColumns();
  private readonly entries = new Map<string, ScrapeCacheEntry>();
  /** One entry per label hash; entries sharing a hash are marked `mayAlias` (sticky, so always safe). */
  private readonly byHash = new Map<number, ScrapeCacheEntry>();
  // Kept across config changes so a series keeps its staleness state when its text is re-resolved.
  private readonly byKey = new Map<string, TargetSeries>();
  /** Label strings copied during this scrape, so entries of one scrape share them (see own()). */
  private readonly owned = new Map<string, string>();
  private honorLabels: boolean | null = null;
  private metricRelabel: ScrapeTarget['metricRelabel'] = undefined;
  private limits: LabelLimits | null = null;
  private limitsKey = '';

  constructor(private readonly targetLabels: Labels) {}

  get(raw: string): CachedSeriesText | undefined {
    const entry = this.entries.get(raw);
    if (entry !== undefined) entry.seenScrape = this.scrape;
    return entry;
  }

  add(text: string, labels: Labels, hash: number): CachedSeriesText {
    // The parser's text is a slice of the whole body: a copy of its own keeps the body from staying in
    // memory and is much faster to compare character by character.
    const raw = Buffer.from(text, 'utf8').toString('utf8');
    // The parsed labels are slices of the body too (from 13 characters on, V8 slices rather than copies), so
    // each entry would keep a whole scrape body alive: copy them, sharing the copies within the scrape.
    // (fromEntries defines own properties, so a label named __proto__ stays a label.)
    const ownLabels: Labels = Object.fromEntries(
      Object.entries(labels).map(([name, value]) => [this.own(name), this.own(value)]),
    );
    const entry: ScrapeCacheEntry = {
      raw,
      labels: ownLabels,
      name: ownLabels.__name__ ?? '',
      hash,
      next: undefined,
      mayAlias: false,
      parsedIn: 0,
      series: undefined,
      seenScrape: this.scrape,
      limitProblem: undefined,
    };
    this.entries.set(raw, entry);
    this.trackHash(entry);
    return entry;
  }

  /** Starts a scrape of `target`; forgets resolved texts when its label policy changed. */
  beginScrape(target: ScrapeTarget): void {
    this.scrape++;
    this.owned.clear();
    const limitsKey = `${target.labelLimit ?? 0}/${target.labelNameLengthLimit ?? 0}/${target.labelValueLengthLimit ?? 0}`;
    if (limitsKey !== this.limitsKey) {
      this.limitsKey = limitsKey;
      this.limits = labelLimitsOf(target);
      for (const entry of this.entries.values()) entry.limitProblem = undefined;
    }
    if (this.honorLabels === target.honorLabels && this.metricRelabel === target.metricRelabel) return;
    this.honorLabels = target.honorLabels;
    this.metricRelabel = target.metricRelabel;
    // Entries hold series resolved under the old policy; the parser must not reach them through `next`.
    for (const entry of this.entries.values()) entry.next = undefined;
    this.entries.clear();
    this.byHash.clear();
    this.first = undefined;
  }

  /** The stored series a parsed sample goes to; null when metric relabelling drops it. */
  seriesOf(sample: ParsedSample): TargetSeries | null {
    // The parser only hands out entries this cache created in add().
    const entry = sample.cached as ScrapeCacheEntry | undefined;
    if (entry === undefined) return this.resolve(sample.labels);
    return this.seriesOfEntry(entry);
  }

  /** The stored series of a series text's entry (as in `columns`); null when metric relabelling drops it. */
  seriesOfEntry(cached: CachedSeriesText): TargetSeries | null {
    const entry = cached as ScrapeCacheEntry;
    entry.seenScrape = this.scrape;
    if (entry.series === undefined) entry.series = this.resolve(entry.labels);
    return entry.series;
  }

  /**
   * The first label limit the samples' stored series break, or null (also when the target has no label
   * limits). Checked once per series text while the limits stay the same.
   */
  labelLimitProblem(samples: readonly ParsedSample[], columns?: SampleColumns): string | null {
    const limits = this.limits;
    if (limits === null) return null;
    for (let i = 0; columns !== undefined && i < columns.length; i++) {
      const entry = columns.entries[i] as ScrapeCacheEntry;
      const series = this.seriesOfEntry(entry);
      if (series === null) continue;
      if (entry.limitProblem === undefined) entry.limitProblem = labelLimitProblem(series.labels, limits);
      if (entry.limitProblem !== null) return entry.limitProblem;
    }
    for (const sample of samples) {
      const series = this.seriesOf(sample);
      if (series === null) continue;
      const entry = sample.cached as ScrapeCacheEntry | undefined;
      let problem: string | null;
      if (entry === undefined) problem = labelLimitProblem(series.labels, limits);
      else {
        if (entry.limitProblem === undefined) entry.limitProblem = labelLimitProblem(series.labels, limits);
        problem = entry.limitProblem;
      }
      if (problem !== null) return problem;
    }
    return null;
  }

  /** Drops texts and series the current scrape did not have, once the cache is well larger than the body. */
  prune(bodySeries: number): void {
    if (this.entries.size <= 2 * bodySeries + pruneSlack) return;
    for (const [raw, entry] of this.entries) if (entry.seenScrape !== this.scrape) this.entries.delete(raw);
    // A kept entry must not lead the parser to a forgotten one, whose series may be forgotten too.
    for (const entry of this.entries.values()) {
      const next = entry.next as ScrapeCacheEntry | undefined;
      if (next !== undefined && next.seenScrape !== this.scrape) entry.next = undefined;
    }
    if ((this.first as ScrapeCacheEntry | undefined)?.seenScrape !== this.scrape) this.first = undefined;
    this.byHash.clear();
    for (const entry of this.entries.values()) this.trackHash(entry);
    for (const [key, series] of this.byKey) if (series.seenScrape !== this.scrape) this.byKey.delete(key);
  }

  /** A copy of `text` that holds no part of a scrape body, one per distinct text within a scrape. */
  private own(text: string): string {
    let copy = this.owned.get(text);
    if (copy === undefined) {
      copy = Buffer.from(text, 'utf8').toString('utf8');
      this.owned.set(copy, copy);
    }
    return copy;
  }

  private trackHash(entry: ScrapeCacheEntry): void {
    const other = this.byHash.get(entry.hash);
    if (other === undefined) this.byHash.set(entry.hash, entry);
    else if (other !== entry) {
      other.mayAlias = true;
      entry.mayAlias = true;
    }
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
  return scrapeSamples(target, {
    seriesCache: cache,
    columns: cache.columns,
    beforeParse: () => cache.beginScrape(target),
  });
}
