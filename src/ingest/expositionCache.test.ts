import { describe, expect, it } from 'vitest';
import type { Labels } from '../core/index.js';
import { parseExposition, type CachedSeriesText, type ExpositionSeriesCache } from './exposition.js';
import { SampleColumns } from './sampleColumns.js';

/** A plain cache that records which texts were added, to see what the parser skipped. */
class MapCache implements ExpositionSeriesCache {
  readonly entries = new Map<string, CachedSeriesText>();
  readonly added: string[] = [];
  hits = 0;
  first: CachedSeriesText | undefined = undefined;

  get(raw: string): CachedSeriesText | undefined {
    const entry = this.entries.get(raw);
    if (entry !== undefined) this.hits++;
    return entry;
  }

  add(raw: string, labels: Labels, hash: number): CachedSeriesText {
    const entry: CachedSeriesText = {
      raw,
      labels,
      name: labels.__name__ ?? '',
      hash,
      next: undefined,
      mayAlias: true,
      parsedIn: 0,
    };
    this.entries.set(raw, entry);
    this.added.push(raw);
    return entry;
  }
}

function parseOk(text: string, cache?: MapCache) {
  const result = parseExposition(text, cache === undefined ? {} : { seriesCache: cache });
  if (!result.ok) throw new Error(result.error.message);
  return result.samples;
}

const body = [
  '# TYPE http_requests_total counter',
  'http_requests_total{method="GET",path="/a \\"q\\" \\\\ x}"} 3',
  'http_requests_total {method="POST"} 4 1700000000000',
  'up 1',
  'empty{a=""} 2',
  '',
].join('\n');

describe('parseExposition with a series cache', () => {
  it('keys the cache by the series text as written and gives the same samples as without a cache', () => {
    const cache = new MapCache();
    const first = parseOk(body, cache);
    expect(cache.added).toEqual([
      'http_requests_total{method="GET",path="/a \\"q\\" \\\\ x}"}',
      'http_requests_total {method="POST"}',
      'up',
      'empty{a=""}',
    ]);
    const plain = parseOk(body);
    expect(first.map(({ labels, value, timestampMs }) => ({ labels, value, timestampMs }))).toEqual(
      plain.map(({ labels, value, timestampMs }) => ({ labels, value, timestampMs })),
    );
    expect(first.every((s) => s.cached !== undefined && s.cached.labels === s.labels)).toBe(true);
  });

  it('reuses the entry for text seen before instead of parsing its labels again', () => {
    const cache = new MapCache();
    const first = parseOk(body, cache);
    const second = parseOk(body.replace(' 3\n', ' 5\n'), cache);
    expect(cache.added).toHaveLength(4);
    // Lines in the same order as last time are found by following the entries' `next` links.
    expect(cache.hits).toBe(0);
    expect(second.map((s) => s.cached)).toEqual(first.map((s) => s.cached));
    expect(second[0]?.cached).toBe(first[0]?.cached);
    expect(second[0]?.value).toBe(5);
    expect(second[1]?.timestampMs).toBe(1700000000000);
  });

  it('finds known series by their text when the order changed, and relinks them', () => {
    const cache = new MapCache();
    parseOk('a 1\nb{x="1"} 2\nc 3\n', cache);
    const reordered = parseOk('c 4\nb{x="1"} 5\nnew 6\na 7\n', cache);
    expect(reordered.map((s) => [s.labels.__name__, s.value])).toEqual([
      ['c', 4],
      ['b', 5],
      ['new', 6],
      ['a', 7],
    ]);
    expect(cache.added).toEqual(['a', 'b{x="1"}', 'c', 'new']);
    expect(cache.hits).toBe(3);
    expect(cache.first?.raw).toBe('c');
    expect(cache.first?.next?.raw).toBe('b{x="1"}');
    expect(cache.entries.get('a')?.next).toBeUndefined();
    // A prefix of a known text is another series, not a hit.
    parseOk('c 1\ncc 2\n', cache);
    const again = parseOk('c 1\ncc 2\n', cache);
    expect(again.map((s) => s.labels.__name__)).toEqual(['c', 'cc']);
  });

  it('still rejects a duplicate series, also when written differently', () => {
    const cache = new MapCache();
    parseOk('m{a="1",b="2"} 1\n', cache);
    const same = parseExposition('m{a="1",b="2"} 1\nm{a="1",b="2"} 2\n', { seriesCache: cache });
    expect(same.ok ? '' : same.error.message).toMatch(/^line 2, column 1: duplicate series/);
    const reordered = parseExposition('m{a="1",b="2"} 1\nm{b="2",a="1"} 2\n', { seriesCache: cache });
    expect(reordered.ok ? '' : reordered.error.message).toMatch(/^line 2, column 1: duplicate series/);
  });

  it('still checks the rest of a line whose series text is cached', () => {
    const cache = new MapCache();
    parseOk('m{a="1"} 1\n', cache);
    const noSpace = parseExposition('m{a="1"}x 1\n', { seriesCache: cache });
    expect(noSpace.ok ? '' : noSpace.error.message).toBe(
      'line 1, column 9: expected a space before the value of "m", got \'x\'',
    );
    const badValue = parseExposition('m{a="1"} one\n', { seriesCache: cache });
    expect(badValue.ok ? '' : badValue.error.message).toMatch(/^line 1, column 10: invalid value 'one'/);
  });

  it('never caches a label block that fails to parse, and fails it the same way every time', () => {
    const cache = new MapCache();
    for (let i = 0; i < 2; i++) {
      const bad = parseExposition('m{a="1",a="2"} 1\n', { seriesCache: cache });
      expect(bad.ok ? '' : bad.error.message).toMatch(/^line 1, column 9: duplicate label "a"/);
      const unterminated = parseExposition('m{a="1\\"} 1\n', { seriesCache: cache });
      expect(unterminated.ok ? '' : unterminated.error.message).toMatch(/unterminated value of label "a"/);
    }
    expect(cache.added).toEqual([]);
  });
});

describe('parseExposition into sample columns', () => {
  it('gives the same samples as objects, reuses the columns, and still finds duplicates', () => {
    const cache = new MapCache();
    const columns = new SampleColumns();
    const many = Array.from({ length: 300 }, (_, i) => `m{i="${i}"} ${i}.5\n`).join('');
    for (const text of [many, body, body]) {
      const result = parseExposition(text, { seriesCache: cache, columns });
      if (!result.ok) throw new Error(result.error.message);
      expect(result.samples).toEqual([]);
      const fromColumns = Array.from({ length: columns.length }, (_, i) => {
        const timestampMs = columns.timestamps[i] ?? Number.NaN;
        return {
          labels: columns.entries[i]?.labels,
          value: columns.values[i],
          ...(Number.isNaN(timestampMs) ? {} : { timestampMs }),
        };
      });
      expect(fromColumns).toEqual(parseOk(text));
      expect(columns.entries).toHaveLength(columns.length);
    }
    const duplicate = parseExposition('a 1\nb 2\na 3\n', { seriesCache: cache, columns });
    expect(duplicate).toMatchObject({ ok: false, error: { line: 3, column: 1 } });
  });
});
