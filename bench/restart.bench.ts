/**
 * Restart after a crash: a child fills an EmbeddedTsdb with SWAS_BENCH_RESTART_SERIES series of
 * SWAS_BENCH_RESTART_MINUTES of 15 s data (committing every scrape round) and is killed with SIGKILL; then,
 * SWAS_BENCH_RESTART_TRIALS times, a fresh child opens the store and selects every series, and is killed in
 * turn. Reports the time from EmbeddedTsdb.open to a complete select (in the child, without Node's start-up),
 * the whole process time, the data size on disk, and the series count. No Prometheus figure: Prometheus would
 * need the same hour scraped in real time (backfilled blocks skip the WAL replay being measured).
 */
import { once } from 'node:events';
import type { ChildProcess } from 'node:child_process';
import { readdir, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BenchContext, Figure } from './lib/context.js';
import { spawnLogged } from './lib/processes.js';
import { round, summarize } from './lib/stats.js';
import type { OpenReport, WriteReport } from './lib/tsdbChild.js';

const CHILD = fileURLToPath(new URL('./lib/tsdbChild.ts', import.meta.url));
// A bare `tsx` would resolve from the working directory; resolve it from this checkout instead.
const TSX_IMPORT = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const INTERVAL_MS = 15_000;

function envInt(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min)
    throw new Error(`${name}="${raw}" must be an integer ≥ ${min}; unset it to use ${fallback}`);
  return value;
}

/** Runs the child until it prints its JSON line (or fails, naming its log), and returns it still running. */
async function childLine<T>(
  args: readonly string[],
  logFile: string,
  timeoutMs: number,
): Promise<{ child: ChildProcess; report: T; wallSeconds: number }> {
  const started = performance.now();
  const child = spawnLogged(process.execPath, ['--import', TSX_IMPORT, CHILD, ...args], logFile);
  const lines = createInterface({ input: child.stdout ?? process.stdin });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  try {
    const first = await Promise.race([
      once(lines, 'line').then(([line]) => String(line)),
      once(child, 'exit').then(() => null),
    ]);
    if (first === null)
      throw new Error(
        `tsdbChild ${args[0]} exited (or timed out after ${timeoutMs / 1000} s) without a report; see ${logFile}`,
      );
    return { child, report: JSON.parse(first) as T, wallSeconds: (performance.now() - started) / 1000 };
  } finally {
    clearTimeout(timer);
    lines.close();
  }
}

async function kill9(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
}

function spread(values: readonly number[], unit: string, note: string): Figure {
  const s = summarize(values);
  return { value: round(s.value), unit, min: round(s.min), max: round(s.max), trials: s.trials, note };
}

async function diskBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    total += entry.isDirectory() ? await diskBytes(path) : (await stat(path)).size;
  }
  return total;
}

interface Trials {
  readonly total: number[];
  readonly wall: number[];
  readonly open: number[];
  readonly select: number[];
  readonly rss: number[];
}

/** Reopens the killed store `trials` times, each reader killed with SIGKILL in turn; checks nothing was lost. */
async function restarts(
  ctx: BenchContext,
  dataDir: string,
  logFile: string,
  written: WriteReport,
  trials: number,
): Promise<Trials> {
  const out: Trials = { total: [], wall: [], open: [], select: [], rss: [] };
  for (let i = 0; i < trials; i++) {
    const reader = await childLine<OpenReport>(['open', dataDir], logFile, 600_000);
    await kill9(reader.child);
    const r = reader.report;
    if (r.series !== written.series || r.samples !== written.samples)
      throw new Error(
        `after restart ${i + 1} the store held ${r.series} series / ${r.samples} samples, but ` +
          `${written.series} / ${written.samples} were committed; see ${logFile}`,
      );
    out.total.push(r.openSeconds + r.selectSeconds);
    out.wall.push(reader.wallSeconds);
    out.open.push(r.openSeconds);
    out.select.push(r.selectSeconds);
    out.rss.push(r.rssBytes);
    ctx.log(
      `restart ${i + 1}: open ${round(r.openSeconds, 3)} s + select ${round(r.selectSeconds, 3)} s, ` +
        `RSS ${Math.round(r.rssBytes / 2 ** 20)} MiB, ${r.warnings} warnings`,
    );
  }
  return out;
}

/** Fills a store, kills the writer, then times reopen + select-all over several killed readers. */
export async function run(ctx: BenchContext): Promise<void> {
  const series = envInt('SWAS_BENCH_RESTART_SERIES', 100_000, 100);
  const minutes = envInt('SWAS_BENCH_RESTART_MINUTES', 60, 1);
  const trials = envInt('SWAS_BENCH_RESTART_TRIALS', 3, 1);
  const scrapes = Math.round((minutes * 60_000) / INTERVAL_MS);
  const dataDir = join(ctx.dir, 'data');
  const logFile = join(ctx.dir, 'tsdbChild.log');
  ctx.log(`writing ${series} series × ${scrapes} samples (${minutes} min at 15 s)`);
  const writer = await childLine<WriteReport>(
    ['write', dataDir, String(series), String(scrapes), String(INTERVAL_MS)],
    logFile,
    1_800_000,
  );
  await kill9(writer.child);
  const written = writer.report;
  ctx.log(
    `wrote ${written.samples} samples in ${round(written.seconds, 3)} s; killed the writer with SIGKILL`,
  );
  const bytes = await diskBytes(dataDir);
  const t = await restarts(ctx, dataDir, logFile, written, trials);
  const size = `${written.series} series × ${scrapes} samples`;
  ctx.figure(
    'restart_seconds',
    spread(t.total, 's', `EmbeddedTsdb.open to a complete select of every series after kill -9, ${size}`),
  );
  ctx.figure(
    'restart_open_seconds',
    spread(t.open, 's', 'EmbeddedTsdb.open alone (chunk files, checkpoint, WAL replay)'),
  );
  ctx.figure('restart_select_seconds', spread(t.select, 's', 'the select of every series after open'));
  ctx.figure('restart_rss_bytes', spread(t.rss, 'bytes', 'resident memory of the reader after the select'));
  ctx.figure(
    'restart_process_seconds',
    spread(t.wall, 's', 'the same, from spawning node (with tsx) to the child reporting'),
  );
  ctx.figure('restart_data_bytes', {
    value: bytes,
    unit: 'bytes',
    note: 'chunk files + WAL on disk after the kill',
  });
  ctx.figure('restart_series', { value: written.series, unit: 'series' });
  ctx.figure('restart_samples', { value: written.samples, unit: 'samples' });
  ctx.figure('restart_write_seconds', {
    value: round(written.seconds),
    unit: 's',
    note: 'time the child took to generate and commit the data (not a restart figure)',
  });
}
