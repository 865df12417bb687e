/**
 * Realistic synthetic series for storage benchmarks: what an application exporter exposes (request counters
 * of very different rates, CPU-seconds counters, a latency histogram, integer and float gauges, constants),
 * with scrape timestamps that can carry the jitter real scrape loops have. Seeded, so runs are repeatable.
 */
import type { Labels } from '../../src/core/index.js';

/** What kind of series, for per-kind compression figures. */
export type SeriesKind = 'counter' | 'float_counter' | 'histogram' | 'gauge' | 'float_gauge' | 'constant';

/** Every kind, in report order. */
export const SERIES_KINDS: readonly SeriesKind[] = [
  'counter',
  'float_counter',
  'histogram',
  'gauge',
  'float_gauge',
  'constant',
];

/** A small fast seeded PRNG (mulberry32): uniform in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gaussian(rand: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
const CODES = ['200', '201', '204', '301', '400', '404', '500', '503'];

/** One exporter "unit" of 40 series; a target holds as many units as fit its series count. */
const UNIT_SERIES = 40;

/**
 * The series of one scrape target and how their values move from one scrape to the next. Series order is
 * fixed; `next(intervalSeconds)` returns the values of the following scrape in that order.
 */
export class SyntheticTarget {
  readonly labels: Labels[] = [];
  readonly kinds: SeriesKind[] = [];
  private readonly values: Float64Array;
  private readonly steps: ((dt: number) => void)[] = [];

  constructor(
    readonly instance: string,
    seriesCount: number,
    private readonly rand: () => number,
  ) {
    const units = Math.max(1, Math.ceil(seriesCount / UNIT_SERIES));
    for (let u = 0; u < units && this.labels.length < seriesCount; u++) this.addUnit(`h${u}`, seriesCount);
    this.values = new Float64Array(this.labels.length);
  }

  /** Values of the next scrape, `dt` seconds after the previous one (a view reused between calls). */
  next(dt: number): Float64Array {
    for (const step of this.steps) step(dt);
    return this.values;
  }

  private add(kind: SeriesKind, name: string, extra: Record<string, string>, limit: number): number {
    if (this.labels.length >= limit) return -1;
    this.labels.push({ __name__: name, job: 'app', instance: this.instance, ...extra });
    this.kinds.push(kind);
    return this.labels.length - 1;
  }

  private set(i: number, v: number): void {
    if (i >= 0) this.values[i] = v;
  }

  private addUnit(handler: string, limit: number): void {
    const r = this.rand;
    for (const code of CODES) {
      // Log-uniform rates from 0.001/s (rare errors) to 300/s (hot endpoints).
      const rate = 10 ** (-3 + r() * 5.5);
      const i = this.add('counter', 'http_requests_total', { handler, code }, limit);
      let c = Math.floor(r() * 1e5);
      this.steps.push((dt) =>
        this.set(i, (c += Math.max(0, Math.round(rate * dt * (1 + 0.3 * gaussian(r)))))),
      );
    }
    for (const mode of ['user', 'system', 'gc']) {
      const i = this.add('float_counter', 'process_cpu_seconds_total', { handler, mode }, limit);
      const share = r() * 0.5;
      let c = r() * 1e4;
      // CPU time is counted in 1/100 s ticks, so values land on hundredths (with float error, as exported).
      this.steps.push((dt) => this.set(i, (c = Math.round((c + share * dt * (0.5 + r())) * 100) / 100)));
    }
    this.addHistogram(handler, limit);
    this.addGauges(handler, limit);
    for (const [name, value] of [
      ['build_info', 1],
      ['up', 1],
      ['process_max_fds', 1_048_576],
      ['app_config_last_reload_successful', 1],
      ['app_start_time_seconds', 1_763_800_000 + Math.floor(r() * 1e5)],
    ] as const) {
      const i = this.add('constant', name, { handler }, limit);
      this.steps.push(() => this.set(i, value));
    }
  }

  private addHistogram(handler: string, limit: number): void {
    const r = this.rand;
    const rate = 10 ** (-1 + r() * 3);
    const mean = 0.02 + r() * 0.3;
    const les = [...BUCKETS.map(String), '+Inf'];
    const buckets = les.map((le) =>
      this.add('histogram', 'http_request_duration_seconds_bucket', { handler, le }, limit),
    );
    const sumI = this.add('histogram', 'http_request_duration_seconds_sum', { handler }, limit);
    const countI = this.add('histogram', 'http_request_duration_seconds_count', { handler }, limit);
    // Share of observations under each bound, for exponential latencies around `mean`.
    const under = les.map((_, b) => (b === les.length - 1 ? 1 : 1 - Math.exp(-(BUCKETS[b] ?? 0) / mean)));
    const counts = new Float64Array(les.length);
    let sum = r() * 1e3;
    // Per scrape, not per observation: a hot endpoint sees thousands of requests between two scrapes.
    this.steps.push((dt) => {
      const n = Math.max(0, Math.round(rate * dt * (1 + 0.2 * gaussian(r))));
      let below = 0;
      for (let b = 0; b < les.length; b++) {
        const share = under[b] ?? 1;
        const noisy =
          share >= 1 ? n : Math.round(n * share + Math.sqrt(n * share * (1 - share)) * gaussian(r));
        below = Math.min(n, Math.max(below, noisy));
        counts[b] = (counts[b] ?? 0) + below;
        this.set(buckets[b] ?? -1, counts[b] ?? 0);
      }
      sum += n * mean * (1 + 0.1 * gaussian(r));
      this.set(sumI, sum);
      this.set(countI, counts[les.length - 1] ?? 0);
    });
  }

  private addGauges(handler: string, limit: number): void {
    const r = this.rand;
    const walks: [string, number, number][] = [
      ['process_resident_memory_bytes', 200e6 * (1 + r()), 4096 * 64],
      ['go_goroutines', 50 + Math.floor(r() * 200), 3],
      ['process_open_fds', 20 + Math.floor(r() * 100), 1],
      ['app_queue_depth', Math.floor(r() * 20), 2],
      ['app_connections_active', Math.floor(r() * 500), 5],
      ['go_threads', 8 + Math.floor(r() * 10), 0.2],
    ];
    for (const [name, start, step] of walks) {
      const i = this.add('gauge', name, { handler }, limit);
      const unit = name.endsWith('_bytes') ? 4096 : 1;
      let g = start;
      this.steps.push(() => this.set(i, Math.max(0, Math.round((g += step * gaussian(r)) / unit) * unit)));
    }
    const floats: [string, (g: number) => number, number][] = [
      ['node_load1', (g) => Math.round(Math.abs(g) * 100) / 100, 0.1],
      ['node_load5', (g) => Math.round(Math.abs(g) * 100) / 100, 0.03],
      ['app_cache_hit_ratio', (g) => Math.min(1, Math.abs(g)), 0.01],
      ['node_temperature_celsius', (g) => g, 0.2],
      ['app_request_latency_ewma_seconds', (g) => Math.abs(g), 0.002],
    ];
    for (const [name, shape, step] of floats) {
      const i = this.add('float_gauge', name, { handler }, limit);
      let g = name.includes('temperature') ? 45 + r() * 20 : r();
      this.steps.push(() => this.set(i, shape((g += step * gaussian(r)))));
    }
  }
}

/** How far a scrape's timestamp strays from its ideal slot. */
export interface JitterModel {
  /** Standard deviation of the usual timer noise, ms. */
  readonly sdMs: number;
  /** Share of scrapes that start late (a busy scrape loop or slow target). */
  readonly lateShare: number;
  /** Upper bound of such a delay, ms. */
  readonly lateMaxMs: number;
}

/** Typical of a Prometheus-style scrape loop on a loaded host: a few ms of noise, 2 % late by up to 200 ms. */
export const REALISTIC_JITTER: JitterModel = { sdMs: 4, lateShare: 0.02, lateMaxMs: 200 };

/** Timestamp (integer ms) of scrape `k` of a target whose slot starts at `offsetMs`, with jitter or without. */
export function scrapeTime(
  startMs: number,
  offsetMs: number,
  k: number,
  intervalMs: number,
  jitter: JitterModel | null,
  rand: () => number,
): number {
  const ideal = startMs + offsetMs + k * intervalMs;
  if (jitter === null) return ideal;
  const late = rand() < jitter.lateShare ? rand() * jitter.lateMaxMs : 0;
  return Math.round(ideal + jitter.sdMs * gaussian(rand) + late);
}
