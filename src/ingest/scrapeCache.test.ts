import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { makeTempDir } from '../../test/support/tmp.js';
import { formatSeries, isStaleNaN, labelsHash, type Labels } from '../core/index.js';
import { EmbeddedTsdb } from '../tsdb/index.js';
import { parseExposition } from './exposition.js';
import { appendByRef, isRefAppender, ScrapeCache, type TargetSeries } from './scrapeCache.js';
import { ScrapeManager } from './ScrapeManager.js';
import type { ScrapeTarget } from './scrapeTarget.js';

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** Serves whatever `body.text` holds at the time of each request. */
async function serveBody(): Promise<{ url: string; body: { text: string } }> {
  const body = { text: '' };
  const server: Server = createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' });
    res.end(body.text);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`, body };
}

interface Rig {
  db: EmbeddedTsdb;
  body: { text: string };
  target: ScrapeTarget;
  /** Scrapes `target` (or a variant) at the next 10 s tick. */
  scrape: (variant?: Partial<ScrapeTarget>) => ReturnType<ScrapeManager['scrapeOnce']>;
  /** Every stored series (except the scrape report ones) as `series → values`, markers as 'stale'. */
  stored: () => Record<string, (number | 'stale')[]>;
}

async function rig(): Promise<Rig> {
  const { dir, remove } = await makeTempDir('scrape-cache');
  const db = await EmbeddedTsdb.open({ dir });
  let now = 1_700_000_000_000;
  const manager = ScrapeManager.create({ appender: db, now: () => now });
  cleanups.push(async () => {
    await manager.stop();
    await db.close();
    await remove();
  });
  const { url, body } = await serveBody();
  const target: ScrapeTarget = {
    job: 'app',
    url,
    labels: { instance: 'i' },
    intervalMs: 10_000,
    timeoutMs: 5000,
    sampleLimit: 0,
    bodyLimitBytes: 0,
    honorLabels: false,
  };
  const report = /^(up|scrape_.*)$/;
  return {
    db,
    body,
    target,
    scrape: (variant = {}) => {
      now += 10_000;
      return manager.scrapeOnce({ ...target, ...variant });
    },
    stored: () =>
      Object.fromEntries(
        db
          .select([{ name: '__name__', type: '!~', value: report.source }], 0, Infinity)
          .map((s) => [formatSeries(s.labels), [...s.v].map((v) => (isStaleNaN(v) ? 'stale' : v))]),
      ),
  };
}

const seriesAdded = (db: EmbeddedTsdb): number[] => [
  ...(db.select([{ name: '__name__', type: '=', value: 'scrape_series_added' }], 0, Infinity)[0]?.v ?? []),
];

describe('ScrapeManager on a store with references', () => {
  it("holds the store's copy of a series' labels once it has a reference, not a second one", async () => {
    const { db } = await rig();
    const series: TargetSeries = {
      labels: { __name__: 'm', job: 'app' },
      ref: null,
      seenScrape: -1,
      staleScrape: -1,
    };
    const own = series.labels;
    expect(appendByRef(db, series, 1_700_000_000_000, 1)).toEqual({ ok: true });
    expect(series.ref).not.toBeNull();
    expect(series.labels).toEqual(own);
    expect(series.labels).not.toBe(own);
    expect(series.labels).toBe(db.labelsOf(series.ref ?? -1));
  });

  it('keeps new-series counts and staleness markers while appending by reference', async () => {
    const { db, body, scrape, stored } = await rig();
    expect(isRefAppender(db)).toBe(true);
    body.text = 'a{x="1"} 1\nb 2\n';
    await scrape();
    body.text = 'b 3\na{x="1"} 4\n';
    await scrape();
    body.text = 'b 5\nc 6\nd 7 1700000000000\n';
    await scrape();
    body.text = 'b 8\nc 9\n';
    await scrape();
    expect(stored()).toEqual({
      'a{instance="i", job="app", x="1"}': [1, 4, 'stale'],
      'b{instance="i", job="app"}': [2, 3, 5, 8],
      'c{instance="i", job="app"}': [6, 9],
      'd{instance="i", job="app"}': [7],
    });
    expect(seriesAdded(db)).toEqual([2, 0, 2, 0]);
  });

  it('marks every series stale when a scrape fails, then counts them as new again', async () => {
    const { db, body, scrape, stored } = await rig();
    body.text = 'a 1\n';
    await scrape();
    body.text = 'a{x="unterminated} 1\n';
    expect((await scrape()).health).toBe('down');
    body.text = 'a 2\n';
    await scrape();
    expect(stored()).toEqual({ 'a{instance="i", job="app"}': [1, 'stale', 2] });
    expect(seriesAdded(db)).toEqual([1, 0, 1]);
  });

  it('re-resolves cached series when honor_labels or the metric relabelling changes', async () => {
    const { body, scrape, stored } = await rig();
    body.text = 'm{job="exp",k="v"} 1\n';
    await scrape();
    await scrape({ honorLabels: true });
    const renamed = (labels: Labels): Labels => ({ ...labels, __name__: 'renamed' });
    await scrape({ honorLabels: true, metricRelabel: renamed });
    await scrape({ honorLabels: true, metricRelabel: () => null });
    expect(stored()).toEqual({
      'm{exported_job="exp", instance="i", job="app", k="v"}': [1, 'stale'],
      'm{instance="i", job="exp", k="v"}': [1, 'stale'],
      'renamed{instance="i", job="exp", k="v"}': [1, 'stale'],
    });
  });

  it('counts series that become one after relabelling as duplicates on every scrape', async () => {
    const { body, scrape, stored } = await rig();
    const dropA = (labels: Labels): Labels => {
      const { a: _a, ...rest } = labels;
      return rest;
    };
    body.text = 'm{a="1"} 1\nm{a="2"} 2\n';
    await scrape({ metricRelabel: dropA });
    const status = await scrape({ metricRelabel: dropA });
    expect(status.rejectedSamples.duplicate).toBe(2);
    expect(stored()).toEqual({ 'm{instance="i", job="app"}': [1, 1] });
  });

  it('counts labels the store refuses on every scrape', async () => {
    const { body, scrape, stored } = await rig();
    const noName = (labels: Labels): Labels => ({ ...labels, __name__: '' });
    body.text = 'm 1\nok 2\n';
    await scrape({ metricRelabel: (l) => (l.__name__ === 'm' ? noName(l) : l) });
    const status = await scrape({ metricRelabel: (l) => (l.__name__ === 'm' ? noName(l) : l) });
    expect(status.rejectedSamples.invalidLabels).toBe(2);
    expect(Object.keys(stored())).toEqual(['ok{instance="i", job="app"}']);
  });

  it("finds a series by its labels after holding the store's copy of them", async () => {
    const { db, body, scrape, stored } = await rig();
    body.text = 'a{x="1",y="2"} 1\n';
    await scrape();
    // A new text for the same labels: resolved afresh, it must reach the series already tracked.
    body.text = 'a{y="2",x="1"} 2\n';
    await scrape();
    expect(stored()).toEqual({ 'a{instance="i", job="app", x="1", y="2"}': [1, 2] });
    expect(seriesAdded(db)).toEqual([1, 0]);
  });

  it('keeps finding a series whose labels the store normalizes (an empty value dropped)', async () => {
    const { db, body, scrape, stored } = await rig();
    // Relabelling functions may leave an empty value, which the store drops from its copy of the labels.
    const metricRelabel = (labels: Labels): Labels => ({ ...labels, e: '' });
    body.text = 'a{x="1",y="2"} 1\n';
    await scrape({ metricRelabel });
    body.text = 'a{y="2",x="1"} 2\n';
    await scrape({ metricRelabel });
    expect(stored()).toEqual({ 'a{instance="i", job="app", x="1", y="2"}': [1, 2] });
    expect(seriesAdded(db)).toEqual([1, 0]);
  });

  it('keeps series whose label sets share a hash apart', async () => {
    const { db, body, scrape, stored } = await rig();
    // Found by search: after the target labels are added these two sets have the same labelsHash.
    const stored93151 = { __name__: 'm', i: '93151', instance: 'i', job: 'app' };
    const stored127228 = { ...stored93151, i: '127228' };
    expect(labelsHash(stored93151)).toBe(labelsHash(stored127228));
    body.text = 'm{i="93151"} 1\nm{i="127228"} 2\n';
    await scrape();
    body.text = 'm{i="127228"} 3\n';
    const status = await scrape();
    expect(status.rejectedSamples.duplicate).toBe(0);
    expect(stored()).toEqual({
      'm{i="127228", instance="i", job="app"}': [2, 3],
      'm{i="93151", instance="i", job="app"}': [1, 'stale'],
    });
    expect(seriesAdded(db)).toEqual([2, 0]);
  });

  it('stores a series again after retention forgot it and its reference', async () => {
    const { db, body, scrape, stored } = await rig();
    body.text = 'a 1\n';
    await scrape();
    await db.deleteBefore(Number.MAX_SAFE_INTEGER);
    expect(stored()).toEqual({});
    body.text = 'a 2\n';
    const status = await scrape();
    expect(status.rejectedSamples).toEqual({ outOfOrder: 0, duplicate: 0, invalidLabels: 0 });
    expect(stored()).toEqual({ 'a{instance="i", job="app"}': [2] });
  });
});

describe('ScrapeCache', () => {
  const target = { honorLabels: false } as const;
  const parse = (cache: ScrapeCache, text: string) => {
    cache.beginScrape({ ...target } as ScrapeTarget);
    const result = parseExposition(text, { seriesCache: cache });
    if (!result.ok) throw new Error(result.error.message);
    return result.samples;
  };

  it('resolves a series text once and shares the stored series between texts with equal labels', () => {
    const cache = new ScrapeCache({ job: 'j' });
    const [first] = parse(cache, 'm{a="1",b="2"} 1\n');
    const series = first === undefined ? null : cache.seriesOf(first);
    expect(series?.labels).toEqual({ __name__: 'm', a: '1', b: '2', job: 'j' });
    const [second] = parse(cache, 'm{b="2",a="1"} 2\n');
    expect(second?.cached).not.toBe(first?.cached);
    expect(second === undefined ? undefined : cache.seriesOf(second)).toBe(series);
    const [again] = parse(cache, 'm{a="1",b="2"} 3\n');
    expect(again?.cached).toBe(first?.cached);
    expect(again === undefined ? undefined : cache.seriesOf(again)).toBe(series);
  });

  it('rejects duplicate series in a body whatever it knows of the texts already', () => {
    const cache = new ScrapeCache({ job: 'j' });
    const failure = (text: string) => {
      cache.beginScrape({ ...target } as ScrapeTarget);
      const result = parseExposition(text, { seriesCache: cache });
      return result.ok ? 'ok' : result.error.message;
    };
    expect(parse(cache, 'm{a="1",b="2"} 1\nn 1\n')).toHaveLength(2);
    // Known text twice, first by prediction and then by lookup.
    expect(failure('m{a="1",b="2"} 1\nm{a="1",b="2"} 2\n')).toMatch(/^line 2, column 1: duplicate series/);
    expect(failure('n 1\nm{a="1",b="2"} 2\nn 3\n')).toMatch(/^line 3, column 1: duplicate series/);
    // Equal labels written two ways: a new text, then both known.
    const reordered = 'm{a="1",b="2"} 1\nm{b="2",a="1"} 2\n';
    expect(failure(reordered)).toMatch(/^line 2, column 1: duplicate series/);
    expect(failure(reordered)).toMatch(/^line 2, column 1: duplicate series/);
    expect(failure('m{b="2",a="1"} 1\nn 1\nm{a="1",b="2"} 2\n')).toMatch(/^line 3, column 1: duplicate/);
    expect(failure('n 1\nm{b="2",a="1"} 1\n')).toBe('ok');
  });

  it('tells the parser which texts may share labels with another: those whose hash another has', () => {
    const cache = new ScrapeCache({ job: 'j' });
    const [ab] = parse(cache, 'm{a="1",b="2"} 1\nn 1\n');
    expect(ab?.cached?.mayAlias).toBe(false);
    const [ba, n] = parse(cache, 'm{b="2",a="1"} 1\nn 1\n');
    // Both texts of the set, the earlier one too; the unrelated one stays unflagged.
    expect([ab?.cached?.mayAlias, ba?.cached?.mayAlias, n?.cached?.mayAlias]).toEqual([true, true, false]);
  });

  it('prunes texts and series a scrape no longer has once the cache outgrows the body', () => {
    const cache = new ScrapeCache({ job: 'j' });
    const many = Array.from({ length: 600 }, (_, i) => `m{i="${i}"} 1`).join('\n');
    const before = parse(cache, many).map((sample) => cache.seriesOf(sample));
    expect(cache.size).toBe(600);
    const seen = (samples: ReturnType<typeof parse>) => {
      for (const sample of samples) {
        const series = cache.seriesOf(sample);
        if (series !== null) series.seenScrape = cache.scrape;
      }
    };
    const few = parse(cache, 'm{i="1"} 1\n');
    seen(few);
    cache.prune(few.length);
    expect(cache.size).toBe(1);
    // The kept series is still the same; a forgotten one comes back as a new series.
    const [kept] = parse(cache, 'm{i="1"} 2\n');
    expect(kept === undefined ? undefined : cache.seriesOf(kept)).toBe(before[1]);
    const [back] = parse(cache, 'm{i="2"} 2\n');
    const again = back === undefined ? undefined : cache.seriesOf(back);
    expect(again).not.toBe(before[2]);
    expect(again?.labels).toEqual({ __name__: 'm', i: '2', job: 'j' });
  });

  it('keeps series whose label sets share a hash apart', () => {
    const cache = new ScrapeCache({ job: 'j' });
    // Found by search: with the target label job="j" these two sets have the same labelsHash.
    expect(labelsHash({ __name__: 'm', i: '4747', job: 'j' })).toBe(
      labelsHash({ __name__: 'm', i: '32039', job: 'j' }),
    );
    const resolve = (text: string) => parse(cache, text).map((sample) => cache.seriesOf(sample));
    const [a, b] = resolve('m{i="4747"} 1\nm{i="32039"} 2\n');
    expect(a?.labels).toEqual({ __name__: 'm', i: '4747', job: 'j' });
    expect(b?.labels).toEqual({ __name__: 'm', i: '32039', job: 'j' });
    // New texts of both sets reach their own series.
    const [b2, a2] = resolve('m{ i="32039" } 1\nm{ i="4747" } 2\n');
    expect(a2).toBe(a);
    expect(b2).toBe(b);
  });

  it('checks label limits once per text while they stay the same', () => {
    const cache = new ScrapeCache({ job: 'j' });
    const check = (text: string, labelLimit: number) => {
      cache.beginScrape({ ...target, labelLimit } as ScrapeTarget);
      const result = parseExposition(text, { seriesCache: cache, columns: cache.columns });
      if (!result.ok) throw new Error(result.error.message);
      return cache.labelLimitProblem(result.samples, cache.columns);
    };
    const body = 'ok 1\nwide{a="1",b="2"} 1\n';
    const problem = check(body, 3);
    expect(problem).toMatch(/^label_limit exceeded: series wide\{a="1", b="2", job="j"\} has 4 labels/);
    expect(check(body, 3)).toBe(problem);
    expect(check(body, 4)).toBeNull();
    expect(check(body, 4)).toBeNull();
    expect(check(body, 3)).toBe(problem);
    expect(check('ok 1\n', 3)).toBeNull();
  });
});
