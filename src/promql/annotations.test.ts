import { describe, expect, it } from 'vitest';
import { MemorySeriesStore } from '../tsdb/index.js';
import { Annotations, formatGoFloat } from './annotations.js';
import { EmbeddedPromqlQuery } from './EmbeddedPromqlQuery.js';
import { handleQueryRange } from './httpApi.js';
import { appendSeriesNotation } from './seriesNotation.js';

const store = new MemorySeriesStore();
appendSeriesNotation(
  store,
  `
  lat_bucket{le="1"} 10x10
  lat_bucket{le="2"} 5x10
  lat_bucket{le="+Inf"} 20x10
  odd{le="x"} 1x10
  load 1x10
`,
  60_000,
);
const engine = EmbeddedPromqlQuery.create({ reader: store });

async function annotationsOf(
  expr: string,
  range = false,
): Promise<{ warnings?: string[]; infos?: string[] }> {
  const r = range ? await engine.range(expr, 0, 120_000, 60_000) : await engine.instant(expr, 60_000);
  if (!r.ok) throw new Error(`${expr}: ${r.error.message}`);
  return { ...(r.warnings ? { warnings: r.warnings } : {}), ...(r.infos ? { infos: r.infos } : {}) };
}

describe('query annotations', () => {
  it('warn about a quantile outside [0, 1] at its position', async () => {
    expect(await annotationsOf('histogram_quantile(1.5, lat_bucket)')).toEqual({
      warnings: ['PromQL warning: quantile value should be between 0 and 1, got 1.5 (1:20)'],
    });
    expect(await annotationsOf('quantile(NaN, load)')).toEqual({
      warnings: ['PromQL warning: quantile value should be between 0 and 1, got NaN (1:10)'],
    });
  });

  it('report a malformed le label and buckets fixed for monotonicity', async () => {
    expect(await annotationsOf('histogram_quantile(0.5, odd)')).toEqual({
      warnings: [
        'PromQL warning: bucket label "le" is missing or has a malformed value of "x" for metric name "odd" (1:25)',
      ],
    });
    const { infos } = await annotationsOf('histogram_quantile(0.5, lat_bucket)');
    expect(infos).toEqual([
      expect.stringMatching(/^PromQL info: input to histogram_quantile needed to be fixed/),
    ]);
  });

  it('warn about sort in a range query only', async () => {
    expect(await annotationsOf('sum(sort(load))', true)).toEqual({
      warnings: [
        'PromQL warning: sort is ineffective for range queries since results are always ordered by labels (1:5)',
      ],
    });
    expect(await annotationsOf('sort(load)')).toEqual({});
  });

  it('reach the HTTP API response', async () => {
    const response = await handleQueryRange(
      { query: 'sort(load)', start: '0', end: '120', step: '60' },
      engine,
    );
    expect(response.body).toMatchObject({
      status: 'success',
      warnings: [expect.stringContaining('sort is ineffective')],
    });
  });

  it('collapse duplicates and render line and column', () => {
    const a = new Annotations('a +\n  b');
    a.add('info', 'x', { start: 6, end: 7 });
    a.add('info', 'x', { start: 6, end: 7 });
    expect(a.toJSON()).toEqual({ infos: ['PromQL info: x (2:3)'] });
  });

  it('format numbers as Go does', () => {
    expect([2, -0.1, 1e-5, 1234567, NaN, Infinity].map(formatGoFloat)).toEqual([
      '2',
      '-0.1',
      '1e-05',
      '1.234567e+06',
      'NaN',
      '+Inf',
    ]);
  });
});
