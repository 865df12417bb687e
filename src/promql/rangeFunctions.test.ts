import { describe, expect, it } from 'vitest';
import { formatSeries } from '../core/index.js';
import { MemorySeriesStore } from '../tsdb/index.js';
import { EmbeddedPromqlQuery } from './EmbeddedPromqlQuery.js';
import { appendSeriesNotation } from './seriesNotation.js';

function engineWith(data: string, intervalMs: number): EmbeddedPromqlQuery {
  const store = new MemorySeriesStore();
  appendSeriesNotation(store, data, intervalMs);
  return EmbeddedPromqlQuery.create({ reader: store });
}

async function valueAt(
  engine: EmbeddedPromqlQuery,
  expr: string,
  atMs: number,
): Promise<Record<string, number>> {
  const r = await engine.instant(expr, atMs);
  if (!r.ok) throw new Error(`${expr}: ${r.error.message}`);
  if (r.value.resultType !== 'vector') throw new Error(`unexpected ${r.value.resultType}`);
  return Object.fromEntries(r.value.result.map((s) => [formatSeries(s.labels), s.value]));
}

// Samples every 15s from t=0. Windows are left-open: [1m] at t=60s holds t=15s..60s, not t=0.
const counters = engineWith(
  `
  steady_total 0 10 20 30 40
  reset_total 0 10 20 5 15
  late_total _ _ 100 110 120
  low_total _ _ 1 11 21
  gauge _ 10 _ _ 5 _ _ 20
`,
  15_000,
);

describe('rate, increase and delta (Prometheus extrapolation)', () => {
  it('extrapolate to the window start when samples cover it', async () => {
    // Window (0s, 60s]: 10@15s … 40@60s. Increase 30 over 45s; the gap to the start (15s) is below 1.1 × the
    // average interval (16.5s), so extrapolate the full 15s: 30 × 60/45 = 40; rate = 40 / 60s.
    expect(await valueAt(counters, 'increase(steady_total[1m])', 60_000)).toEqual({ '{}': 40 });
    expect((await valueAt(counters, 'rate(steady_total[1m])', 60_000))['{}']).toBeCloseTo(40 / 60, 12);
  });

  it('add the value before a counter reset', async () => {
    // 10, 20, 5, 15: raw 15 - 10 = 5, plus 20 lost at the reset = 25; × 60/45.
    expect((await valueAt(counters, 'increase(reset_total[1m])', 60_000))['{}']).toBeCloseTo(
      25 * (60 / 45),
      12,
    );
    expect(await valueAt(counters, 'resets(reset_total[1m])', 60_000)).toEqual({ '{}': 1 });
  });

  it('extrapolate only half an interval when the series starts inside the window', async () => {
    // 100@30s, 110@45s, 120@60s: the 30s gap to the window start exceeds 16.5s, so only 7.5s is added:
    // 20 × (30 + 7.5) / 30 = 25.
    expect(await valueAt(counters, 'increase(late_total[1m])', 60_000)).toEqual({ '{}': 25 });
    expect((await valueAt(counters, 'rate(late_total[1m])', 60_000))['{}']).toBeCloseTo(25 / 60, 12);
  });

  it('never extrapolate a counter below zero', async () => {
    // 1@30s … 21@60s: the counter would reach zero 30s × 1/20 = 1.5s before the first sample: 20 × 31.5/30 = 21.
    expect((await valueAt(counters, 'increase(low_total[1m])', 60_000))['{}']).toBeCloseTo(21, 12);
  });

  it('treat a gauge without reset correction in delta', async () => {
    // 10@15s, 5@60s: change -5 over 45s; extrapolate 15s at the start → -5 × 60/45.
    expect((await valueAt(counters, 'delta(gauge[1m])', 60_000))['{}']).toBeCloseTo(-5 * (60 / 45), 12);
  });

  it('need two samples in the window', async () => {
    expect(await valueAt(counters, 'rate(steady_total[15s])', 60_000)).toEqual({});
    expect(await valueAt(counters, 'increase(late_total[20s])', 30_000)).toEqual({});
  });

  it('irate and idelta use the last two samples only', async () => {
    expect((await valueAt(counters, 'irate(steady_total[1m])', 60_000))['{}']).toBeCloseTo(10 / 15, 12);
    expect((await valueAt(counters, 'irate(reset_total[1m])', 45_000))['{}']).toBeCloseTo(5 / 15, 12);
    expect(await valueAt(counters, 'idelta(reset_total[1m])', 45_000)).toEqual({ '{}': -15 });
  });

  it('drop the metric name', async () => {
    const e = engineWith('x_total{job="a"} 0+1x10', 15_000);
    expect(Object.keys(await valueAt(e, 'rate(x_total[1m])', 60_000))).toEqual(['{job="a"}']);
  });
});

const gauges = engineWith(
  `
  temp{room="a"} 10 20 30 40 50 60
  temp{room="b"} 5 5 6 6 6 5
  flaky{room="a"} 1 _ _ _ _ 2
`,
  60_000,
);

describe('_over_time functions', () => {
  it('aggregate the samples in (t - range, t]', async () => {
    const at = 300_000;
    expect(await valueAt(gauges, 'avg_over_time(temp[3m])', at)).toEqual({
      '{room="a"}': 50,
      '{room="b"}': 17 / 3,
    });
    expect(await valueAt(gauges, 'sum_over_time(temp[3m])', at)).toEqual({
      '{room="a"}': 150,
      '{room="b"}': 17,
    });
    expect(await valueAt(gauges, 'min_over_time(temp[5m])', at)).toEqual({
      '{room="a"}': 20,
      '{room="b"}': 5,
    });
    expect(await valueAt(gauges, 'max_over_time(temp[5m])', at)).toEqual({
      '{room="a"}': 60,
      '{room="b"}': 6,
    });
    expect(await valueAt(gauges, 'count_over_time(temp[5m])', at)).toEqual({
      '{room="a"}': 5,
      '{room="b"}': 5,
    });
    expect(await valueAt(gauges, 'quantile_over_time(0.5, temp[5m])', at)).toEqual({
      '{room="a"}': 40,
      '{room="b"}': 6,
    });
    expect(await valueAt(gauges, 'stdvar_over_time(temp[2m])', at)).toEqual({
      '{room="a"}': 25,
      '{room="b"}': 0.25,
    });
    expect(await valueAt(gauges, 'stddev_over_time(temp[2m])', at)).toEqual({
      '{room="a"}': 5,
      '{room="b"}': 0.5,
    });
    expect(await valueAt(gauges, 'present_over_time(flaky[2m])', at)).toEqual({ '{room="a"}': 1 });
    expect(await valueAt(gauges, 'changes(temp[5m])', at)).toEqual({ '{room="a"}': 4, '{room="b"}': 2 });
  });

  it('keep the metric name only for last_over_time and first_over_time', async () => {
    expect(await valueAt(gauges, 'last_over_time(flaky[10m])', 240_000)).toEqual({ 'flaky{room="a"}': 1 });
    expect(await valueAt(gauges, 'first_over_time(temp{room="a"}[2m])', 300_000)).toEqual({
      'temp{room="a"}': 50,
    });
  });

  it('absent_over_time reports a gap with the selector labels', async () => {
    expect(await valueAt(gauges, 'absent_over_time(flaky[2m])', 240_000)).toEqual({ '{}': 1 });
    expect(await valueAt(gauges, 'absent_over_time(nothing{job="x", env=~"p.*"}[2m])', 240_000)).toEqual({
      '{job="x"}': 1,
    });
    expect(await valueAt(gauges, 'absent_over_time(temp[2m])', 240_000)).toEqual({});
  });

  it('deriv and predict_linear use least squares', async () => {
    // temp{room="a"} rises 10 per minute.
    expect((await valueAt(gauges, 'deriv(temp{room="a"}[5m])', 300_000))['{room="a"}']).toBeCloseTo(
      10 / 60,
      12,
    );
    expect(
      (await valueAt(gauges, 'predict_linear(temp{room="a"}[5m], 600)', 300_000))['{room="a"}'],
    ).toBeCloseTo(160, 9);
  });
});
