import { describe, expect, it } from 'vitest';
import { formatSeries } from '../core/index.js';
import { MemorySeriesStore } from '../tsdb/index.js';
import { EmbeddedPromqlQuery } from './EmbeddedPromqlQuery.js';
import { appendSeriesNotation } from './seriesNotation.js';

const store = new MemorySeriesStore();
appendSeriesNotation(
  store,
  `
  temp{room="a", site="x-1"} -2.5x10
  temp{room="b", site="y-2"} 7.5x10
  latency_bucket{job="api", le="0.1"} 10x10
  latency_bucket{job="api", le="0.5"} 50x10
  latency_bucket{job="api", le="1"} 90x10
  latency_bucket{job="api", le="+Inf"} 100x10
  epoch 1700000000x10
  one{a="1"} 1x10
  two{a="1"} 1x10
  two{a="2"} 2x10
`,
  60_000,
);
const engine = EmbeddedPromqlQuery.create({ reader: store });

async function at(expr: string, atMs = 300_000): Promise<Record<string, number>> {
  const r = await engine.instant(expr, atMs);
  if (!r.ok) throw new Error(`${expr}: ${r.error.message}`);
  if (r.value.resultType === 'scalar') return { scalar: r.value.result[1] };
  if (r.value.resultType !== 'vector') throw new Error(`unexpected ${r.value.resultType}`);
  return Object.fromEntries(r.value.result.map((s) => [formatSeries(s.labels), s.value]));
}

async function ordered(expr: string): Promise<string[]> {
  const r = await engine.instant(expr, 300_000);
  if (!r.ok || r.value.resultType !== 'vector') throw new Error(expr);
  return r.value.result.map((s) => `${s.labels.room}=${s.value}`);
}

describe('math functions', () => {
  it('map each value and drop the metric name', async () => {
    expect(await at('abs(temp)')).toEqual({ '{room="a", site="x-1"}': 2.5, '{room="b", site="y-2"}': 7.5 });
    expect(await at('ceil(temp)')).toEqual({ '{room="a", site="x-1"}': -2, '{room="b", site="y-2"}': 8 });
    expect(await at('floor(temp)')).toEqual({ '{room="a", site="x-1"}': -3, '{room="b", site="y-2"}': 7 });
    expect(await at('round(temp)')).toEqual({ '{room="a", site="x-1"}': -2, '{room="b", site="y-2"}': 8 });
    expect(await at('round(temp, 5)')).toEqual({ '{room="a", site="x-1"}': 0, '{room="b", site="y-2"}': 10 });
    expect(await at('sqrt(two)')).toEqual({ '{a="1"}': 1, '{a="2"}': Math.SQRT2 });
    expect(await at('exp(one)')).toEqual({ '{a="1"}': Math.E });
    expect(await at('ln(two{a="2"})')).toEqual({ '{a="2"}': Math.LN2 });
    expect(await at('log2(two)')).toEqual({ '{a="1"}': 0, '{a="2"}': 1 });
    expect(await at('log10(two{a="1"} * 1000)')).toEqual({ '{a="1"}': 3 });
  });

  it('clamp, clamp_min and clamp_max bound values', async () => {
    expect(await at('clamp(temp, 0, 5)')).toEqual({
      '{room="a", site="x-1"}': 0,
      '{room="b", site="y-2"}': 5,
    });
    expect(await at('clamp_min(temp, 0)')).toEqual({
      '{room="a", site="x-1"}': 0,
      '{room="b", site="y-2"}': 7.5,
    });
    expect(await at('clamp_max(temp, 0)')).toEqual({
      '{room="a", site="x-1"}': -2.5,
      '{room="b", site="y-2"}': 0,
    });
    expect(await at('clamp(temp, 5, 0)')).toEqual({});
  });
});

describe('time and conversion functions', () => {
  it('scalar, vector, time and timestamp', async () => {
    expect(await at('scalar(one)')).toEqual({ scalar: 1 });
    expect((await at('scalar(two)')).scalar).toBeNaN();
    expect(await at('vector(3)')).toEqual({ '{}': 3 });
    expect(await at('time()')).toEqual({ scalar: 300 });
    expect(await at('timestamp(one)', 330_000)).toEqual({ '{a="1"}': 300 });
    expect(await at('timestamp(one * 1)', 330_000)).toEqual({ '{a="1"}': 330 });
  });

  it('date functions read values as unix seconds (UTC), or the evaluation time without arguments', async () => {
    // 1700000000 is Tuesday 2023-11-14 22:13:20 UTC.
    expect(await at('day_of_week(epoch)')).toEqual({ '{}': 2 });
    expect(await at('hour(epoch)')).toEqual({ '{}': 22 });
    expect(await at('minute(epoch)')).toEqual({ '{}': 13 });
    expect(await at('month(epoch)')).toEqual({ '{}': 11 });
    expect(await at('year(epoch)')).toEqual({ '{}': 2023 });
    expect(await at('day_of_month(epoch)')).toEqual({ '{}': 14 });
    expect(await at('days_in_month(epoch)')).toEqual({ '{}': 30 });
    expect(await at('day_of_year(epoch)')).toEqual({ '{}': 318 });
    expect(await at('year()')).toEqual({ '{}': 1970 });
    // 66528000 is 1972-02-10, in a leap year.
    expect(await at('days_in_month(vector(66528000))')).toEqual({ '{}': 29 });
  });

  it('absent reports the equality labels of a missing selector', async () => {
    expect(await at('absent(nothing{job="api", env=~"prod"})')).toEqual({ '{job="api"}': 1 });
    expect(await at('absent(one)')).toEqual({});
    expect(await at('absent(sum(nothing))')).toEqual({ '{}': 1 });
  });
});

describe('sorting', () => {
  it('sort and sort_desc order by value', async () => {
    expect(await ordered('sort_desc(temp)')).toEqual(['b=7.5', 'a=-2.5']);
    expect(await ordered('sort(temp)')).toEqual(['a=-2.5', 'b=7.5']);
  });
});

describe('label functions', () => {
  it('label_replace rewrites with capture groups and leaves non-matching series alone', async () => {
    expect(await at('label_replace(temp, "zone", "$1", "site", "(\\\\w)-(\\\\d)")')).toEqual({
      'temp{room="a", site="x-1", zone="x"}': -2.5,
      'temp{room="b", site="y-2", zone="y"}': 7.5,
    });
    expect(await at('label_replace(temp, "zone", "z${2}z", "site", "x-(.*)")')).toEqual({
      'temp{room="a", site="x-1", zone="zz"}': -2.5,
      'temp{room="b", site="y-2"}': 7.5,
    });
    expect(await at('label_replace(one, "a", "", "a", ".*")')).toEqual({ one: 1 });
  });

  it('label_join joins source labels', async () => {
    expect(await at('label_join(temp, "id", "/", "room", "site")')).toEqual({
      'temp{id="a/x-1", room="a", site="x-1"}': -2.5,
      'temp{id="b/y-2", room="b", site="y-2"}': 7.5,
    });
  });

  it('fail when relabelling makes two series identical', async () => {
    const r = await engine.instant('label_replace(two, "a", "same", "a", ".*")', 300_000);
    expect(r).toMatchObject({
      ok: false,
      error: { errorType: 'execution', message: 'vector cannot contain metrics with the same labelset' },
    });
  });
});

describe('classic histograms', () => {
  it('histogram_quantile interpolates within the bucket holding the rank', async () => {
    expect(await at('histogram_quantile(0.5, latency_bucket)')).toEqual({ '{job="api"}': 0.5 });
    expect(await at('histogram_quantile(0.05, latency_bucket)')).toEqual({ '{job="api"}': 0.05 });
    expect(await at('histogram_quantile(0.95, latency_bucket)')).toEqual({ '{job="api"}': 1 });
    expect((await at('histogram_quantile(0.3, sum by (le) (latency_bucket))'))['{}']).toBeCloseTo(0.3, 12);
    expect((await at('histogram_quantile(0.5, latency_bucket{le!="+Inf"})'))['{job="api"}']).toBeNaN();
    expect(await at('histogram_quantile(-1, latency_bucket)')).toEqual({ '{job="api"}': -Infinity });
  });

  it('histogram_fraction estimates the share of observations in a range', async () => {
    expect(await at('histogram_fraction(0, 0.5, latency_bucket)')).toEqual({ '{job="api"}': 0.5 });
    expect(await at('histogram_fraction(0.5, +Inf, latency_bucket)')).toEqual({ '{job="api"}': 0.5 });
  });
});
