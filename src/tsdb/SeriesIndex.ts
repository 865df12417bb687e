import { assignLabel, detachedCopy, LabelsMap, METRIC_NAME_LABEL, sortedLabelNames } from '../core/index.js';
import type { Labels } from '../core/index.js';
import { compileMatcher, matchesAll } from './labelMatchers.js';
import type { CompiledMatcher } from './labelMatchers.js';
import type { LabelMatcher } from './SeriesReader.js';

/** Numbers per sealed chunk in TsdbSeries.chunks: file seq, offset, record length, minT, maxT, count. */
export const chunkMetaSize = 6;

/** The chunks of a series that has sealed none: shared and frozen, so a push onto it fails loudly. */
export const noChunks: number[] = Object.freeze([]) as unknown as number[];

/**
 * One series: where its sealed chunks are on disk, and the slot of the store's HeadChunks that holds its open
 * head chunk and last timestamp.
 */
export class TsdbSeries {
  /** Sealed chunks, oldest first, flattened (see chunkMetaSize): no object per chunk; noChunks when none. */
  chunks: number[] = noChunks;
  /** Position in label order when ranks were last assigned; -1 until then (see SeriesIndex.sortByLabels). */
  rank = -1;
  constructor(
    readonly ref: number,
    readonly labels: Labels,
    readonly slot: number,
  ) {}
}

/** What the index needs of a series: a number, its labels and a rank slot. */
export interface IndexedSeries {
  readonly ref: number;
  readonly labels: Labels;
  /** Set by the index: ranks of series agree with the order of their labels; -1 when not yet ranked. */
  rank: number;
}

/**
 * Orders series like Prometheus's labels.Compare. Ranks, where both series have one, agree with that order,
 * so mixing ranks and keys is still one order; keys (see labelOrderKey) are built only for series without a
 * rank, once per sort, rather than kept per series (a key is about as large as the labels it spells).
 */
function seriesOrder<S extends IndexedSeries>(): (a: S, b: S) => number {
  const keys = new Map<S, string>();
  const keyOf = (s: S): string => {
    let key = keys.get(s);
    if (key === undefined) keys.set(s, (key = labelOrderKey(s.labels)));
    return key;
  };
  return (a, b) => {
    if (a.rank >= 0 && b.rank >= 0) return a.rank - b.rank;
    const x = keyOf(a);
    const y = keyOf(b);
    return x < y ? -1 : x > y ? 1 : 0;
  };
}

/**
 * The refs of the series with one label value, ascending. A plain array of small integers costs 8 bytes a
 * series; a Set of series cost about 25 (and every series is in one per label).
 */
type Postings = number[];

const noPostings: readonly number[] = [];

/** Series interned by label set, with an inverted index label name → value → series refs. */
export class SeriesIndex<S extends IndexedSeries = TsdbSeries> {
  private readonly byLabels = new LabelsMap<S>((series) => series.labels);
  private readonly byRef = new Map<number, S>();
  private readonly postings = new Map<string, Map<string, Postings>>();
  /**
   * Label name → values whose postings may still hold refs of removed series. Removing refs one at a time
   * would cost a scan of the list per series (retention removes many at once), so they are compacted in one
   * pass before the index is next read or added to.
   */
  private readonly stale = new Map<string, Set<string>>();
  private readonly seenMetricNames = new Set<string>();
  /** One copy of each label name and value in use, with how many series use it. */
  private readonly strings = new Map<string, InternedString>();
  private unranked = 0;

  /** The series with these labels (in any order, no empty values), if held. */
  get(labels: Labels): S | undefined {
    return this.byLabels.get(labels);
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
    return series.sort(seriesOrder<S>());
  }

  private assignRanks(): void {
    for (const series of this.byRef.values()) series.rank = -1;
    const all = [...this.byRef.values()].sort(seriesOrder<S>());
    for (let i = 0; i < all.length; i++) (all[i] as S).rank = i;
    this.unranked = 0;
  }

  /**
   * A frozen copy of `labels` for a new series: names in sorted order (so label sets share hidden classes)
   * and names and values shared with series already held, instead of one copy of each string per series.
   */
  canonicalLabels(labels: Labels): Labels {
    const names = sortedLabelNames(labels);
    // JSON.parse builds an object holding all its properties inside itself; objects built by fromEntries or
    // assignment keep those past the fourth in a separate array, about 30 bytes more per series. JSON also
    // keeps a label named "__proto__" an own property (and assignLabel sets it as one).
    const blank = Object.fromEntries(names.map((name) => [this.intern(name), '']));
    const out = JSON.parse(JSON.stringify(blank)) as Record<string, string>;
    for (const name of names) assignLabel(out, name, this.intern(labels[name] ?? ''));
    return Object.freeze(out);
  }

  private intern(value: string): string {
    let entry = this.strings.get(value);
    if (entry === undefined) {
      // A fresh flat copy: a parsed label value may be a slice that keeps the whole scrape body alive.
      const copy = detachedCopy(value);
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

  /** Adds a series to the index; its ref must be a positive integer below 2^31 that no held series has. */
  add(series: S): void {
    // A removed series' ref may still be listed; compacting first keeps a re-added ref from being listed twice.
    this.compactPostings();
    series.rank = -1;
    this.unranked++;
    this.byLabels.add(series);
    this.byRef.set(series.ref, series);
    for (const [name, value] of Object.entries(series.labels)) {
      let values = this.postings.get(name);
      if (values === undefined) this.postings.set(name, (values = new Map<string, Postings>()));
      const refs = values.get(value);
      if (refs === undefined) values.set(value, [series.ref]);
      else insertSorted(refs, series.ref);
      this.use(name, 1);
      this.use(value, 1);
    }
    this.seenMetricNames.add(series.labels[METRIC_NAME_LABEL] ?? '');
  }

  /** Removes a series from the index. */
  remove(series: S): void {
    if (this.byRef.get(series.ref) !== series) return;
    this.byLabels.delete(series);
    this.byRef.delete(series.ref);
    for (const [name, value] of Object.entries(series.labels)) {
      this.use(name, -1);
      this.use(value, -1);
      let values = this.stale.get(name);
      if (values === undefined) this.stale.set(name, (values = new Set<string>()));
      values.add(value);
    }
  }

  /** Drops refs of removed series from the postings they were in, and postings left empty. */
  private compactPostings(): void {
    if (this.stale.size === 0) return;
    for (const [name, staleValues] of this.stale) {
      const values = this.postings.get(name);
      if (values === undefined) continue;
      for (const value of staleValues) {
        const refs = values.get(value);
        if (refs === undefined) continue;
        let kept = 0;
        for (const ref of refs) if (this.byRef.has(ref)) refs[kept++] = ref;
        refs.length = kept;
        if (kept === 0) values.delete(value);
      }
      if (values.size === 0) this.postings.delete(name);
    }
    this.stale.clear();
  }

  /** Label names in use, sorted; only those of matching series when matchers are given. */
  labelNames(matchers?: readonly LabelMatcher[]): string[] {
    this.compactPostings();
    if (matchers === undefined || matchers.length === 0) return [...this.postings.keys()].sort();
    const names = new Set<string>();
    for (const series of this.matching(matchers))
      for (const name of Object.keys(series.labels)) names.add(name);
    return [...names].sort();
  }

  /** Values of one label, sorted; only those of matching series when matchers are given. */
  labelValues(name: string, matchers?: readonly LabelMatcher[]): string[] {
    this.compactPostings();
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
    this.compactPostings();
    const compiled = matchers.map(compileMatcher);
    // Postings hold exactly the series a narrowing matcher accepts; only the others are checked per series.
    const unchecked: CompiledMatcher[] = [];
    let candidates: ArrayLike<number> | null = null;
    for (const m of compiled) {
      if (m.matches('')) {
        unchecked.push(m);
        continue;
      }
      const found = this.postingsFor(m);
      candidates = candidates === null ? found : intersectSorted(candidates, found);
      if (candidates.length === 0) return [];
    }
    const out: S[] = [];
    if (candidates === null) {
      for (const series of this.byRef.values())
        if (unchecked.length === 0 || matchesAll(unchecked, series.labels)) out.push(series);
      return out;
    }
    for (let i = 0; i < candidates.length; i++) {
      // Postings were compacted above, so every ref in them is held.
      const series = this.byRef.get(candidates[i] ?? 0) as S;
      if (unchecked.length === 0 || matchesAll(unchecked, series.labels)) out.push(series);
    }
    return out;
  }

  /** Refs of the series `m` accepts, ascending (the index's own array for `=`: read only). */
  private postingsFor(m: CompiledMatcher): ArrayLike<number> {
    const values = this.postings.get(m.name);
    if (values === undefined) return noPostings;
    if (m.matcher.type === '=') return values.get(m.matcher.value) ?? noPostings;
    const lists: Postings[] = [];
    let total = 0;
    for (const [value, refs] of values) {
      if (!m.matches(value)) continue;
      lists.push(refs);
      total += refs.length;
    }
    if (lists.length <= 1) return lists[0] ?? noPostings;
    // A series has one value per label, so the lists are disjoint: concatenate, then sort numerically.
    const union = new Float64Array(total);
    let at = 0;
    for (const refs of lists) {
      union.set(refs, at);
      at += refs.length;
    }
    return union.sort();
  }
}

interface InternedString {
  readonly value: string;
  uses: number;
}

/** Inserts `ref` into ascending `refs`; new series have the highest ref so far, so this is nearly always a push. */
function insertSorted(refs: Postings, ref: number): void {
  let hi = refs.length;
  if (hi === 0 || (refs[hi - 1] ?? 0) < ref) {
    refs.push(ref);
    return;
  }
  let lo = 0;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((refs[mid] ?? 0) < ref) lo = mid + 1;
    else hi = mid;
  }
  if (refs[lo] !== ref) refs.splice(lo, 0, ref);
}

/** The refs in both ascending lists, ascending; binary searches the longer one when the other is much shorter. */
function intersectSorted(a: ArrayLike<number>, b: ArrayLike<number>): number[] {
  const [small, large] = a.length <= b.length ? [a, b] : [b, a];
  const out: number[] = [];
  if (small.length * 16 < large.length) {
    let lo = 0;
    for (let i = 0; i < small.length; i++) {
      const ref = small[i] ?? 0;
      let hi = large.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if ((large[mid] ?? 0) < ref) lo = mid + 1;
        else hi = mid;
      }
      if (lo === large.length) break;
      if (large[lo] === ref) out.push(ref);
    }
    return out;
  }
  let i = 0;
  let j = 0;
  while (i < small.length && j < large.length) {
    const x = small[i] ?? 0;
    const y = large[j] ?? 0;
    if (x === y) {
      out.push(x);
      i++;
      j++;
    } else if (x < y) i++;
    else j++;
  }
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
