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
  constructor(
    readonly ref: number,
    readonly labels: Labels,
    /** Unique per label set and ordered like Prometheus's labels.Compare (see labelOrderKey). */
    readonly key: string,
  ) {}
}

/** What the index needs of a series: a number, its labels, and its key (see labelOrderKey). */
export interface IndexedSeries {
  readonly ref: number;
  readonly labels: Labels;
  readonly key: string;
}

/** Series interned by label set, with an inverted index label name → value → series refs. */
export class SeriesIndex<S extends IndexedSeries = TsdbSeries> {
  private readonly byKey = new Map<string, S>();
  private readonly byRef = new Map<number, S>();
  private readonly postings = new Map<string, Map<string, Set<number>>>();
  private readonly seenMetricNames = new Set<string>();

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

  /** Adds a series to the index. */
  add(series: S): void {
    this.byKey.set(series.key, series);
    this.byRef.set(series.ref, series);
    for (const [name, value] of Object.entries(series.labels)) {
      let values = this.postings.get(name);
      if (values === undefined) this.postings.set(name, (values = new Map<string, Set<number>>()));
      let refs = values.get(value);
      if (refs === undefined) values.set(value, (refs = new Set<number>()));
      refs.add(series.ref);
    }
    this.seenMetricNames.add(series.labels[METRIC_NAME_LABEL] ?? '');
  }

  /** Removes a series from the index. */
  remove(series: S): void {
    this.byKey.delete(series.key);
    this.byRef.delete(series.ref);
    for (const [name, value] of Object.entries(series.labels)) {
      const values = this.postings.get(name);
      const refs = values?.get(value);
      if (values === undefined || refs === undefined) continue;
      refs.delete(series.ref);
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
    let candidates: Set<number> | null = null;
    for (const m of compiled) {
      if (m.matches('')) continue;
      const refs = this.postingsFor(m);
      candidates = candidates === null ? refs : intersect(candidates, refs);
      if (candidates.size === 0) return [];
    }
    const out: S[] = [];
    if (candidates === null) {
      for (const series of this.byRef.values()) if (matchesAll(compiled, series.labels)) out.push(series);
      return out;
    }
    for (const ref of candidates) {
      const series = this.byRef.get(ref);
      if (series !== undefined && matchesAll(compiled, series.labels)) out.push(series);
    }
    return out;
  }

  private postingsFor(m: CompiledMatcher): Set<number> {
    const values = this.postings.get(m.name);
    if (values === undefined) return new Set();
    if (m.matcher.type === '=') return values.get(m.matcher.value) ?? new Set();
    const refs = new Set<number>();
    for (const [value, valueRefs] of values) if (m.matches(value)) for (const ref of valueRefs) refs.add(ref);
    return refs;
  }
}

function intersect(a: Set<number>, b: Set<number>): Set<number> {
  const [small, large] = a.size <= b.size ? [a, b] : [b, a];
  const out = new Set<number>();
  for (const ref of small) if (large.has(ref)) out.add(ref);
  return out;
}

/**
 * A string whose plain comparison orders label sets like Prometheus's labels.Compare: sorted names, each
 * followed by a separator below every printable character, so "a" sorts before "ab" and "1" before "10".
 */
export function labelOrderKey(labels: Labels): string {
  let key = '';
  for (const name of sortedLabelNames(labels)) key += `${name}\x00${labels[name]}\x01`;
  return key;
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
