import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  formatSeries,
  InputError,
  isStaleNaN,
  labelsKey,
  type AppendResult,
  type Labels,
  type SampleAppender,
} from '../core/index.js';
import { SCRAPE_ACCEPT_HEADER } from './scrapeHttp.js';
import { ScrapeManager } from './ScrapeManager.js';
import type { ScrapeTarget } from './scrapeTarget.js';

interface Appended {
  readonly series: string;
  readonly labels: Labels;
  readonly t: number;
  readonly v: number;
}

/** An in-memory store that refuses out-of-order and same-timestamp samples per series, like a TSDB head. */
class ArraySampleAppender implements SampleAppender {
  readonly samples: Appended[] = [];
  private readonly newest = new Map<string, number>();

  append(labels: Labels, t: number, v: number): AppendResult {
    const key = labelsKey(labels);
    const newest = this.newest.get(key);
    if (newest !== undefined && t < newest) return { ok: false, reason: 'out_of_order' };
    if (newest === t) return { ok: false, reason: 'duplicate' };
    this.newest.set(key, t);
    this.samples.push({ series: formatSeries(labels), labels, t, v });
    return { ok: true };
  }

  named(name: string): Appended[] {
    return this.samples.filter((s) => s.labels.__name__ === name);
  }

  at(t: number): Appended[] {
    return this.samples.filter((s) => s.t === t);
  }
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

const servers: Server[] = [];
const managers: ScrapeManager[] = [];

/** Starts a real HTTP server on 127.0.0.1 and returns the URL of its /metrics path. */
async function serve(handler: Handler): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
}

/** Serves the bodies in turn (the last one repeats), as text/plain. */
async function serveBodies(...bodies: string[]): Promise<{ url: string; requests: IncomingMessage[] }> {
  const requests: IncomingMessage[] = [];
  const url = await serve((req, res) => {
    requests.push(req);
    res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' });
    res.end(bodies[Math.min(requests.length - 1, bodies.length - 1)]);
  });
  return { url, requests };
}

function target(url: string, change: Partial<ScrapeTarget> = {}): ScrapeTarget {
  return {
    job: 'test',
    url,
    labels: {},
    intervalMs: 5000,
    timeoutMs: 2000,
    sampleLimit: 0,
    bodyLimitBytes: 0,
    honorLabels: false,
    ...change,
  };
}

/** A manager on a hand-moved clock, so sample timestamps are exact. */
function manualManager(): { manager: ScrapeManager; appender: ArraySampleAppender; clock: { now: number } } {
  const appender = new ArraySampleAppender();
  const clock = { now: 1_700_000_000_000 };
  const manager = ScrapeManager.create({ appender, now: () => clock.now });
  managers.push(manager);
  return { manager, appender, clock };
}

function instanceOf(url: string): string {
  return new URL(url).host;
}

afterEach(async () => {
  await Promise.all(managers.splice(0).map((m) => m.stop()));
});

afterAll(async () => {
  for (const server of servers) server.closeAllConnections();
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
});

describe('ScrapeManager.scrapeOnce', () => {
  it('appends scraped samples with target labels, job and instance, at the scrape time', async () => {
    const { url, requests } = await serveBodies('# TYPE a gauge\na{x="1"} 1\nb 2.5\n');
    const { manager, appender, clock } = manualManager();
    const status = await manager.scrapeOnce(target(url, { labels: { env: 'prod' } }));
    const labels = { job: 'test', instance: instanceOf(url), env: 'prod' };
    expect(status).toMatchObject({ health: 'up', lastError: null, samplesScraped: 2, labels });
    expect(appender.named('a')).toEqual([
      {
        series: formatSeries({ __name__: 'a', x: '1', ...labels }),
        labels: { __name__: 'a', x: '1', ...labels },
        t: clock.now,
        v: 1,
      },
    ]);
    expect(appender.named('b')[0]).toMatchObject({
      labels: { __name__: 'b', ...labels },
      t: clock.now,
      v: 2.5,
    });
    expect(requests[0]?.headers.accept).toBe(SCRAPE_ACCEPT_HEADER);
    expect(requests[0]?.headers['x-prometheus-scrape-timeout-seconds']).toBe('2');
  });

  it('renames clashing scraped labels without honor_labels and keeps them with it', async () => {
    const { url } = await serveBodies('a{job="exporter",env="scraped"} 1\n');
    const { manager, appender } = manualManager();
    await manager.scrapeOnce(target(url, { labels: { env: 'prod' } }));
    expect(appender.named('a')[0]?.labels).toEqual({
      __name__: 'a',
      job: 'test',
      instance: instanceOf(url),
      env: 'prod',
      exported_job: 'exporter',
      exported_env: 'scraped',
    });
    await manager.scrapeOnce(target(url, { labels: { env: 'prod' }, honorLabels: true }));
    expect(appender.named('a')[1]?.labels).toEqual({
      __name__: 'a',
      job: 'exporter',
      instance: instanceOf(url),
      env: 'scraped',
    });
  });

  it('adds up, scrape_duration_seconds, scrape_samples_scraped and scrape_series_added', async () => {
    const { url } = await serveBodies('a 1\nb 2\n', 'a 1\nb 2\nc 3\n');
    const { manager, appender, clock } = manualManager();
    const labels = { job: 'test', instance: instanceOf(url) };
    const report = (t: number): Record<string, number> => {
      const out: Record<string, number> = {};
      for (const s of appender.at(t))
        if (/^(up|scrape_)/.test(s.labels.__name__ ?? '')) out[s.labels.__name__ ?? ''] = s.v;
      return out;
    };
    await manager.scrapeOnce(target(url));
    const first = clock.now;
    clock.now += 5000;
    await manager.scrapeOnce(target(url));
    expect(report(first)).toMatchObject({ up: 1, scrape_samples_scraped: 2, scrape_series_added: 2 });
    expect(report(clock.now)).toMatchObject({ up: 1, scrape_samples_scraped: 3, scrape_series_added: 1 });
    expect(report(first).scrape_duration_seconds).toBeGreaterThan(0);
    expect(appender.named('up')[0]?.labels).toEqual({ __name__: 'up', ...labels });
  });

  it('marks a target down with up=0 when it never answers within the timeout', async () => {
    const url = await serve(() => undefined);
    const { manager, appender } = manualManager();
    const status = await manager.scrapeOnce(target(url, { timeoutMs: 300, intervalMs: 1000 }));
    expect(status.health).toBe('down');
    expect(status.lastError).toBe(
      'scrape timed out after 300ms; the target did not answer in time (check it, or raise the timeout)',
    );
    expect(status.lastDurationMs).toBeGreaterThanOrEqual(290);
    expect(appender.named('up').map((s) => s.v)).toEqual([0]);
  });

  it('fails on a status other than 200', async () => {
    const url = await serve((_req, res) => {
      res.writeHead(404);
      res.end('not here');
    });
    const { manager, appender } = manualManager();
    const status = await manager.scrapeOnce(target(url));
    expect(status.lastError).toBe(
      'server returned HTTP status 404 Not Found; expected 200 (check the URL and metrics path)',
    );
    expect(appender.named('up').map((s) => s.v)).toEqual([0]);
  });

  it('reports a refused connection', async () => {
    const url = await serve(() => undefined);
    const server = servers.at(-1);
    await new Promise((resolve) => server?.close(resolve));
    const status = await manualManager().manager.scrapeOnce(target(url));
    expect(status.lastError).toMatch(/^connect ECONNREFUSED 127\.0\.0\.1:\d+$/);
  });

  it('stops reading a body past the limit, even one that never ends', async () => {
    const url = await serve((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      const timer = setInterval(() => res.write(`filler_metric{n="${'x'.repeat(200)}"} 1\n`), 5);
      res.on('close', () => clearInterval(timer));
    });
    const { manager, appender } = manualManager();
    const status = await manager.scrapeOnce(target(url, { bodyLimitBytes: 1000, timeoutMs: 5000 }));
    expect(status.lastError).toBe(
      "body exceeds the limit of 1000 bytes; raise the target's body limit or make the exporter return less",
    );
    expect(appender.named('filler_metric')).toEqual([]);
  });

  it('fails a scrape over the sample limit without appending its samples', async () => {
    const { url } = await serveBodies('a 1\nb 2\nc 3\n');
    const { manager, appender } = manualManager();
    const status = await manager.scrapeOnce(target(url, { sampleLimit: 2 }));
    expect(status.lastError).toBe(
      'sample limit exceeded: the body has 3 samples, the target allows 2; raise the sample limit or make the exporter return fewer series',
    );
    expect(appender.samples.map((s) => s.labels.__name__).sort()).toEqual([
      'scrape_duration_seconds',
      'scrape_samples_scraped',
      'scrape_series_added',
      'up',
    ]);
    expect((await manager.scrapeOnce(target(url, { sampleLimit: 3 }))).health).toBe('up');
  });

  it('rejects a malformed body whole: error with line number, only up=0 and staleness appended', async () => {
    const { url } = await serveBodies('a 1\nb 2\n', 'a 1\nb{code=x} 2\nc 3\n');
    const { manager, appender, clock } = manualManager();
    await manager.scrapeOnce(target(url));
    clock.now += 5000;
    const status = await manager.scrapeOnce(target(url));
    expect(status).toMatchObject({ health: 'down', samplesScraped: 0 });
    expect(status.lastError).toBe(
      `line 2, column 8: expected '"' to start the value of label "code", got 'x'`,
    );
    const second = appender.at(clock.now);
    expect(
      second
        .filter((s) => s.labels.__name__ === 'a' || s.labels.__name__ === 'b')
        .every((s) => isStaleNaN(s.v)),
    ).toBe(true);
    expect(second.map((s) => s.labels.__name__).sort()).toEqual([
      'a',
      'b',
      'scrape_duration_seconds',
      'scrape_samples_scraped',
      'scrape_series_added',
      'up',
    ]);
    expect(appender.named('up').map((s) => s.v)).toEqual([1, 0]);
  });

  it('writes STALE_NAN for a series that disappeared, once', async () => {
    const { url } = await serveBodies('a 1\nb 2\n', 'a 1\n');
    const { manager, appender, clock } = manualManager();
    await manager.scrapeOnce(target(url));
    clock.now += 5000;
    await manager.scrapeOnce(target(url));
    clock.now += 5000;
    await manager.scrapeOnce(target(url));
    const b = appender.named('b');
    expect(b).toHaveLength(2);
    expect(b[0]?.v).toBe(2);
    expect(isStaleNaN(b[1]?.v ?? 0)).toBe(true);
    expect(b[1]?.t).toBe(clock.now - 5000);
    expect(appender.named('a').map((s) => s.v)).toEqual([1, 1, 1]);
  });

  it("uses a sample's own timestamp, does not stale it, and counts the store's refusals", async () => {
    const { url } = await serveBodies('a 1 5000\n', 'a 2 4000\n', 'b 1\n');
    const { manager, appender, clock } = manualManager();
    await manager.scrapeOnce(target(url));
    clock.now += 5000;
    const second = await manager.scrapeOnce(target(url));
    clock.now += 5000;
    await manager.scrapeOnce(target(url));
    expect(appender.named('a')).toMatchObject([{ t: 5000, v: 1 }]);
    expect(second.rejectedSamples).toEqual({ outOfOrder: 1, duplicate: 0, invalidLabels: 0 });
    expect(second.health).toBe('up');
  });

  it('reads OpenMetrics bodies by their content type', async () => {
    const url = await serve((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/openmetrics-text; version=1.0.0; charset=utf-8' });
      res.end('# TYPE a gauge\na 1 1700000000.25\n# EOF\n');
    });
    const { manager, appender } = manualManager();
    await manager.scrapeOnce(target(url));
    expect(appender.named('a')).toMatchObject([{ t: 1_700_000_000_250, v: 1 }]);
  });

  it('rejects a body that is not UTF-8', async () => {
    const url = await serve((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end(Buffer.from([0x61, 0x7b, 0x78, 0x3d, 0x22, 0xff, 0x22, 0x7d, 0x20, 0x31, 0x0a]));
    });
    const status = await manualManager().manager.scrapeOnce(target(url));
    expect(status.lastError).toBe('body is not valid UTF-8; expected UTF-8 text');
  });

  it('marks the target down when the store throws', async () => {
    const { url } = await serveBodies('a 1\n');
    const appender: SampleAppender = {
      append: () => {
        throw new Error('disk full');
      },
    };
    const manager = ScrapeManager.create({ appender });
    const status = await manager.scrapeOnce(target(url));
    expect(status).toMatchObject({ health: 'down', lastError: 'storing samples failed: disk full' });
  });

  it('refuses an invalid target with a typed error', async () => {
    const { manager } = manualManager();
    const bad = target('http://127.0.0.1:1/metrics', { intervalMs: 1000, timeoutMs: 2000 });
    await expect(manager.scrapeOnce(bad)).rejects.toThrow(InputError);
    expect(() => manager.setTargets([target('http://127.0.0.1:1/metrics'), bad])).toThrow(
      'scrape target 2 of 2, http://127.0.0.1:1/metrics (job "test"): timeoutMs 2000 must be above 0 and at most intervalMs 1000',
    );
    expect(manager.status()).toEqual([]);
  });
});

/** Polls until `check` holds; fails the test with `what` after `timeoutMs`. */
async function waitFor(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function upTimes(appender: ArraySampleAppender, url: string): number[] {
  return appender
    .named('up')
    .filter((s) => s.labels.instance === instanceOf(url) && !isStaleNaN(s.v))
    .map((s) => s.t);
}

/** How far each scrape time is from where a drift-free grid through the first one puts it. */
function gridErrors(times: number[], intervalMs: number): number[] {
  const first = times[0] ?? 0;
  return times.map((t, k) => Math.abs(t - first - k * intervalMs));
}

function liveManager(): { manager: ScrapeManager; appender: ArraySampleAppender } {
  const appender = new ArraySampleAppender();
  const manager = ScrapeManager.create({ appender });
  managers.push(manager);
  return { manager, appender };
}

const GRID_TOLERANCE_MS = 250;

describe('ScrapeManager loops', () => {
  it('scrapes on a fixed grid without drift, and a slow target does not delay a fast one', async () => {
    const slow = await serve((_req, res) => {
      // Slower than the tolerance: a loop that waits "interval after the scrape" would drift by this each time.
      setTimeout(() => res.end('slow_metric 1\n'), 400);
    });
    const fast = await serveBodies('fast_metric 1\n');
    const { manager, appender } = liveManager();
    manager.setTargets([
      target(slow, { intervalMs: 1000, timeoutMs: 900 }),
      target(fast.url, { intervalMs: 1000, timeoutMs: 900 }),
    ]);
    manager.start();
    await waitFor('five scrapes of each target', () =>
      [slow, fast.url].every((url) => upTimes(appender, url).length >= 5),
    );
    for (const url of [slow, fast.url]) {
      const times = upTimes(appender, url).slice(0, 5);
      expect(Math.max(...gridErrors(times, 1000)), `scrape times ${times.join(', ')}`).toBeLessThan(
        GRID_TOLERANCE_MS,
      );
    }
    expect(appender.named('slow_metric').every((s) => s.v === 1)).toBe(true);
  });

  it('adds and removes targets without disturbing the unchanged one; a removed target is staled once', async () => {
    const a = await serveBodies('a_metric 1\n');
    const b = await serveBodies('b_metric 1\n');
    const c = await serveBodies('c_metric 1\n');
    const { manager, appender } = liveManager();
    const ta = target(a.url, { intervalMs: 1000, timeoutMs: 900 });
    manager.setTargets([ta, target(b.url, { intervalMs: 1000, timeoutMs: 900 })]);
    manager.start();
    await waitFor(
      'a first scrape of both',
      () => upTimes(appender, a.url).length >= 1 && upTimes(appender, b.url).length >= 1,
    );

    manager.setTargets([{ ...ta }, target(c.url, { intervalMs: 1000, timeoutMs: 900 })]);
    await waitFor('staleness markers for the removed target', () =>
      appender.named('b_metric').some((s) => isStaleNaN(s.v)),
    );
    const bRequests = b.requests.length;
    await waitFor('three more scrapes of the kept target', () => upTimes(appender, a.url).length >= 4);
    await waitFor('a scrape of the added target', () => upTimes(appender, c.url).length >= 1);

    const bSamples = appender.named('b_metric');
    expect(bSamples.filter((s) => isStaleNaN(s.v))).toHaveLength(1);
    expect(isStaleNaN(bSamples.at(-1)?.v ?? 0)).toBe(true);
    const bUp = appender.named('up').filter((s) => s.labels.instance === instanceOf(b.url));
    expect(isStaleNaN(bUp.at(-1)?.v ?? 0)).toBe(true);
    expect(b.requests.length).toBe(bRequests);
    const aTimes = upTimes(appender, a.url);
    expect(Math.max(...gridErrors(aTimes, 1000)), `scrape times ${aTimes.join(', ')}`).toBeLessThan(
      GRID_TOLERANCE_MS,
    );
    expect(
      manager
        .status()
        .map((s) => s.url)
        .sort(),
    ).toEqual([a.url, c.url].sort());
  });

  it('stop() waits for the scrape in flight and ends the loops', async () => {
    let requests = 0;
    const url = await serve((_req, res) => {
      requests++;
      setTimeout(() => res.end('x 1\n'), 300);
    });
    const { manager } = liveManager();
    manager.setTargets([target(url, { intervalMs: 1000, timeoutMs: 900 })]);
    manager.start();
    await waitFor('the first request', () => requests === 1);
    await manager.stop();
    expect(manager.status()[0]).toMatchObject({ health: 'up', samplesScraped: 1 });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(requests).toBe(1);
  });
});
