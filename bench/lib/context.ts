/** What a benchmark receives and produces: settings from the environment, figures, and the result file shape. */
import { cpus } from 'node:os';
import type { Summary } from './stats.js';
import { round } from './stats.js';

/** One reported figure (DESIGN.md §9): swas's median with min/max, and the peer's beside it. */
export interface Figure {
  readonly value: number;
  readonly unit: string;
  readonly min?: number;
  readonly max?: number;
  readonly trials?: number;
  readonly peer?: string;
  readonly peer_value?: number;
  readonly peer_min?: number;
  readonly peer_max?: number;
  /** value / peer_value. */
  readonly ratio?: number;
  readonly goal?: string;
  readonly note?: string;
}

/** Sizes and durations, from `SWAS_BENCH_*` environment variables. */
export interface BenchSettings {
  /** Active series sizes to run; the largest is used by the memory and query benchmarks. */
  readonly series: readonly number[];
  readonly seriesPerTarget: number;
  readonly scrapeIntervalSeconds: number;
  readonly warmupSeconds: number;
  /** Measurement window of the ingest benchmark, split into `trials` equal parts. */
  readonly windowSeconds: number;
  readonly trials: number;
  readonly queryTrials: number;
  /** Seconds of data both engines hold before queries are timed. */
  readonly querySpanSeconds: number;
  readonly keepTemp: boolean;
}

/** Handed to each benchmark's `run`. */
export interface BenchContext {
  readonly name: string;
  readonly settings: BenchSettings;
  /** A fresh temporary directory, removed afterwards unless SWAS_BENCH_KEEP=1. */
  readonly dir: string;
  log(message: string): void;
  figure(key: string, figure: Figure): void;
}

/** A benchmark module: `bench/<name>.bench.ts` exports this. */
export interface BenchModule {
  run(ctx: BenchContext): Promise<void>;
}

/** The file written to `bench/results/<name>.json`. */
export interface BenchResult {
  readonly name: string;
  readonly at: string;
  readonly machine: { readonly cpus: number; readonly node: string };
  readonly settings: BenchSettings;
  readonly figures: Record<string, Figure>;
  readonly error?: string;
}

/** A number from the environment variable `name`; a bad value stops the run naming the variable. */
export function envNumber(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min)
    throw new Error(`${name}="${raw}" must be a number ≥ ${min}; unset it to use ${fallback}`);
  return value;
}

/** Reads the settings; a bad value stops the run with the variable's name and what it must be. */
export function settingsFromEnv(): BenchSettings {
  const seriesRaw = process.env.SWAS_BENCH_SERIES ?? '10000';
  const series = seriesRaw.split(',').map((s) => Number(s.trim()));
  if (series.length === 0 || series.some((n) => !Number.isInteger(n) || n < 100))
    throw new Error(`SWAS_BENCH_SERIES="${seriesRaw}" must be a comma-separated list of integers ≥ 100`);
  return {
    series: [...series].sort((a, b) => a - b),
    seriesPerTarget: envNumber('SWAS_BENCH_SERIES_PER_TARGET', 2000, 27),
    scrapeIntervalSeconds: envNumber('SWAS_BENCH_SCRAPE_INTERVAL', 1, 1),
    warmupSeconds: envNumber('SWAS_BENCH_WARMUP', 20, 0),
    windowSeconds: envNumber('SWAS_BENCH_WINDOW', 60, 5),
    trials: Math.floor(envNumber('SWAS_BENCH_TRIALS', 5, 1)),
    queryTrials: Math.floor(envNumber('SWAS_BENCH_QUERY_TRIALS', 20, 1)),
    querySpanSeconds: envNumber('SWAS_BENCH_QUERY_SPAN', 70, 5),
    keepTemp: process.env.SWAS_BENCH_KEEP === '1',
  };
}

/** The machine line of a result. */
export function machine(): BenchResult['machine'] {
  return { cpus: cpus().length, node: process.version };
}

/** A figure comparing swas (`mine`) with Prometheus (`peer`); ratio = swas / Prometheus. */
export function compared(mine: Summary, peer: Summary, unit: string, goal?: string): Figure {
  return {
    value: round(mine.value),
    unit,
    min: round(mine.min),
    max: round(mine.max),
    trials: mine.trials,
    peer: 'prometheus',
    peer_value: round(peer.value),
    peer_min: round(peer.min),
    peer_max: round(peer.max),
    ratio: round(mine.value / peer.value, 3),
    ...(goal === undefined ? {} : { goal }),
  };
}

/** A short label for a series count: 10000 → "10k". */
export function sizeLabel(series: number): string {
  return series >= 1000 && series % 1000 === 0 ? `${series / 1000}k` : String(series);
}
