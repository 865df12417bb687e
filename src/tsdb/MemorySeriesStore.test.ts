import { describe, expect, it } from 'vitest';
import { isStaleNaN, STALE_NAN } from '../core/index.js';
import { MemorySeriesStore } from './MemorySeriesStore.js';
import type { LabelMatcher } from './SeriesReader.js';

const up = (instance: string, job = 'api') => ({ __name__: 'up', job, instance });

function storeWithFleet(): MemorySeriesStore {
  const store = new MemorySeriesStore();
  store.append(up('a:1'), 1000, 1);
  store.append(up('b:1'), 1000, 0);
  store.append(up('c:1', 'db'), 1000, 1);
  store.append({ __name__: 'http_requests_total', job: 'api', code: '200' }, 1000, 10);
  store.append({ __name__: 'http_requests_total', job: 'api', code: '500' }, 1000, 2);
  return store;
}

const eq = (name: string, value: string): LabelMatcher => ({ name, type: '=', value });

describe('MemorySeriesStore appends', () => {
  it('stores samples in order and returns views limited to [minT, maxT]', () => {
    const store = new MemorySeriesStore();
    for (let i = 0; i < 100; i++) expect(store.append(up('a'), i * 1000, i)).toEqual({ ok: true });
    const [series] = store.select([eq('__name__', 'up')], 10_000, 19_000);
    expect(series?.labels).toEqual(up('a'));
    expect(Array.from(series?.t ?? [])).toEqual(
      [10, 11, 12, 13, 14, 15, 16, 17, 18, 19].map((s) => s * 1000),
    );
    expect(Array.from(series?.v ?? [])).toEqual([10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
    expect(series?.t).toBeInstanceOf(Float64Array);
    expect(store.sampleCount()).toBe(100);
  });

  it('rejects out-of-order and duplicate timestamps and counts them by reason', () => {
    const store = new MemorySeriesStore();
    store.append(up('a'), 2000, 1);
    expect(store.append(up('a'), 1000, 1)).toEqual({ ok: false, reason: 'out_of_order' });
    expect(store.append(up('a'), 2000, 5)).toEqual({ ok: false, reason: 'duplicate' });
    expect(store.append(up('a'), 2000, 5)).toEqual({ ok: false, reason: 'duplicate' });
    expect(store.append(up('b'), 1000, 1)).toEqual({ ok: true });
    expect(store.rejectedSamples()).toEqual({ out_of_order: 1, duplicate: 2, invalid_labels: 0 });
    expect(store.sampleCount()).toBe(2);
  });

  it('rejects label sets without a metric name or with an empty label name', () => {
    const store = new MemorySeriesStore();
    expect(store.append({ job: 'api' }, 1, 1)).toEqual({ ok: false, reason: 'invalid_labels' });
    expect(store.append({ __name__: '', job: 'api' }, 1, 1)).toEqual({ ok: false, reason: 'invalid_labels' });
    expect(store.append({ __name__: 'up', '': 'x' }, 1, 1)).toEqual({ ok: false, reason: 'invalid_labels' });
    expect(store.rejectedSamples().invalid_labels).toBe(3);
    expect(store.seriesCount()).toBe(0);
  });

  it('treats an empty label value as absent, whatever the key order', () => {
    const store = new MemorySeriesStore();
    store.append({ __name__: 'up', job: 'api', zone: '' }, 1000, 1);
    expect(store.append({ job: 'api', __name__: 'up' }, 1000, 1)).toEqual({ ok: false, reason: 'duplicate' });
    expect(store.seriesCount()).toBe(1);
  });

  it('keeps the staleness marker bit pattern', () => {
    const store = new MemorySeriesStore();
    store.append(up('a'), 1000, 1);
    store.append(up('a'), 2000, STALE_NAN);
    store.append(up('a'), 3000, NaN);
    const v = store.select([eq('instance', 'a')], 0, 5000)[0]?.v ?? new Float64Array();
    expect(isStaleNaN(v[1] ?? 0)).toBe(true);
    expect(isStaleNaN(v[2] ?? 0)).toBe(false);
    expect(Number.isNaN(v[2])).toBe(true);
  });

  it('does not let the caller change stored labels afterwards', () => {
    const store = new MemorySeriesStore();
    const labels: Record<string, string> = { __name__: 'up', job: 'api' };
    store.append(labels, 1, 1);
    labels.job = 'changed';
    expect(store.labelValues('job')).toEqual(['api']);
  });

  it('refuses a non-finite timestamp as a programming error', () => {
    expect(() => new MemorySeriesStore().append(up('a'), NaN, 1)).toThrow(RangeError);
  });
});

describe('MemorySeriesStore selects', () => {
  it('matches with all four matcher types and sorts results by labels', () => {
    const store = storeWithFleet();
    const names = (m: LabelMatcher[]) =>
      store.select(m, 0, 2000).map((s) => s.labels.instance ?? s.labels.code);
    expect(names([eq('__name__', 'up')])).toEqual(['a:1', 'b:1', 'c:1']);
    expect(names([eq('__name__', 'up'), { name: 'job', type: '!=', value: 'api' }])).toEqual(['c:1']);
    expect(names([eq('__name__', 'up'), { name: 'instance', type: '=~', value: 'a.*|c.*' }])).toEqual([
      'a:1',
      'c:1',
    ]);
    expect(names([eq('__name__', 'up'), { name: 'instance', type: '!~', value: 'a.*' }])).toEqual([
      'b:1',
      'c:1',
    ]);
    expect(names([{ name: '__name__', type: '=~', value: 'http.*' }])).toEqual(['200', '500']);
  });

  it('anchors regular expressions fully', () => {
    const store = storeWithFleet();
    expect(
      store.select([eq('__name__', 'up'), { name: 'instance', type: '=~', value: 'a' }], 0, 2000),
    ).toEqual([]);
    expect(store.select([{ name: 'job', type: '=~', value: 'ap' }], 0, 2000)).toEqual([]);
  });

  it('lets a matcher that accepts the empty value match series without the label', () => {
    const store = storeWithFleet();
    const select = (m: LabelMatcher) => store.select([eq('__name__', 'up'), m], 0, 2000).length;
    expect(select({ name: 'code', type: '=', value: '' })).toBe(3);
    expect(select({ name: 'code', type: '=~', value: '(200)?' })).toBe(3);
    expect(select({ name: 'code', type: '!=', value: '' })).toBe(0);
    expect(select({ name: 'code', type: '!~', value: '' })).toBe(0);
    expect(store.select([{ name: 'code', type: '!=', value: '' }], 0, 2000)).toHaveLength(2);
  });

  it('leaves out series without samples in the range', () => {
    const store = storeWithFleet();
    store.append(up('late'), 50_000, 1);
    expect(store.select([eq('__name__', 'up')], 40_000, 60_000).map((s) => s.labels.instance)).toEqual([
      'late',
    ]);
    expect(store.select([eq('__name__', 'up')], 60_000, 40_000)).toEqual([]);
  });

  it('keeps views stable while the series grows', () => {
    const store = new MemorySeriesStore();
    for (let i = 0; i < 16; i++) store.append(up('a'), i, i);
    const view = store.select([eq('instance', 'a')], 0, 100)[0];
    for (let i = 16; i < 1000; i++) store.append(up('a'), i, i);
    expect(Array.from(view?.v ?? []).slice(-2)).toEqual([14, 15]);
  });

  it('refuses an invalid regular expression with a message naming the matcher', () => {
    expect(() => storeWithFleet().select([{ name: 'job', type: '=~', value: '(api' }], 0, 1)).toThrow(
      /job=~"\(api"/,
    );
  });
});

describe('MemorySeriesStore metadata', () => {
  it('lists label names and values, optionally narrowed by matchers', () => {
    const store = storeWithFleet();
    expect(store.labelNames()).toEqual(['__name__', 'code', 'instance', 'job']);
    expect(store.labelNames([eq('__name__', 'up')])).toEqual(['__name__', 'instance', 'job']);
    expect(store.labelValues('job')).toEqual(['api', 'db']);
    expect(store.labelValues('instance', [eq('job', 'api')])).toEqual(['a:1', 'b:1']);
    expect(store.labelValues('nope')).toEqual([]);
    expect(store.seriesCount()).toBe(5);
  });

  it('knows which metric names it has seen', () => {
    const store = storeWithFleet();
    expect(store.hasMetric('up')).toBe(true);
    expect(store.hasMetric('upp')).toBe(false);
  });
});

describe('MemorySeriesStore retention', () => {
  it('drops old samples and series left empty, and their index entries', () => {
    const store = new MemorySeriesStore();
    for (let i = 0; i < 100; i++) store.append(up('a'), i * 1000, i);
    store.append(up('old'), 5000, 1);
    store.deleteBefore(60_000);
    expect(store.seriesCount()).toBe(1);
    expect(store.sampleCount()).toBe(40);
    expect(store.labelValues('instance')).toEqual(['a']);
    const [series] = store.select([eq('__name__', 'up')], 0, Infinity);
    expect(series?.t[0]).toBe(60_000);
    expect(series?.t.length).toBe(40);
    expect(store.append(up('a'), 100_000, 1)).toEqual({ ok: true });
    expect(store.append(up('a'), 59_000, 1)).toEqual({ ok: false, reason: 'out_of_order' });
  });

  it('forgets nothing it must keep when nothing is old enough', () => {
    const store = storeWithFleet();
    store.deleteBefore(0);
    expect(store.seriesCount()).toBe(5);
    expect(store.sampleCount()).toBe(5);
  });
});
