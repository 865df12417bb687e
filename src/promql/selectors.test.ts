import { describe, expect, it } from 'vitest';
import { formatSeries } from '../core/index.js';
import { MemorySeriesStore } from '../tsdb/index.js';
import { EmbeddedPromqlQuery } from './EmbeddedPromqlQuery.js';
import type { QueryOutcome } from './MetricsQuery.js';
import { appendSeriesNotation } from './seriesNotation.js';

function engineWith(data: string, intervalMs: number, lookbackMs?: number): EmbeddedPromqlQuery {
  const store = new MemorySeriesStore();
  appendSeriesNotation(store, data, intervalMs);
  return EmbeddedPromqlQuery.create({ reader: store, lookbackMs });
}

function vector(r: QueryOutcome): Record<string, number> {
  if (!r.ok) throw new Error(r.error.message);
  if (r.value.resultType !== 'vector') throw new Error(`unexpected ${r.value.resultType}`);
  return Object.fromEntries(r.value.result.map((s) => [formatSeries(s.labels), s.value]));
}

function matrix(r: QueryOutcome): Record<string, Array<readonly [number, number]>> {
  if (!r.ok) throw new Error(r.error.message);
  if (r.value.resultType !== 'matrix') throw new Error(`unexpected ${r.value.resultType}`);
  return Object.fromEntries(r.value.result.map((s) => [formatSeries(s.labels), [...s.points]]));
}

describe('lookback and staleness', () => {
  // One sample a minute for 3 minutes, then nothing; a stale marker ends "stopped" at 2m.
  const engine = engineWith('gone 1 2 3\nstopped 1 2 stale\nlater _ _ _ _ _ _ _ _ _ _ 5', 60_000);

  it('finds the newest sample within the last 5 minutes (left-open window)', async () => {
    expect(vector(await engine.instant('gone', 120_000))).toEqual({ gone: 3 });
    expect(vector(await engine.instant('gone', 419_999))).toEqual({ gone: 3 });
    expect(vector(await engine.instant('gone', 420_000))).toEqual({});
  });

  it('ends a series at its staleness marker', async () => {
    expect(vector(await engine.instant('stopped', 60_000))).toEqual({ stopped: 2 });
    expect(vector(await engine.instant('stopped', 120_000))).toEqual({});
    expect(vector(await engine.instant('stopped', 200_000))).toEqual({});
    expect(vector(await engine.instant('count_over_time(stopped[10m])', 200_000))).toEqual({ '{}': 2 });
  });

  it('honours a configured lookback', async () => {
    const short = engineWith('gone 1 2 3', 60_000, 30_000);
    expect(vector(await short.instant('gone', 149_999))).toEqual({ gone: 3 });
    expect(vector(await short.instant('gone', 150_000))).toEqual({});
  });

  it('shows the gap in a range query', async () => {
    expect(matrix(await engine.range('stopped', 0, 240_000, 60_000))).toEqual({
      stopped: [
        [0, 1],
        [60_000, 2],
      ],
    });
    expect(matrix(await engine.range('gone', 300_000, 600_000, 60_000))).toEqual({
      gone: [
        [300_000, 3],
        [360_000, 3],
      ],
    });
  });
});

describe('offset and @', () => {
  const engine = engineWith('x{a="1"} 0+1x20', 60_000);

  it('offset shifts the evaluation back (or forward when negative)', async () => {
    expect(vector(await engine.instant('x offset 5m', 600_000))).toEqual({ 'x{a="1"}': 5 });
    expect(vector(await engine.instant('x offset -5m', 600_000))).toEqual({ 'x{a="1"}': 15 });
    expect(vector(await engine.instant('sum_over_time(x[2m] offset 5m)', 600_000))).toEqual({ '{a="1"}': 9 });
  });

  it('@ pins selectors to a time, or to the start or end of the query', async () => {
    expect(vector(await engine.instant('x @ 120', 600_000))).toEqual({ 'x{a="1"}': 2 });
    expect(vector(await engine.instant('x @ 120 offset 1m', 600_000))).toEqual({ 'x{a="1"}': 1 });
    expect(matrix(await engine.range('x @ start()', 60_000, 180_000, 60_000))).toEqual({
      'x{a="1"}': [
        [60_000, 1],
        [120_000, 1],
        [180_000, 1],
      ],
    });
    expect(matrix(await engine.range('x - x @ end()', 60_000, 180_000, 60_000))).toEqual({
      '{a="1"}': [
        [60_000, -2],
        [120_000, -1],
        [180_000, 0],
      ],
    });
    expect(matrix(await engine.range('rate(x[2m] @ 300)', 0, 120_000, 60_000))).toEqual({
      '{a="1"}': [
        [0, 1 / 60],
        [60_000, 1 / 60],
        [120_000, 1 / 60],
      ],
    });
  });

  it('timestamp() returns the pinned sample time at every step', async () => {
    expect(matrix(await engine.range('timestamp(x @ 150)', 0, 60_000, 60_000))).toEqual({
      '{a="1"}': [
        [0, 120],
        [60_000, 120],
      ],
    });
  });
});

describe('subqueries', () => {
  const engine = engineWith('x 0+1x20', 60_000);

  it('evaluate the inner expression on a step grid aligned to multiples of the step', async () => {
    // At 10m, [5m:2m] covers (5m, 10m] → inner steps 6m, 8m, 10m with values 6, 8, 10.
    expect(vector(await engine.instant('sum_over_time(x[5m:2m])', 600_000))).toEqual({ '{}': 24 });
    expect(vector(await engine.instant('max_over_time(rate(x[2m])[5m:])', 600_000))).toEqual({
      '{}': 1 / 60,
    });
  });

  it('return the inner points as a range vector at the top level', async () => {
    const r = await engine.instant('x[5m:2m]', 600_000);
    expect(r.ok && r.value.resultType === 'matrix' ? r.value.result : null).toEqual([
      {
        labels: { __name__: 'x' },
        points: [
          [360_000, 6],
          [480_000, 8],
          [600_000, 10],
        ],
      },
    ]);
  });
});

describe('query shapes', () => {
  const engine = engineWith('b{i="2"} 1x5\na{i="1"} 2x5\nwide 1 2 3 4 5 6', 60_000);

  it('return a range vector with its raw samples in (t - range, t]', async () => {
    const r = await engine.instant('wide[2m]', 300_000);
    expect(r.ok && r.value.resultType === 'matrix' ? r.value.result : null).toEqual([
      {
        labels: { __name__: 'wide' },
        points: [
          [240_000, 5],
          [300_000, 6],
        ],
      },
    ]);
  });

  it('sort range query results by labels and turn scalars into a series without labels', async () => {
    const r = await engine.range('{__name__=~"a|b"}', 0, 60_000, 60_000);
    expect(
      r.ok && r.value.resultType === 'matrix' ? r.value.result.map((s) => s.labels.__name__) : null,
    ).toEqual(['a', 'b']);
    expect(matrix(await engine.range('time() * 2', 0, 60_000, 30_000))).toEqual({
      '{}': [
        [0, 0],
        [30_000, 60],
        [60_000, 120],
      ],
    });
  });

  it('answer strings and scalars as such in instant queries', async () => {
    expect(await engine.instant('"hello"', 5000)).toEqual({
      ok: true,
      value: { resultType: 'string', result: [5000, 'hello'] },
    });
    expect(await engine.instant('1 + 1', 5000)).toEqual({
      ok: true,
      value: { resultType: 'scalar', result: [5000, 2] },
    });
  });

  it('refuse range vectors and strings in range queries', async () => {
    expect(await engine.range('wide[1m]', 0, 60_000, 60_000)).toEqual({
      ok: false,
      error: {
        errorType: 'bad_data',
        message: 'invalid expression type "range vector" for range query, must be Scalar or instant Vector',
      },
    });
    expect(await engine.range('"x"', 0, 60_000, 60_000)).toMatchObject({
      ok: false,
      error: { errorType: 'bad_data' },
    });
    expect(await engine.range('wide', 60_000, 0, 60_000)).toMatchObject({
      ok: false,
      error: { errorType: 'bad_data' },
    });
    expect(await engine.range('wide', 0, 60_000, 0)).toMatchObject({
      ok: false,
      error: { errorType: 'bad_data' },
    });
  });
});
