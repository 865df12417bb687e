import { describe, expect, it } from 'vitest';
import { mergeTargetLabels } from './scrapeLabels.js';
import {
  finalTargetLabels,
  firstGridTick,
  nextGridTick,
  scrapeOffsetMs,
  targetIdentity,
  targetProblem,
  type ScrapeTarget,
} from './scrapeTarget.js';

const base: ScrapeTarget = {
  job: 'node',
  url: 'http://web-1:9100/metrics',
  labels: {},
  intervalMs: 15_000,
  timeoutMs: 10_000,
  sampleLimit: 0,
  bodyLimitBytes: 0,
  honorLabels: false,
};

describe('targetProblem', () => {
  it('accepts a sound target', () => {
    expect(targetProblem(base)).toBeNull();
  });

  it.each([
    [{ url: 'not a url' }, 'url "not a url" is not a valid URL; expected e.g. http://host:9100/metrics'],
    [{ url: 'ftp://web-1/metrics' }, 'uses ftp:; expected http: or https:'],
    [{ job: '' }, 'job is empty'],
    [{ intervalMs: 999 }, 'intervalMs 999 is too short; expected at least 1000'],
    [{ timeoutMs: 20_000 }, 'timeoutMs 20000 must be above 0 and at most intervalMs 15000'],
    [{ timeoutMs: 0 }, 'timeoutMs 0 must be above 0'],
    [{ sampleLimit: -1 }, 'sampleLimit -1 must be a whole number'],
    [{ bodyLimitBytes: 1.5 }, 'bodyLimitBytes 1.5 must be a whole number'],
    [{ labels: { 'bad-name': 'x' } }, 'target label "bad-name" is not a valid label name'],
    [{ labels: { __name__: 'x' } }, 'target label "__name__" is not a valid label name'],
  ])('rejects %j', (change, message) => {
    expect(targetProblem({ ...base, ...change })).toContain(message);
  });
});

describe('finalTargetLabels', () => {
  it('adds job and instance with the port, filling in the scheme default', () => {
    expect(finalTargetLabels(base)).toEqual({ job: 'node', instance: 'web-1:9100' });
    expect(finalTargetLabels({ ...base, url: 'https://example.com/metrics' }).instance).toBe(
      'example.com:443',
    );
    expect(finalTargetLabels({ ...base, url: 'http://[::1]/m' }).instance).toBe('[::1]:80');
  });

  it('keeps job and instance given as target labels', () => {
    expect(finalTargetLabels({ ...base, labels: { instance: 'web-1', job: 'custom', env: 'prod' } })).toEqual(
      {
        job: 'custom',
        instance: 'web-1',
        env: 'prod',
      },
    );
  });
});

describe('targetIdentity and scrapeOffsetMs', () => {
  it('ignores label order and interval, and spreads offsets inside the interval', () => {
    const a = targetIdentity({ ...base, labels: { a: '1', b: '2' } });
    expect(targetIdentity({ ...base, labels: { b: '2', a: '1' }, intervalMs: 1000 })).toBe(a);
    expect(targetIdentity({ ...base, url: 'http://web-2:9100/metrics' })).not.toBe(targetIdentity(base));
    const offset = scrapeOffsetMs(a, 15_000);
    expect(offset).toBeGreaterThanOrEqual(0);
    expect(offset).toBeLessThan(15_000);
    expect(scrapeOffsetMs(a, 15_000)).toBe(offset);
  });
});

describe('grid ticks', () => {
  it('finds the first tick at or after now on the offset grid', () => {
    expect(firstGridTick(10_250, 1000, 300)).toBe(10_300);
    expect(firstGridTick(10_300, 1000, 300)).toBe(10_300);
    expect(firstGridTick(10_301, 1000, 300)).toBe(11_300);
  });

  it('keeps to the grid when a timer fires late or early, and skips ticks a slow scrape overran', () => {
    expect(nextGridTick(10_300, 10_420, 1000)).toBe(11_300);
    expect(nextGridTick(10_300, 10_299, 1000)).toBe(11_300);
    expect(nextGridTick(10_300, 11_300, 1000)).toBe(12_300);
    expect(nextGridTick(10_300, 13_050, 1000)).toBe(13_300);
  });
});

describe('mergeTargetLabels', () => {
  const target = { job: 'node', instance: 'web-1:9100', env: 'prod' };

  it('renames clashing scraped labels to exported_<name> when not honoring labels', () => {
    const scraped = { __name__: 'a', job: 'other', env: 'scraped', exported_env: 'taken', x: '1' };
    expect(mergeTargetLabels(scraped, target, false)).toEqual({
      __name__: 'a',
      job: 'node',
      instance: 'web-1:9100',
      env: 'prod',
      exported_job: 'other',
      exported_env: 'taken',
      exported_exported_env: 'scraped',
      x: '1',
    });
  });

  it('lets scraped labels win when honoring labels', () => {
    const scraped = { __name__: 'a', job: 'other', env: 'scraped' };
    expect(mergeTargetLabels(scraped, target, true)).toEqual({
      __name__: 'a',
      job: 'other',
      instance: 'web-1:9100',
      env: 'scraped',
    });
  });
});
