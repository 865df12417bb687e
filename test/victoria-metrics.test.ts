import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from './support/swasServer.js';
import { startVm, stopVm, type Vm } from './support/victoriaMetrics.js';
import { labelsKey } from '../src/core/index.js';
import type { WriteRequestSeries } from '../src/ingest/index.js';
import { EmbeddedPromqlQuery, type MetricsQuery, type QueryOutcome } from '../src/promql/index.js';
import { RemotePromqlQuery } from '../src/promql/RemotePromqlQuery.js';
import { MemorySeriesStore } from '../src/tsdb/index.js';
import { RemoteWriteSender } from '../src/ingest/index.js';
import { makeTempDir } from './support/tmp.js';

// Samples are appended, as a scraper would, to a RemoteWriteSender that stores them in the embedded store and
// forwards them to VictoriaMetrics over remote write; typical alert queries must then answer alike through
// RemotePromqlQuery and EmbeddedPromqlQuery. Where MetricsQL differs from PromQL by design, the last describe
// block pins the difference instead of hiding it.

const SCRAPE_MS = 15_000;
const MINUTE = 60_000;
// Data ends well before "now" so VictoriaMetrics' latency offset and any clock skew do not matter.
const END = Math.floor(Date.now() / MINUTE) * MINUTE - 10 * MINUTE;
const START = END - 60 * MINUTE;
const RANGE_START = END - 30 * MINUTE;
const INSTANCES = ['a', 'b', 'c'] as const;
const BUCKETS = [
  ['0.1', 1],
  ['0.5', 3],
  ['1', 4],
  ['+Inf', 5],
] as const;

let vm: Vm | undefined;
let removeDir: (() => Promise<void>) | undefined;
let remote: MetricsQuery;
let embedded: MetricsQuery;

function timestamps(): number[] {
  const ts: number[] = [];
  for (let t = START; t <= END; t += SCRAPE_MS) ts.push(t);
  return ts;
}

/** Series with exactly representable values: VictoriaMetrics stores floats as decimals (about 12 digits). */
function buildSeries(): WriteRequestSeries[] {
  const ts = timestamps();
  const secs = ts.map((t) => (t - START) / 1000);
  const series: WriteRequestSeries[] = [];
  INSTANCES.forEach((instance, i) => {
    for (const code of ['200', '500']) {
      const slope = (i + 1) * (code === '200' ? 10 : 1);
      const labels = { __name__: 'http_requests_total', job: 'api', instance, code };
      series.push({ labels, t: ts, v: secs.map((s) => slope * s) });
    }
    for (const [le, slope] of BUCKETS) {
      const labels = { __name__: 'http_request_duration_seconds_bucket', job: 'api', instance, le };
      series.push({ labels, t: ts, v: secs.map((s) => (i + 1) * slope * s) });
    }
    const gauge = { __name__: 'node_memory_free_bytes', job: 'node', instance };
    series.push({ labels: gauge, t: ts, v: ts.map((_, k) => 2 ** (i + 28) + (k % 7) * 1_000_000) });
  });
  // A counter with uneven increments, where extrapolation (PromQL) and previous-sample (MetricsQL) rates differ.
  let total = 0;
  const uneven = ts.map((_, k) => (total += k % 2 === 0 ? 1 : 20));
  series.push({ labels: { __name__: 'jobs_processed_total', job: 'worker' }, t: ts, v: uneven });
  return series;
}

/** Appends like a scraper (sample by sample, in time order) through the sender, which forwards to the store. */
async function writeThroughSender(
  url: string,
  queueDir: string,
  series: readonly WriteRequestSeries[],
  store: MemorySeriesStore,
): Promise<void> {
  const sender = RemoteWriteSender.create({ url: `${url}/api/v1/write`, queueDir, next: store });
  let total = 0;
  const steps = series[0]?.t.length ?? 0;
  for (let i = 0; i < steps; i++) {
    for (const s of series) {
      expect(sender.append(s.labels, s.t[i] ?? 0, s.v[i] ?? 0)).toEqual({ ok: true });
      total++;
    }
  }
  const drained = await sender.drain(20_000);
  const stats = sender.stats();
  await sender.close();
  expect(drained, stats.lastError).toBe(true);
  expect(stats).toMatchObject({ sentSamples: total, droppedSamples: 0, rejectedSamples: 0 });
  // Freshly ingested rows become searchable after an in-memory buffer is flushed; force it, then wait.
  await fetch(`${url}/internal/force_flush`);
  const form = new URLSearchParams({ 'match[]': '{job=~".+"}', start: String(START / 1000) });
  await eventually(
    `all ${series.length} series searchable in VictoriaMetrics`,
    async () => {
      const res = await fetch(`${url}/api/v1/series`, { method: 'POST', body: form });
      const body = (await res.json()) as { data?: unknown[] };
      return body.data?.length === series.length;
    },
    20_000,
  );
}

beforeAll(async () => {
  const tmp = await makeTempDir('vm');
  removeDir = tmp.remove;
  vm = await startVm(tmp.dir);
  const series = buildSeries();
  const store = new MemorySeriesStore();
  await writeThroughSender(vm.url, join(tmp.dir, 'rw-queue'), series, store);
  embedded = EmbeddedPromqlQuery.create({ reader: store });
  remote = RemotePromqlQuery.create({ url: vm.url, timeoutMs: 10_000 });
}, 60_000);

afterAll(async () => {
  if (vm !== undefined) await stopVm(vm.child);
  await removeDir?.();
});

interface Row {
  readonly key: string;
  readonly points: Array<readonly [number, number]>;
}

/** Series sorted by labels, so result order (which PromQL leaves open for most queries) does not matter. */
function rows(outcome: QueryOutcome): Row[] {
  if (!outcome.ok) throw new Error(`query failed: ${outcome.error.errorType}: ${outcome.error.message}`);
  const { value } = outcome;
  const list: Row[] =
    value.resultType === 'vector'
      ? value.result.map((s) => ({ key: labelsKey(s.labels), points: [[s.t, s.value]] }))
      : value.resultType === 'matrix'
        ? value.result.map((s) => ({ key: labelsKey(s.labels), points: [...s.points] }))
        : value.resultType === 'scalar'
          ? [{ key: 'scalar', points: [[value.result[0], value.result[1]]] }]
          : [];
  return list.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

function expectSameRows(actual: Row[], expected: Row[], expr: string): void {
  expect(
    actual.map((r) => r.key),
    expr,
  ).toEqual(expected.map((r) => r.key));
  actual.forEach((row, i) => {
    const want = expected[i]?.points ?? [];
    expect(
      row.points.map(([t]) => t),
      `${expr} ${row.key}`,
    ).toEqual(want.map(([t]) => t));
    row.points.forEach(([, v], k) => {
      const w = want[k]?.[1] ?? NaN;
      const tolerance = Math.max(1e-9, Math.abs(w) * 1e-9);
      if (Number.isNaN(w)) expect(v, `${expr} ${row.key}`).toBeNaN();
      else
        expect(Math.abs(v - w), `${expr} ${row.key} at ${row.points[k]?.[0]}: ${v} vs ${w}`).toBeLessThan(
          tolerance,
        );
    });
  });
}

const TYPICAL = [
  'sum by (code) (rate(http_requests_total[5m]))',
  'histogram_quantile(0.9, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))',
  'histogram_quantile(0.5, sum by (instance, le) (rate(http_request_duration_seconds_bucket{job="api"}[5m])))',
  'topk(2, node_memory_free_bytes)',
  'http_requests_total{instance=~"a|b", code!~"5.."}',
  'node_memory_free_bytes > 5e8',
  'sum by (instance) (rate(http_requests_total{code="500"}[5m])) / sum by (instance) (rate(http_requests_total[5m])) > 0.05',
  'sum(rate(http_requests_total[5m])) > bool 100',
  'max_over_time(node_memory_free_bytes[10m]) - min_over_time(node_memory_free_bytes[10m])',
];

describe('VictoriaMetrics answers typical queries like the embedded engine', () => {
  it.each(TYPICAL)('instant: %s', async (expr) => {
    const [mine, theirs] = await Promise.all([embedded.instant(expr, END), remote.instant(expr, END)]);
    const expected = rows(mine);
    expect(expected.length, `${expr} should select something`).toBeGreaterThan(0);
    expectSameRows(rows(theirs), expected, expr);
  });

  it.each(TYPICAL)('range: %s', async (expr) => {
    const [mine, theirs] = await Promise.all([
      embedded.range(expr, RANGE_START, END, MINUTE),
      remote.range(expr, RANGE_START, END, MINUTE),
    ]);
    const expected = rows(mine);
    expect(expected.length, `${expr} should select something`).toBeGreaterThan(0);
    expectSameRows(rows(theirs), expected, expr);
  });

  it('reports which metric names the remote engine has never seen', async () => {
    const expr = 'rate(http_requests_total[5m]) / on() no_such_metric_total';
    expect(await remote.unknownMetrics(expr)).toEqual(['no_such_metric_total']);
    expect(await embedded.unknownMetrics(expr)).toEqual(['no_such_metric_total']);
  });

  it('maps a remote parse error to bad_data naming the engine', async () => {
    const outcome = await remote.instant('sum(http_requests_total', END);
    expect(outcome).toMatchObject({ ok: false, error: { errorType: 'bad_data' } });
    if (!outcome.ok) expect(outcome.error.message).toContain(vm?.url ?? 'vm');
  });
});

describe('where MetricsQL differs from PromQL (documented, not hidden)', () => {
  it('rate: PromQL extrapolates inside the window, MetricsQL uses the sample before it', async () => {
    // PromQL (Prometheus 3): the 20 samples in (END-5m, END] span 285 s; their delta is extrapolated to 300 s.
    // MetricsQL: delta from the last sample at or before END-5m to the last one, divided by 300 s.
    const expr = 'rate(jobs_processed_total[5m])';
    const [mine, theirs] = await Promise.all([embedded.instant(expr, END), remote.instant(expr, END)]);
    const promql = rows(mine)[0]?.points[0]?.[1];
    const metricsql = rows(theirs)[0]?.points[0]?.[1];
    // Increments at odd sample indexes are 20, at even ones 1; END is sample 240.
    // PromQL: samples 221..240 hold 19 increments (10 × 1, 9 × 20) over 285 s, extrapolated to the window.
    // MetricsQL: from sample 220 to 240, 20 increments (10 × 1, 10 × 20) over 300 s.
    expect(promql).toBeCloseTo(190 / 285, 9);
    expect(metricsql).toBeCloseTo(210 / 300, 9);
    expect(promql).not.toBeCloseTo(metricsql ?? NaN, 3);
  });

  it('a scalar expression comes back as a one-element vector from MetricsQL', async () => {
    const [mine, theirs] = await Promise.all([embedded.instant('1 / 4', END), remote.instant('1 / 4', END)]);
    expect(mine).toMatchObject({ ok: true, value: { resultType: 'scalar', result: [END, 0.25] } });
    expect(theirs).toMatchObject({
      ok: true,
      value: { resultType: 'vector', result: [{ labels: {}, value: 0.25, t: END }] },
    });
  });
});
