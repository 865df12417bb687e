import type { AppendRejection, AppendResult, Labels, SampleAppender } from '../core/index.js';
import { normalizeLabels, SeriesIndex, type IndexedSeries } from './SeriesIndex.js';
import type { LabelMatcher, SeriesData, SeriesReader } from './SeriesReader.js';

const initialCapacity = 16;

/** One series' samples in growable typed arrays; live samples are [start, end). */
class MemorySeries implements IndexedSeries {
  t = new Float64Array(initialCapacity);
  v = new Float64Array(initialCapacity);
  start = 0;
  end = 0;
  rank = -1;
  constructor(
    readonly ref: number,
    readonly labels: Labels,
  ) {}

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
  private readonly index = new SeriesIndex<MemorySeries>();
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
    let series = this.index.get(normalized);
    if (series === undefined) {
      series = this.createSeries(normalized);
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
    return this.index.size;
  }

  hasMetric(name: string): boolean {
    return this.index.hasMetric(name);
  }

  /** Drops every sample older than t (retention), and every series left without samples. */
  deleteBefore(t: number): void {
    for (const series of [...this.index.all()]) {
      this.samples -= series.dropBefore(t);
      if (series.length === 0) this.index.remove(series);
    }
  }

  select(matchers: readonly LabelMatcher[], minT: number, maxT: number): SeriesData[] {
    if (maxT < minT) return [];
    const found = this.index.sortByLabels(this.index.matching(matchers));
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
    return this.index.labelNames(matchers);
  }

  labelValues(name: string, matchers?: readonly LabelMatcher[]): string[] {
    return this.index.labelValues(name, matchers);
  }

  private reject(reason: AppendRejection): AppendResult {
    this.rejections[reason]++;
    return { ok: false, reason };
  }

  private createSeries(input: Labels): MemorySeries {
    // A private frozen copy: the caller may reuse or change its object after append() returns.
    const series = new MemorySeries(this.nextId++, this.index.canonicalLabels(input));
    this.index.add(series);
    return series;
  }
}
