import { labelsKey, METRIC_NAME_LABEL, sortedLabelNames } from '../core/index.js';
import type { AppendRejection, AppendResult, Labels, SampleAppender } from '../core/index.js';
import { compileMatcher, matchesAll } from './labelMatchers.js';
import type { CompiledMatcher } from './labelMatchers.js';
import type { LabelMatcher, SeriesData, SeriesReader } from './SeriesReader.js';

const initialCapacity = 16;

/** One series' samples in growable typed arrays; live samples are [start, end). */
class MemorySeries {
  t = new Float64Array(initialCapacity);
  v = new Float64Array(initialCapacity);
  start = 0;
  end = 0;
  /** Orders series as Prometheus does (see labelOrderKey). */
  readonly orderKey: string;
  constructor(
    readonly id: number,
    readonly labels: Labels,
    readonly key: string,
  ) {
    this.orderKey = labelOrderKey(labels);
  }

  get length(): number {
    return this.end - this.start;
  }

  get lastT(): number {
    return this.t[this.end - 1] ?? -Infinity;
  }

  push(t: number, v: number): void {
    if (this.end === this.t.length) this.reallocate(Math.max(initialCapacity, this.length * 2));
    this.t[this.end] = t;
    this.v[this.end] = v;
    this.end++;
  }

  /**
   * Moves live samples into fresh arrays. Fresh (not in-place) so that views handed out by select()
   * keep showing the samples they were created over.
   */
  reallocate(capacity: number): void {
    const t = new Float64Array(capacity);
    const v = new Float64Array(capacity);
    t.set(this.t.subarray(this.start, this.end));
    v.set(this.v.subarray(this.start, this.end));
    this.end = this.length;
    this.start = 0;
    this.t = t;
    this.v = v;
  }

  /** First index in [start, end) whose timestamp is >= t. */
  lowerBound(t: number): number {
    let lo = this.start;
    let hi = this.end;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.t[mid] ?? Infinity) < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Drops samples older than t; returns how many were dropped. */
  dropBefore(t: number): number {
    const cut = this.lowerBound(t);
    const dropped = cut - this.start;
    this.start = cut;
    // Reclaim memory once most of the buffer is dead space.
    if (this.length > 0 && this.start > this.t.length / 2)
      this.reallocate(Math.max(initialCapacity, this.length * 2));
    return dropped;
  }
}

/** An in-memory metrics store: typed-array samples per series and an inverted label index. */
export class MemorySeriesStore implements SampleAppender, SeriesReader {
  private readonly byKey = new Map<string, MemorySeries>();
  private readonly byId = new Map<number, MemorySeries>();
  /** label name → label value → ids of series carrying that pair. */
  private readonly postings = new Map<string, Map<string, Set<number>>>();
  private readonly seenMetricNames = new Set<string>();
  private readonly rejections: Record<AppendRejection, number> = {
    out_of_order: 0,
    duplicate: 0,
    invalid_labels: 0,
  };
  private nextId = 1;
  private samples = 0;

  /** Appends one sample; refuses samples that are not newer than the series' last one. */
  append(labels: Labels, timestamp: number, v: number): AppendResult {
    if (!Number.isFinite(timestamp)) {
      throw new RangeError(`sample timestamp must be a finite number of milliseconds, got ${timestamp}`);
    }
    const t = Math.round(timestamp);
    const normalized = normalizeLabels(labels);
    if (normalized === null) return this.reject('invalid_labels');
    const key = labelsKey(normalized);
    let series = this.byKey.get(key);
    if (series === undefined) {
      series = this.createSeries(normalized, key);
    } else {
      const last = series.lastT;
      if (t === last) return this.reject('duplicate');
      if (t < last) return this.reject('out_of_order');
    }
    series.push(t, v);
    this.samples++;
    return { ok: true };
  }

  /** How many samples were refused, by reason, since the store was created. */
  rejectedSamples(): Record<AppendRejection, number> {
    return { ...this.rejections };
  }

  /** Number of samples currently held across all series. */
  sampleCount(): number {
    return this.samples;
  }

  seriesCount(): number {
    return this.byKey.size;
  }

  hasMetric(name: string): boolean {
    return this.seenMetricNames.has(name);
  }

  /** Drops every sample older than t (retention), and every series left without samples. */
  deleteBefore(t: number): void {
    for (const series of [...this.byKey.values()]) {
      this.samples -= series.dropBefore(t);
      if (series.length === 0) this.removeSeries(series);
    }
  }

  select(matchers: readonly LabelMatcher[], minT: number, maxT: number): SeriesData[] {
    if (maxT < minT) return [];
    const found = this.matchingSeries(matchers).sort((a, b) =>
      a.orderKey < b.orderKey ? -1 : a.orderKey > b.orderKey ? 1 : 0,
    );
    const out: SeriesData[] = [];
    for (const series of found) {
      const from = series.lowerBound(minT);
      const to = series.lowerBound(maxT + 1);
      if (to <= from) continue;
      out.push({ labels: series.labels, t: series.t.subarray(from, to), v: series.v.subarray(from, to) });
    }
    return out;
  }

  labelNames(matchers?: readonly LabelMatcher[]): string[] {
    if (matchers === undefined || matchers.length === 0) return [...this.postings.keys()].sort();
    const names = new Set<string>();
    for (const series of this.matchingSeries(matchers))
      for (const name of Object.keys(series.labels)) names.add(name);
    return [...names].sort();
  }

  labelValues(name: string, matchers?: readonly LabelMatcher[]): string[] {
    if (matchers === undefined || matchers.length === 0)
      return [...(this.postings.get(name)?.keys() ?? [])].sort();
    const values = new Set<string>();
    for (const series of this.matchingSeries(matchers)) {
      const value = series.labels[name];
      if (value !== undefined) values.add(value);
    }
    return [...values].sort();
  }

  private reject(reason: AppendRejection): AppendResult {
    this.rejections[reason]++;
    return { ok: false, reason };
  }

  private createSeries(input: Labels, key: string): MemorySeries {
    // A private frozen copy: the caller may reuse or change its object after append() returns.
    const labels = Object.freeze({ ...input });
    const series = new MemorySeries(this.nextId++, labels, key);
    this.byKey.set(key, series);
    this.byId.set(series.id, series);
    for (const [name, value] of Object.entries(labels)) {
      let values = this.postings.get(name);
      if (values === undefined) this.postings.set(name, (values = new Map<string, Set<number>>()));
      let ids = values.get(value);
      if (ids === undefined) values.set(value, (ids = new Set<number>()));
      ids.add(series.id);
    }
    this.seenMetricNames.add(labels[METRIC_NAME_LABEL] ?? '');
    return series;
  }

  private removeSeries(series: MemorySeries): void {
    this.byKey.delete(series.key);
    this.byId.delete(series.id);
    for (const [name, value] of Object.entries(series.labels)) {
      const values = this.postings.get(name);
      const ids = values?.get(value);
      if (values === undefined || ids === undefined) continue;
      ids.delete(series.id);
      if (ids.size === 0) values.delete(value);
      if (values.size === 0) this.postings.delete(name);
    }
  }

  /**
   * Series accepted by every matcher. Matchers that reject the empty value need the label to be present,
   * so their postings narrow the candidates; every candidate is then checked against all matchers.
   */
  private matchingSeries(matchers: readonly LabelMatcher[]): MemorySeries[] {
    const compiled = matchers.map(compileMatcher);
    let candidates: Set<number> | null = null;
    for (const m of compiled) {
      if (m.matches('')) continue;
      const ids = this.postingsFor(m);
      candidates = candidates === null ? ids : intersect(candidates, ids);
      if (candidates.size === 0) return [];
    }
    const out: MemorySeries[] = [];
    if (candidates === null) {
      for (const series of this.byKey.values()) if (matchesAll(compiled, series.labels)) out.push(series);
      return out;
    }
    for (const id of candidates) {
      const series = this.byId.get(id);
      if (series !== undefined && matchesAll(compiled, series.labels)) out.push(series);
    }
    return out;
  }

  private postingsFor(m: CompiledMatcher): Set<number> {
    const values = this.postings.get(m.name);
    if (values === undefined) return new Set();
    if (m.matcher.type === '=') return values.get(m.matcher.value) ?? new Set();
    const ids = new Set<number>();
    for (const [value, valueIds] of values) if (m.matches(value)) for (const id of valueIds) ids.add(id);
    return ids;
  }
}

function intersect(a: Set<number>, b: Set<number>): Set<number> {
  const [small, large] = a.size <= b.size ? [a, b] : [b, a];
  const out = new Set<number>();
  for (const id of small) if (large.has(id)) out.add(id);
  return out;
}

/**
 * A string whose plain comparison orders label sets like Prometheus's labels.Compare: sorted names, each
 * followed by a separator below every printable character, so "a" sorts before "ab" and "1" before "10".
 */
function labelOrderKey(labels: Labels): string {
  let key = '';
  for (const name of sortedLabelNames(labels)) key += `${name}\x00${labels[name]}\x01`;
  return key;
}

/** Drops empty-valued labels (Prometheus treats them as absent); null when the set is unusable. */
function normalizeLabels(labels: Labels): Labels | null {
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
