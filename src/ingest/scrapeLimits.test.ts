import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { makeTempDir } from '../../test/support/tmp.js';
import { formatSeries, isStaleNaN } from '../core/index.js';
import { EmbeddedTsdb } from '../tsdb/index.js';
import { ScrapeManager } from './ScrapeManager.js';
import { labelLimitProblem } from './scrapeLabels.js';
import { targetProblem, type ScrapeTarget } from './scrapeTarget.js';

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** A real HTTP target serving whatever `body.text` holds at each request. */
async function serveBody(text: string): Promise<{ url: string; body: { text: string } }> {
  const body = { text };
  const server: Server = createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' });
    res.end(body.text);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`, body };
}

async function rig() {
  const { dir, remove } = await makeTempDir('scrape-limits');
  const db = await EmbeddedTsdb.open({ dir });
  const registry = new Registry();
  const clock = { now: 1_700_000_000_000 };
  const manager = ScrapeManager.create({ appender: db, now: () => clock.now, registry });
  cleanups.push(async () => {
    await manager.stop();
    await db.close();
    await remove();
  });
  /** Stored values of every series named `name`, by series, markers as 'stale'. */
  const stored = (name: string): Record<string, (number | 'stale')[]> =>
    Object.fromEntries(
      db
        .select([{ name: '__name__', type: '=', value: name }], 0, Infinity)
        .map((s) => [formatSeries(s.labels), [...s.v].map((v) => (isStaleNaN(v) ? 'stale' : v))]),
    );
  const counter = async (limit: string): Promise<Record<string, number>> => {
    const metric = await registry.getSingleMetric(`swas_scrape_${limit}_limit_exceeded_total`)?.get();
    return Object.fromEntries((metric?.values ?? []).map((v) => [String(v.labels.job), v.value]));
  };
  return { db, manager, clock, stored, counter };
}

function target(url: string, change: Partial<ScrapeTarget> = {}): ScrapeTarget {
  return {
    job: 'app',
    url,
    labels: {},
    intervalMs: 10_000,
    timeoutMs: 5000,
    sampleLimit: 0,
    bodyLimitBytes: 0,
    honorLabels: false,
    ...change,
  };
}

describe('label limits', () => {
  it('fails a scrape whose series has more labels than label_limit, counting target labels', async () => {
    const { url } = await serveBody('ok{a="1"} 1\nwide{a="1",b="2"} 2\n');
    const { manager, stored, counter } = await rig();
    // wide has __name__, a, b, job, instance and env: 6 labels.
    const status = await manager.scrapeOnce(target(url, { labels: { env: 'prod' }, labelLimit: 5 }));
    expect(status).toMatchObject({ health: 'down', samplesScraped: 0 });
    const wide = { __name__: 'wide', a: '1', b: '2', env: 'prod', instance: new URL(url).host, job: 'app' };
    expect(status.lastError).toBe(
      `label_limit exceeded: series ${formatSeries(wide)} has 6 labels, the target allows 5; ` +
        'raise label_limit or drop labels with metric_relabel_configs',
    );
    expect(stored('ok')).toEqual({});
    expect(stored('wide')).toEqual({});
    expect(Object.values(stored('up'))).toEqual([[0]]);
    expect(await counter('label')).toEqual({ app: 1 });
    const ok = await manager.scrapeOnce(target(url, { labels: { env: 'prod' }, labelLimit: 6 }));
    expect(ok).toMatchObject({ health: 'up', lastError: null, samplesScraped: 2 });
  });

  it('fails on a label name or value over its length limit, naming the series and the limit', async () => {
    const { url, body } = await serveBody(`m{a_very_long_label_name="x"} 1\n`);
    const { manager, counter } = await rig();
    const named = await manager.scrapeOnce(target(url, { labelNameLengthLimit: 10 }));
    expect(named.lastError).toMatch(
      /^label_name_length_limit exceeded: label name "a_very_long_label_name" of series m\{.*\} is 22 bytes long, the target allows 10; /,
    );
    body.text = `m{path="/${'é'.repeat(10)}"} 1\n`;
    const valued = await manager.scrapeOnce(target(url, { labelValueLengthLimit: 20 }));
    expect(valued.lastError).toMatch(
      /^label_value_length_limit exceeded: label "path" of series m\{.*\} has a value 21 bytes long, the target allows 20; /,
    );
    expect(await counter('label')).toEqual({ app: 2 });
    expect((await manager.scrapeOnce(target(url, { labelValueLengthLimit: 21 }))).health).toBe('up');
  });

  it('stales the last good series of a target that starts breaking a limit, and leaves other targets alone', async () => {
    const bad = await serveBody('m{a="1"} 1\n');
    const good = await serveBody('n{a="1",b="2"} 1\n');
    const { manager, clock, stored, counter } = await rig();
    const limited = target(bad.url, { labelLimit: 4 });
    expect((await manager.scrapeOnce(limited)).health).toBe('up');
    bad.body.text = 'm{a="1",b="2"} 2\n';
    clock.now += 10_000;
    expect((await manager.scrapeOnce(limited)).health).toBe('down');
    expect((await manager.scrapeOnce(target(good.url, { job: 'other' }))).health).toBe('up');
    expect(Object.values(stored('m'))).toEqual([[1, 'stale']]);
    expect(Object.values(stored('n'))).toEqual([[1]]);
    expect(await counter('label')).toEqual({ app: 1 });
  });

  it('checks the labels as stored: metric relabelling can bring a series under the limit', async () => {
    const { url } = await serveBody('m{a="1",b="2"} 1\n');
    const { manager } = await rig();
    const dropB = (labels: Record<string, string>) => {
      const { b: _dropped, ...rest } = labels;
      return rest;
    };
    const over = await manager.scrapeOnce(target(url, { labelLimit: 4 }));
    expect(over.lastError).toMatch(/^label_limit exceeded/);
    expect((await manager.scrapeOnce(target(url, { labelLimit: 4, metricRelabel: dropB }))).health).toBe(
      'up',
    );
  });

  it('counts sample and body size limit failures by job', async () => {
    const { url } = await serveBody('a 1\nb 2\nc 3\n');
    const { manager, counter } = await rig();
    await manager.scrapeOnce(target(url, { sampleLimit: 2 }));
    await manager.scrapeOnce(target(url, { bodyLimitBytes: 5, job: 'small' }));
    expect(await counter('sample')).toEqual({ app: 1 });
    expect(await counter('body_size')).toEqual({ small: 1 });
    expect(await counter('label')).toEqual({});
  });

  it('refuses negative or fractional limits on a target', () => {
    expect(targetProblem(target('http://127.0.0.1:1/metrics', { labelLimit: -1 }))).toBe(
      'labelLimit -1 must be a whole number, 0 for no limit',
    );
    expect(targetProblem(target('http://127.0.0.1:1/metrics', { labelValueLengthLimit: 1.5 }))).toBe(
      'labelValueLengthLimit 1.5 must be a whole number, 0 for no limit',
    );
  });

  it('cuts a runaway series short in the message', () => {
    const problem = labelLimitProblem(
      { __name__: 'm', a: 'x'.repeat(5000) },
      { count: 0, nameLength: 0, valueLength: 100 },
    );
    expect(problem).toMatch(/^label_value_length_limit exceeded: label "a" of series m\{a="x{180,}…/);
    expect(problem?.length).toBeLessThan(500);
  });
});
