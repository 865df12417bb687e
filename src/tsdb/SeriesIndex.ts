import { METRIC_NAME_LABEL, sortedLabelNames } from '../core/index.js';
import type { Labels } from '../core/index.js';
import { compileMatcher, matchesAll } from './labelMatchers.js';
import type { CompiledMatcher } from './labelMatchers.js';
import type { LabelMatcher } from './SeriesReader.js';
import type { XorEncoder } from './XorChunk.js';

/** Numbers per sealed chunk in TsdbSeries.chunks: file seq, offset, record length, minT, maxT, count. */
export const chunkMetaSize = 6;

/** One series: its open head chunk in memory and where its sealed chunks are on disk. */
export class TsdbSeries {
  head: XorEncoder | null = null;
  /** Sealed chunks, oldest first, flattened (see chunkMetaSize): no object per chunk. */
  chunks: number[] = [];
  lastT = -Infinity;
  /** Position in label order when ranks were last assigned; -1 until then (see SeriesIndex.sortByLabels). */
  rank = -1;
  constructor(
    readonly ref: number,
    readonly labels: Labels,
    /** Unique per label set and ordered like Prometheus's labels.Compare (see labelOrderKey). */
    readonly key: string,
  ) {}
}

/** What the index needs of a series: a number, its labels, its key (see labelOrderKey) and a rank slot. */
export interface IndexedSeries {
  readonly ref: number;
  readonly labels: Labels;
  readonly key: string;
  /** Set by the index: ranks of series agree with the order of their keys; -1 when not yet ranked. */
  rank: number;
}

// Ranks, where both series have one, agree with key order, so mixing the two comparisons is still one order.
function compareSeries(a: IndexedSeries, b: IndexedSeries): number {
  if (a.rank >= 0 && b.rank >= 0) return a.rank - b.rank;
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/** Series interned by label set, with an inverted index label name → value → series. */
export class SeriesIndex<S extends IndexedSeries = TsdbSeries> {
  private readonly byKey = new Map<string, S>();
  private readonly byRef = new Map<number, S>();
  private readonly postings = new Map<string, Map<string, Set<S>>>();
  private readonly seenMetricNames = new Set<string>();
  /** One copy of each label name and value in use, with how many series use it. */
  private readonly strings = new Map<string, InternedString>();
  private unranked = 0;

  /** The series with this key, if held. */
  get(key: string): S | undefined {
    return this.byKey.get(key);
  }

  /** The series with this ref, if held. */
  byReference(ref: number): S | undefined {
    return this.byRef.get(ref);
  }

  /** Every series held. */
  all(): IterableIterator<S> {
    return this.byRef.values();
  }

  /** Number of series held. */
  get size(): number {
    return this.byRef.size;
  }

  /** True when a series with this metric name is or was held. */
  hasMetric(name: string): boolean {
    return this.seenMetricNames.has(name);
  }

  /**
   * Sorts series in place by label set (Prometheus's order). Queries sort thousands of series; comparing
   * long keys dominated that, so series carry a numeric rank, reassigned once many series are new.
   */
  sortByLabels(series: S[]): S[] {
    if (this.unranked > 64 && this.unranked * 8 > this.byRef.size) this.assignRanks();
    return series.sort(compareSeries);
  }

  private assignRanks(): void {
    for (const series of this.byRef.values()) series.rank = -1;
    const all = [...this.byRef.values()].sort(compareSeries);
    for (let i = 0; i < all.length; i++) (all[i] as S).rank = i;
    this.unranked = 0;
  }

  /**
   * A frozen copy of `labels` for a new series: names in sorted order (so label sets share hidden classes)
   * and names and values shared with series already held, instead of one copy of each string per series.
   */
  canonicalLabels(labels: Labels): Labels {
    // fromEntries defines properties, so a label named "__proto__" stays a label (assignment would not).
    const entries = sortedLabelNames(labels).map((name) => [
      this.intern(name),
      this.intern(labels[name] ?? ''),
    ]);
    return Object.freeze(Object.fromEntries(entries) as Record<string, string>);
  }

  private intern(value: string): string {
    let entry = this.strings.get(value);
    if (entry === undefined) {
      // A fresh flat copy: a parsed label value may be a slice that keeps the whole scrape body alive.
      const copy = JSON.parse(JSON.stringify(value)) as string;
      this.strings.set(copy, (entry = { value: copy, uses: 0 }));
    }
    return entry.value;
  }

  private use(value: string, delta: 1 | -1): void {
    const entry = this.strings.get(value);
    if (entry === undefined) return;
    entry.uses += delta;
    if (entry.uses <= 0) this.strings.delete(value);
  }

  /** Adds a series to the index. */
  add(series: S): void {
    series.rank = -1;
    this.unranked++;
    this.byKey.set(series.key, series);
    this.byRef.set(series.ref, series);
    for (const [name, value] of Object.entries(series.labels)) {
      let values = this.postings.get(name);
      if (values === undefined) this.postings.set(name, (values = new Map<string, Set<S>>()));
      let refs = values.get(value);
      if (refs === undefined) values.set(value, (refs = new Set<S>()));
      refs.add(series);
      this.use(name, 1);
      this.use(value, 1);
    }
    this.seenMetricNames.add(series.labels[METRIC_NAME_LABEL] ?? '');
  }

  /** Removes a series from the index. */
  remove(series: S): void {
    this.byKey.delete(series.key);
    this.byRef.delete(series.ref);
    for (const [name, value] of Object.entries(series.labels)) {
      this.use(name, -1);
      this.use(value, -1);
      const values = this.postings.get(name);
      const refs = values?.get(value);
      if (values === undefined || refs === undefined) continue;
      refs.delete(series);
      if (refs.size === 0) values.delete(value);
      if (values.size === 0) this.postings.delete(name);
    }
  }

  /** Label names in use, sorted; only those of matching series when matchers are given. */
  labelNames(matchers?: readonly LabelMatcher[]): string[] {
    if (matchers === undefined || matchers.length === 0) return [...this.postings.keys()].sort();
    const names = new Set<string>();
    for (const series of this.matching(matchers))
      for (const name of Object.keys(series.labels)) names.add(name);
    return [...names].sort();
  }

  /** Values of one label, sorted; only those of matching series when matchers are given. */
  labelValues(name: string, matchers?: readonly LabelMatcher[]): string[] {
    if (matchers === undefined || matchers.length === 0)
      return [...(this.postings.get(name)?.keys() ?? [])].sort();
    const values = new Set<string>();
    for (const series of this.matching(matchers)) {
      const value = series.labels[name];
      if (value !== undefined) values.add(value);
    }
    return [...values].sort();
  }

  /**
   * Series accepted by every matcher. Matchers that reject the empty value need the label to be present,
   * so their postings narrow the candidates; every candidate is then checked against all matchers.
   */
  matching(matchers: readonly LabelMatcher[]): S[] {
    const compiled = matchers.map(compileMatcher);
    // Postings hold exactly the series a narrowing matcher accepts; only the others are checked per series.
    const unchecked: CompiledMatcher[] = [];
    let candidates: Set<S> | null = null;
    for (const m of compiled) {
      if (m.matches('')) {
        unchecked.push(m);
        continue;
      }
      const found = this.postingsFor(m);
      candidates = candidates === null ? found : intersect(candidates, found);
      if (candidates.size === 0) return [];
    }
    const out: S[] = [];
    for (const series of candidates ?? this.byRef.values())
      if (unchecked.length === 0 || matchesAll(unchecked, series.labels)) out.push(series);
    return out;
  }

  private postingsFor(m: CompiledMatcher): Set<S> {
    const values = this.postings.get(m.name);
    if (values === undefined) return new Set();
    if (m.matcher.type === '=') return values.get(m.matcher.value) ?? new Set();
    const found = new Set<S>();
    for (const [value, series] of values) if (m.matches(value)) for (const s of series) found.add(s);
    return found;
  }
}

interface InternedString {
  readonly value: string;
  uses: number;
}

function intersect<T>(a: Set<T>, b: Set<T>): Set<T> {
  const [small, large] = a.size <= b.size ? [a, b] : [b, a];
  const out = new Set<T>();
  for (const ref of small) if (large.has(ref)) out.add(ref);
  return out;
}

/**
 * A string whose plain comparison orders label sets like Prometheus's labels.Compare: sorted names, each
 * followed by a separator below every printable character, so "a" sorts before "ab" and "1" before "10".
 */
export function labelOrderKey(labels: Labels): string {
  const parts: string[] = [];
  for (const name of sortedLabelNames(labels)) parts.push(name, '\x00', labels[name] ?? '', '\x01');
  // join() gives one flat string; `+=` would keep a tree of partial strings alive for each series.
  return parts.join('');
}

/** Drops empty-valued labels (Prometheus treats them as absent); null when the set is unusable. */
export function normalizeLabels(labels: Labels): Labels | null {
  let clean = true;
  for (const name in labels) {
    if (name === '' || labels[name] === '') clean = false;
  }
  if (clean) return (labels[METRIC_NAME_LABEL] ?? '') === '' ? null : labels;
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(labels)) {
    if (name === '') return null;
    if (value !== '') out[name] = value;
  }
  if ((out[METRIC_NAME_LABEL] ?? '') === '') return null;
  return out;
}
