import { describe, expect, it } from 'vitest';
import { isStaleNaN } from '../core/index.js';
import { MemorySeriesStore } from '../tsdb/index.js';
import { appendSeriesNotation, expandSeriesValues, parseSeriesDescriptor } from './seriesNotation.js';

describe('expandSeriesValues', () => {
  it('expands promtool notation', () => {
    expect(expandSeriesValues('1 _ 0+10x3 5x2 10-2x2 _x2 stale')).toEqual([
      1,
      null,
      0,
      10,
      20,
      30,
      5,
      5,
      5,
      10,
      8,
      6,
      null,
      null,
      'stale',
    ]);
    expect(expandSeriesValues('Inf -Inf 1e3')).toEqual([Infinity, -Infinity, 1000]);
    expect(expandSeriesValues('NaN')[0]).toBeNaN();
  });

  it('refuses malformed values', () => {
    expect(() => expandSeriesValues('1 two')).toThrow(/invalid series value "two"/);
  });
});

describe('appendSeriesNotation', () => {
  it('appends each value at start + n × interval, with staleness markers', () => {
    const store = new MemorySeriesStore();
    appendSeriesNotation(store, 'up{job="a"} 1 _ 3 stale\n# comment\n\nother{x="a b"} 7', 15_000, 1000);
    const [up] = store.select([{ name: '__name__', type: '=', value: 'up' }], 0, Infinity);
    expect(Array.from(up?.t ?? [])).toEqual([1000, 31_000, 46_000]);
    expect(isStaleNaN(up?.v[2] ?? 0)).toBe(true);
    expect(store.labelValues('x')).toEqual(['a b']);
  });

  it('refuses descriptors that are not plain label sets', () => {
    expect(() => parseSeriesDescriptor('up{job=~"a"}')).toThrow(/invalid series descriptor/);
    expect(parseSeriesDescriptor('up{job="a"}')).toEqual({ job: 'a', __name__: 'up' });
  });
});
