import {
  detachedCopy,
  labelsEqual,
  labelsHash,
  LabelsMap,
  type AppendResult,
  type Labels,
  type SampleAppender,
} from '../core/index.js';
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
  // Only an equal copy: ScrapeCache finds series by their labels' hash, so they must never change (a store
  // that normalizes, e.g. drops empty values, keeps its own different set).
  const stored = series.ref === null ? undefined : store.labelsOf?.(series.ref);
  if (stored !== undefined && labelsEqual(stored, series.labels)) series.labels = stored;
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

/** `ScrapeCacheEntry.flags`: another entry has had this entry's hash (sticky, so always safe). */
const MAY_ALIAS = 1;
/** `ScrapeCacheEntry.flags`: checked against the current label limits. */
const LIMITS_CHECKED = 2;
/** `ScrapeCacheEntry.flags`: breaks the current label limits (the message is in `limitProblems`). */
const LIMITS_BROKEN = 4;

/**
 * What the cache keeps per series text. A class, so every entry has one shape (the parser reads them on
 * every sample); flags share one small integer, as every field costs 8 bytes per series.
 */
class ScrapeCacheEntry implements CachedSeriesText {
  next: CachedSeriesText | undefined = undefined;
  parsedIn = 0;
  /** undefined until resolved for the current config; null when metric relabelling drops the series. */
  series: TargetSeries | null | undefined = undefined;
  /** MAY_ALIAS, LIMITS_CHECKED and LIMITS_BROKEN. */
  flags = 0;

  constructor(
    readonly raw: string,
    readonly labels: Labels,
    readonly name: string,
    readonly hash: number,
    /** The last scrape whose body had this text, to prune texts that went away. */
    public seenScrape: number,
  ) {}

  get mayAlias(): boolean {
    return (this.flags & MAY_ALIAS) !== 0;
  }
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
  /**
   * The hashes of the entries held; entries sharing a hash are flagged MAY_ALIAS (sticky, so always safe).
   * A set rather than a map to an entry, as the rare entries that share a hash are easily found by a scan.
   */
  private readonly hashes = new Set<number>();
  /** Why entries flagged LIMITS_BROKEN break the label limits; few, as each fails its scrapes. */
  private readonly limitProblems = new Map<ScrapeCacheEntry, string>();
  // Kept across config changes so a series keeps its staleness state when its text is re-resolved. Keyed by
  // label hash rather than a key string per series (as large as the labels themselves).
  private readonly byLabels = new LabelsMap<TargetSeries>((series) => series.labels);
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
    const raw = detachedCopy(text);
    // The parsed labels are slices of the body too (from 13 characters on, V8 slices rather than copies), so
    // each entry would keep a whole scrape body alive: copy them, sharing the copies within the scrape.
    // (fromEntries defines own properties, so a label named __proto__ stays a label.)
    const ownLabels: Labels = Object.fromEntries(
      Object.entries(labels).map(([name, value]) => [this.own(name), this.own(value)]),
    );
    const entry = new ScrapeCacheEntry(raw, ownLabels, ownLabels.__name__ ?? '', hash, this.scrape);
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
      for (const entry of this.entries.values()) entry.flags &= ~(LIMITS_CHECKED | LIMITS_BROKEN);
      this.limitProblems.clear();
    }
    if (this.honorLabels === target.honorLabels && this.metricRelabel === target.metricRelabel) return;
    this.honorLabels = target.honorLabels;
    this.metricRelabel = target.metricRelabel;
    // Entries hold series resolved under the old policy; the parser must not reach them through `next`.
    for (const entry of this.entries.values()) entry.next = undefined;
    this.entries.clear();
    this.hashes.clear();
    this.limitProblems.clear();
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
      const problem = this.limitProblemOf(entry, series, limits);
      if (problem !== null) return problem;
    }
    for (const sample of samples) {
      const series = this.seriesOf(sample);
      if (series === null) continue;
      const entry = sample.cached as ScrapeCacheEntry | undefined;
      const problem =
        entry === undefined
          ? labelLimitProblem(series.labels, limits)
          : this.limitProblemOf(entry, series, limits);
      if (problem !== null) return problem;
    }
    return null;
  }

  /** The label limit `entry`'s series breaks, or null; checked once while the limits stay the same. */
  private limitProblemOf(entry: ScrapeCacheEntry, series: TargetSeries, limits: LabelLimits): string | null {
    if ((entry.flags & LIMITS_CHECKED) !== 0) {
      return (entry.flags & LIMITS_BROKEN) === 0 ? null : (this.limitProblems.get(entry) ?? null);
    }
    const problem = labelLimitProblem(series.labels, limits);
    entry.flags |= LIMITS_CHECKED;
    if (problem !== null) {
      entry.flags |= LIMITS_BROKEN;
      this.limitProblems.set(entry, problem);
    }
    return problem;
  }

  /** Drops texts and series the current scrape did not have, once the cache is well larger than the body. */
  prune(bodySeries: number): void {
    if (this.entries.size <= 2 * bodySeries + pruneSlack) return;
    for (const [raw, entry] of this.entries) if (entry.seenScrape !== this.scrape) this.entries.delete(raw);
    for (const entry of this.limitProblems.keys()) {
      if (entry.seenScrape !== this.scrape) this.limitProblems.delete(entry);
    }
    // A kept entry must not lead the parser to a forgotten one, whose series may be forgotten too.
    for (const entry of this.entries.values()) {
      const next = entry.next as ScrapeCacheEntry | undefined;
      if (next !== undefined && next.seenScrape !== this.scrape) entry.next = undefined;
    }
    if ((this.first as ScrapeCacheEntry | undefined)?.seenScrape !== this.scrape) this.first = undefined;
    // Kept entries that share a hash were held together when the later one came, so are flagged already.
    this.hashes.clear();
    for (const entry of this.entries.values()) this.hashes.add(entry.hash);
    const gone = [...this.byLabels.values()].filter((series) => series.seenScrape !== this.scrape);
    for (const series of gone) this.byLabels.delete(series);
  }

  /** A copy of `text` that holds no part of a scrape body, one per distinct text within a scrape. */
  private own(text: string): string {
    let copy = this.owned.get(text);
    if (copy === undefined) {
      copy = detachedCopy(text);
      this.owned.set(copy, copy);
    }
    return copy;
  }

  /** Records the hash of `entry`, which `entries` holds already; flags every entry sharing it. */
  private trackHash(entry: ScrapeCacheEntry): void {
    if (!this.hashes.has(entry.hash)) {
      this.hashes.add(entry.hash);
      return;
    }
    for (const other of this.entries.values()) if (other.hash === entry.hash) other.flags |= MAY_ALIAS;
  }

  /** Number of series texts held. */
  get size(): number {
    return this.entries.size;
  }

  private resolve(scraped: Labels): TargetSeries | null {
    const merged = mergeTargetLabels(scraped, this.targetLabels, this.honorLabels === true);
    const labels = this.metricRelabel === undefined ? merged : this.metricRelabel(merged);
    if (labels === null) return null;
    const hash = labelsHash(labels);
    let series = this.byLabels.get(labels, hash);
    if (series === undefined) {
      series = { labels, ref: null, seenScrape: -1, staleScrape: -1 };
      this.byLabels.add(series, hash);
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
