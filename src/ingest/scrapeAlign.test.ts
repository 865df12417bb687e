import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { makeTempDir } from '../../test/support/tmp.js';
import { EmbeddedTsdb } from '../tsdb/index.js';
import { ScrapeManager } from './ScrapeManager.js';
import { alignedScrapeTime, scrapeOffsetMs, targetIdentity, type ScrapeTarget } from './scrapeTarget.js';

describe('alignedScrapeTime', () => {
  it('stores a scrape within the tolerance of its tick at the tick, late or early', () => {
    expect(alignedScrapeTime(10_002, 10_000, 1000, 2)).toBe(10_000);
    expect(alignedScrapeTime(9_999, 10_000, 1000, 2)).toBe(10_000);
    expect(alignedScrapeTime(10_000, 10_000, 1000, 2)).toBe(10_000);
  });

  it('keeps the real time outside the tolerance, or with alignment off', () => {
    expect(alignedScrapeTime(10_003, 10_000, 1000, 2)).toBe(10_003);
    expect(alignedScrapeTime(9_997, 10_000, 1000, 2)).toBe(9_997);
    expect(alignedScrapeTime(10_001, 10_000, 1000, 0)).toBe(10_001);
  });

  it('never aligns by more than 1% of the interval', () => {
    expect(alignedScrapeTime(10_010, 10_000, 1000, 50)).toBe(10_000);
    expect(alignedScrapeTime(10_011, 10_000, 1000, 50)).toBe(10_011);
    expect(alignedScrapeTime(10_040, 10_000, 15_000, 50)).toBe(10_000);
  });
});

const cleanups: (() => Promise<void>)[] = [];
const managers: ScrapeManager[] = [];
afterEach(async () => {
  await Promise.all(managers.splice(0).map((m) => m.stop()));
});
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function serve(text: string): Promise<string> {
  const server: Server = createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' });
    res.end(text);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
}

/** Polls until `check` holds; fails with `what` after `timeoutMs`. */
async function waitFor(what: string, check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Runs the scrape loop of one target for two scrapes on a clock that reads exactly 1 ms after a tick of
 * the target's grid whenever the real time is near one, as a timer that fired a little late would see it.
 */
async function loopTimes(
  timestampToleranceMs: number | undefined,
): Promise<{ times: number[]; grid: number[] }> {
  const url = await serve('m 1\n');
  const { dir, remove } = await makeTempDir('scrape-align');
  const db = await EmbeddedTsdb.open({ dir });
  cleanups.push(async () => {
    await db.close();
    await remove();
  });
  const scrapeTarget: ScrapeTarget = {
    job: 'align',
    url,
    labels: {},
    intervalMs: 1000,
    timeoutMs: 900,
    sampleLimit: 0,
    bodyLimitBytes: 0,
    honorLabels: false,
  };
  const interval = scrapeTarget.intervalMs;
  const offset = scrapeOffsetMs(targetIdentity(scrapeTarget), interval);
  const nearestTick = (t: number): number => offset + Math.round((t - offset) / interval) * interval;
  const now = (): number => {
    const real = Date.now();
    const tick = nearestTick(real);
    return Math.abs(real - tick) < 300 ? tick + 1 : real;
  };
  const manager = ScrapeManager.create({
    appender: db,
    now,
    ...(timestampToleranceMs === undefined ? {} : { timestampToleranceMs }),
  });
  managers.push(manager);
  manager.setTargets([scrapeTarget]);
  manager.start();
  const stored = (): number[] => [
    ...(db.select([{ name: '__name__', type: '=', value: 'm' }], 0, Infinity)[0]?.t ?? []),
  ];
  await waitFor('two loop scrapes', () => stored().length >= 2);
  await manager.stop();
  const times = stored();
  return { times, grid: times.map(nearestTick) };
}

describe('ScrapeManager scrape timestamps', () => {
  it('stores loop scrapes that start just after their tick at the tick (default tolerance 2 ms)', async () => {
    const { times, grid } = await loopTimes(undefined);
    expect(times).toEqual(grid);
    expect((times[1] ?? 0) - (times[0] ?? 0)).toBe(1000);
  });

  it('stores them at the time they ran with the tolerance at 0', async () => {
    const { times, grid } = await loopTimes(0);
    expect(times).toEqual(grid.map((t) => t + 1));
  });

  it('refuses a negative tolerance', () => {
    expect(() =>
      ScrapeManager.create({ appender: { append: () => ({ ok: true }) }, timestampToleranceMs: -1 }),
    ).toThrow('timestampToleranceMs -1 must be 0 or more milliseconds');
  });
});
