import { describe, expect, it } from 'vitest';
import { formatSeries } from '../core/index.js';
import { MemorySeriesStore } from '../tsdb/index.js';
import { EmbeddedPromqlQuery } from './EmbeddedPromqlQuery.js';
import { formatOpenMetricsFloat, naturalCompare } from './experimentalFunctions.js';
import { maskNewerFunctionNames } from './lezerNodes.js';
import { parseExpr } from './parser.js';
import { appendSeriesNotation } from './seriesNotation.js';

const store = new MemorySeriesStore();
appendSeriesNotation(
  store,
  `
  disk{dev="sda10"} 1x10
  disk{dev="sda9"} 2x10
  disk{dev="sdb1"} 3x10
  lat_bucket{le="1"} 10x10
  lat_bucket{le="2"} 20x10
  lat_bucket{le="+Inf"} 20x10
  wave 1 5 2 5 0 0 3
  ramp 0+10x10
`,
  60_000,
);
const engine = EmbeddedPromqlQuery.create({ reader: store });

async function instant(expr: string, atMs: number): Promise<Array<[string, number]>> {
  const r = await engine.instant(expr, atMs);
  if (!r.ok) throw new Error(`${expr}: ${r.error.message}`);
  if (r.value.resultType === 'scalar') return [['scalar', r.value.result[1]]];
  if (r.value.resultType !== 'vector') throw new Error(`unexpected ${r.value.resultType}`);
  return r.value.result.map((s) => [formatSeries(s.labels), s.value]);
}

describe('start(), end(), range() and step()', () => {
  it('report the bounds of a range query in seconds at every step', async () => {
    const r = await engine.range('end() - start() + step() / 100 + range() * 0', 60_000, 180_000, 60_000);
    expect(r.ok && r.value.resultType === 'matrix' ? r.value.result[0]?.points : r).toEqual([
      [60_000, 120.6],
      [120_000, 120.6],
      [180_000, 120.6],
    ]);
  });

  it('give the evaluation time and a zero step and range in an instant query', async () => {
    expect(await instant('start() + end() + step() + range()', 90_000)).toEqual([['scalar', 180]]);
  });
});

describe('min_of and max_of', () => {
  it('take the smaller or larger scalar and propagate NaN', async () => {
    expect(await instant('min_of(2, -3)', 0)).toEqual([['scalar', -3]]);
    expect(await instant('max_of(scalar(ramp), 5)', 120_000)).toEqual([['scalar', 20]]);
    expect(await instant('max_of(NaN, 5)', 0)).toEqual([['scalar', NaN]]);
  });

  it('are not confused with a metric or a label of the same name', () => {
    expect(maskNewerFunctionNames('min_of(1, 2) + sum by (min_of) (x{a="min_of("})')).toBe(
      'minute(1, 2) + sum by (min_of) (x{a="min_of("})',
    );
    expect(parseExpr('max_of(1)').ok).toBe(false);
    expect(parseExpr('xmin_of(1, 2)').ok).toBe(false);
  });
});

describe('sort_by_label', () => {
  it('orders label values naturally, and _desc reverses it', async () => {
    const names = async (expr: string): Promise<string[]> => (await instant(expr, 0)).map(([n]) => n);
    expect(await names('sort_by_label(disk, "dev")')).toEqual([
      'disk{dev="sda9"}',
      'disk{dev="sda10"}',
      'disk{dev="sdb1"}',
    ]);
    expect(await names('sort_by_label_desc(disk, "dev")')).toEqual([
      'disk{dev="sdb1"}',
      'disk{dev="sda10"}',
      'disk{dev="sda9"}',
    ]);
  });

  it('compares digit runs as numbers and the rest as text', () => {
    expect(naturalCompare('a2', 'a10')).toBe(-1);
    expect(naturalCompare('1.11.3', '1.2.3')).toBe(1);
    expect(naturalCompare('abc', 'abc')).toBe(0);
    expect(naturalCompare('abc', 'abcd')).toBe(-1);
    expect(naturalCompare('99999999999999999999', '100000000000000000000')).toBe(-1);
  });
});

describe('histogram_quantiles', () => {
  it('returns one series per quantile, labelled as OpenMetrics formats the quantile', async () => {
    expect(await instant('histogram_quantiles(lat_bucket, "q", 0.25, 1)', 0)).toEqual([
      ['{q="0.25"}', 0.5],
      ['{q="1.0"}', 2],
    ]);
  });

  it('fails when the quantile label makes two series identical', async () => {
    const r = await engine.instant('histogram_quantiles(lat_bucket, "q", 0.5, 0.5)', 0);
    expect(r.ok ? r.value : r.error.message).toMatch(/same labelset/);
  });

  it('formats quantiles like Go', () => {
    expect([0, 1, 0.5, 1e-5, 123456, 1234567, NaN, -Infinity].map(formatOpenMetricsFloat)).toEqual([
      '0.0',
      '1.0',
      '0.5',
      '1e-05',
      '123456.0',
      '1.234567e+06',
      'NaN',
      '-Inf',
    ]);
  });
});

describe('experimental range functions', () => {
  it('mad_over_time is the median absolute deviation', async () => {
    // wave 1 5 2 5 0 0 3: median 2, deviations 1 3 0 3 2 2 1, their median 2.
    expect(await instant('mad_over_time(wave[7m])', 360_000)).toEqual([['{}', 2]]);
  });

  it('ts_of_*_over_time report sample timestamps, the last one on ties', async () => {
    expect(await instant('ts_of_max_over_time(wave[7m])', 360_000)).toEqual([['{}', 180]]);
    expect(await instant('ts_of_min_over_time(wave[7m])', 360_000)).toEqual([['{}', 300]]);
    expect(await instant('ts_of_first_over_time(wave[3m])', 360_000)).toEqual([['{}', 240]]);
    expect(await instant('ts_of_last_over_time(wave[3m])', 360_000)).toEqual([['{}', 360]]);
  });

  it('double_exponential_smoothing follows a linear trend and rejects bad factors', async () => {
    expect(await instant('double_exponential_smoothing(ramp[5m], 0.5, 0.5)', 600_000)).toEqual([['{}', 100]]);
    const r = await engine.instant('double_exponential_smoothing(ramp[5m], 1, 0.5)', 600_000);
    expect(r.ok ? r.value : r.error.message).toBe(
      'invalid smoothing factor. Expected: 0 < sf < 1, got: 1.000000',
    );
  });
});
