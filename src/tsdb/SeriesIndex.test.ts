import { describe, expect, it } from 'vitest';
import type { Labels } from '../core/index.js';
import { compileMatcher, matchesAll } from './labelMatchers.js';
import { SeriesIndex, type IndexedSeries } from './SeriesIndex.js';
import type { LabelMatcher } from './SeriesReader.js';

function series(ref: number, labels: Labels): IndexedSeries {
  return { ref, labels, rank: -1 };
}

/** A fleet where label values repeat at different rates, so postings of very different lengths meet. */
function fleetLabels(i: number): Labels {
  return {
    __name__: i % 3 === 0 ? 'up' : 'http_requests_total',
    job: i % 10 === 0 ? 'db' : 'api',
    instance: `host-${i % 37}`,
    id: String(i),
    ...(i % 2 === 0 ? { code: String(200 + (i % 5)) } : {}),
  };
}

const matcherSets: LabelMatcher[][] = [
  [{ name: '__name__', type: '=', value: 'up' }],
  [
    { name: 'job', type: '=', value: 'db' },
    { name: 'instance', type: '=', value: 'host-3' },
  ],
  [
    { name: '__name__', type: '=', value: 'http_requests_total' },
    { name: 'code', type: '=~', value: '20[13]' },
  ],
  [
    { name: 'instance', type: '=~', value: 'host-1.*' },
    { name: 'code', type: '!=', value: '200' },
  ],
  [{ name: 'code', type: '!~', value: '.+' }],
  [{ name: 'id', type: '=~', value: '1.' }],
  [
    { name: 'job', type: '=', value: 'api' },
    { name: 'instance', type: '!~', value: 'host-[0-2]' },
  ],
];

/** What matching() must return: every held series all matchers accept, by a scan without the index. */
function bruteForce(held: Iterable<IndexedSeries>, matchers: readonly LabelMatcher[]): number[] {
  const compiled = matchers.map(compileMatcher);
  return [...held]
    .filter((s) => matchesAll(compiled, s.labels))
    .map((s) => s.ref)
    .sort((a, b) => a - b);
}

const refsOf = (found: readonly IndexedSeries[]) => found.map((s) => s.ref).sort((a, b) => a - b);

describe('SeriesIndex postings', () => {
  it('finds exactly the series every matcher accepts, through series added, removed and re-added', () => {
    const index = new SeriesIndex<IndexedSeries>();
    const held = new Map<number, IndexedSeries>();
    const add = (s: IndexedSeries) => {
      index.add(s);
      held.set(s.ref, s);
    };
    const check = () => {
      for (const matchers of matcherSets)
        expect(refsOf(index.matching(matchers)), JSON.stringify(matchers)).toEqual(
          bruteForce(held.values(), matchers),
        );
    };
    // Refs arrive out of order too (as after a WAL replay), not only ascending.
    for (let i = 1; i <= 2000; i++) add(series(i % 7 === 0 ? 4000 - i : i, fleetLabels(i)));
    check();
    // Retention removes many series at once; postings must forget them before the next read.
    for (const s of [...held.values()]) {
      if (s.ref % 3 === 0) continue;
      index.remove(s);
      held.delete(s.ref);
    }
    check();
    // A removed ref added again (same labels) must be listed once, and a new label value must appear.
    for (let i = 1; i <= 60; i++) if (!held.has(i)) add(series(i, fleetLabels(i)));
    add(series(5000, { __name__: 'up', job: 'db', instance: 'host-new' }));
    check();
    expect(index.size).toBe(held.size);
  });

  it('forgets label names and values once no held series has them', () => {
    const index = new SeriesIndex<IndexedSeries>();
    const a = series(1, { __name__: 'up', job: 'api', zone: 'eu' });
    const b = series(2, { __name__: 'up', job: 'db' });
    index.add(a);
    index.add(b);
    expect(index.labelNames()).toEqual(['__name__', 'job', 'zone']);
    index.remove(a);
    expect(index.labelNames()).toEqual(['__name__', 'job']);
    expect(index.labelValues('job')).toEqual(['db']);
    expect(index.labelValues('zone')).toEqual([]);
    expect(index.matching([{ name: 'zone', type: '=', value: 'eu' }])).toEqual([]);
    expect(index.matching([{ name: 'job', type: '=~', value: 'api|db' }])).toEqual([b]);
  });
});
