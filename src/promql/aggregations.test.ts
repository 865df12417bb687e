import { describe, expect, it } from 'vitest';
import { formatSeries } from '../core/index.js';
import { MemorySeriesStore } from '../tsdb/index.js';
import { EmbeddedPromqlQuery } from './EmbeddedPromqlQuery.js';
import { appendSeriesNotation } from './seriesNotation.js';

const store = new MemorySeriesStore();
appendSeriesNotation(
  store,
  `
  http_requests{job="api", instance="0", group="production"} 0+10x10
  http_requests{job="api", instance="1", group="production"} 0+20x10
  http_requests{job="api", instance="0", group="canary"} 0+30x10
  http_requests{job="api", instance="1", group="canary"} 0+40x10
  http_requests{job="app", instance="0", group="production"} 0+50x10
  http_requests{job="app", instance="1", group="production"} 0+60x10
  http_requests{job="app", instance="0", group="canary"} 0+70x10
  http_requests{job="app", instance="1", group="canary"} 0+80x10
  version{job="api", instance="0"} 6x10
  version{job="api", instance="1"} 6x10
  version{job="app", instance="0"} 7x10
  odd{i="a"} NaNx10
  odd{i="b"} 3x10
  odd{i="c"} 1x10
`,
  60_000,
);
const engine = EmbeddedPromqlQuery.create({ reader: store });

/** Evaluates at t=5m (values are 5 × the per-minute increment). */
async function at5m(expr: string): Promise<Record<string, number>> {
  const r = await engine.instant(expr, 300_000);
  if (!r.ok) throw new Error(`${expr}: ${r.error.message}`);
  if (r.value.resultType !== 'vector') throw new Error(`unexpected ${r.value.resultType}`);
  return Object.fromEntries(r.value.result.map((s) => [formatSeries(s.labels), s.value]));
}

async function orderAt5m(expr: string): Promise<string[]> {
  const r = await engine.instant(expr, 300_000);
  if (!r.ok || r.value.resultType !== 'vector') throw new Error(expr);
  return r.value.result.map((s) => `${formatSeries(s.labels)}=${s.value}`);
}

describe('aggregation operators', () => {
  it('sum, avg, min, max, count, group with by and without', async () => {
    expect(await at5m('sum by (job) (http_requests)')).toEqual({ '{job="api"}': 500, '{job="app"}': 1300 });
    expect(await at5m('sum(http_requests) by (job)')).toEqual({ '{job="api"}': 500, '{job="app"}': 1300 });
    expect(await at5m('sum without (instance, group) (http_requests)')).toEqual({
      '{job="api"}': 500,
      '{job="app"}': 1300,
    });
    expect(await at5m('avg by (group) (http_requests)')).toEqual({
      '{group="production"}': 175,
      '{group="canary"}': 275,
    });
    expect(await at5m('min(http_requests)')).toEqual({ '{}': 50 });
    expect(await at5m('max by (job) (http_requests)')).toEqual({ '{job="api"}': 200, '{job="app"}': 400 });
    expect(await at5m('count(http_requests)')).toEqual({ '{}': 8 });
    expect(await at5m('group by (job) (http_requests)')).toEqual({ '{job="api"}': 1, '{job="app"}': 1 });
    expect(await at5m('sum(nothing)')).toEqual({});
  });

  it('keeps the metric name only when grouping by it', async () => {
    expect(await at5m('sum by (__name__) (http_requests)')).toEqual({ http_requests: 1800 });
    expect(await at5m('sum without (job, instance, group) (http_requests)')).toEqual({ '{}': 1800 });
  });

  it('stddev and stdvar are population statistics', async () => {
    // api values 50, 100, 150, 200: mean 125, variance (75² + 25² + 25² + 75²) / 4 = 3125.
    expect((await at5m('stdvar by (job) (http_requests{job="api"})'))['{job="api"}']).toBeCloseTo(3125, 9);
    expect((await at5m('stddev by (job) (http_requests{job="api"})'))['{job="api"}']).toBeCloseTo(
      Math.sqrt(3125),
      9,
    );
  });

  it('quantile interpolates between ranks', async () => {
    // api values sorted 50, 100, 150, 200; φ=0.5 → rank 1.5 → 125; φ=0.9 → rank 2.7 → 185.
    expect(await at5m('quantile(0.5, http_requests{job="api"})')).toEqual({ '{}': 125 });
    expect((await at5m('quantile(0.9, http_requests{job="api"})'))['{}']).toBeCloseTo(185, 10);
    expect(await at5m('quantile(2, http_requests{job="api"})')).toEqual({ '{}': Infinity });
  });

  it('topk and bottomk keep the original series, best first, per group', async () => {
    expect(await orderAt5m('topk(2, http_requests)')).toEqual([
      'http_requests{group="canary", instance="1", job="app"}=400',
      'http_requests{group="canary", instance="0", job="app"}=350',
    ]);
    expect(await orderAt5m('bottomk by (job) (1, http_requests)')).toEqual([
      'http_requests{group="production", instance="0", job="api"}=50',
      'http_requests{group="production", instance="0", job="app"}=250',
    ]);
    expect(await orderAt5m('topk(2, odd)')).toEqual(['odd{i="b"}=3', 'odd{i="c"}=1']);
    expect(await orderAt5m('bottomk(5, odd)')).toEqual(['odd{i="c"}=1', 'odd{i="b"}=3', 'odd{i="a"}=NaN']);
    expect(await at5m('topk(0, http_requests)')).toEqual({});
  });

  it('topk refuses a NaN parameter', async () => {
    const r = await engine.instant('topk(NaN, http_requests)', 300_000);
    expect(r).toMatchObject({
      ok: false,
      error: { errorType: 'execution', message: 'Parameter value is NaN' },
    });
  });

  it('count_values counts series per value, with the value as a label', async () => {
    expect(await at5m('count_values("version", version)')).toEqual({
      '{version="6"}': 2,
      '{version="7"}': 1,
    });
    expect(await at5m('count_values by (job) ("v", version)')).toEqual({
      '{job="api", v="6"}': 2,
      '{job="app", v="7"}': 1,
    });
  });

  it('min and max skip NaN unless everything is NaN', async () => {
    expect(await at5m('max(odd)')).toEqual({ '{}': 3 });
    expect(await at5m('min(odd)')).toEqual({ '{}': 1 });
    expect((await at5m('sum(odd)'))['{}']).toBeNaN();
  });

  it('aggregate at every step of a range query', async () => {
    const r = await engine.range('sum by (job) (http_requests)', 0, 180_000, 60_000);
    expect(r.ok && r.value.resultType === 'matrix' ? r.value.result : null).toEqual([
      {
        labels: { job: 'api' },
        points: [
          [0, 0],
          [60_000, 100],
          [120_000, 200],
          [180_000, 300],
        ],
      },
      {
        labels: { job: 'app' },
        points: [
          [0, 0],
          [60_000, 260],
          [120_000, 520],
          [180_000, 780],
        ],
      },
    ]);
  });
});
