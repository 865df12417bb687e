/**
 * The benchmark runner: `npm run bench` runs every `bench/<name>.bench.ts`, `npm run bench -- NAME…` the named
 * ones. Each writes `bench/results/<name>.json` (DESIGN.md §9) and prints a table. Sizes and durations come
 * from SWAS_BENCH_* variables (see lib/context.ts).
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { machine, settingsFromEnv, type BenchModule, type BenchResult, type Figure } from './lib/context.js';
import { killStarted } from './lib/processes.js';
import { formatTable, writeResult } from './lib/report.js';

const BENCH_DIR = fileURLToPath(new URL('.', import.meta.url));
const RESULTS_DIR = join(BENCH_DIR, 'results');
const SUFFIX = '.bench.ts';

/** Names of the benchmarks in bench/, sorted. */
export async function discover(): Promise<string[]> {
  const files = await readdir(BENCH_DIR);
  return files
    .filter((f) => f.endsWith(SUFFIX))
    .map((f) => f.slice(0, -SUFFIX.length))
    .sort();
}

async function runOne(name: string, settings: ReturnType<typeof settingsFromEnv>): Promise<BenchResult> {
  const module = (await import(
    pathToFileURL(join(BENCH_DIR, `${name}${SUFFIX}`)).href
  )) as Partial<BenchModule>;
  if (typeof module.run !== 'function') throw new Error(`bench/${name}${SUFFIX} does not export run(ctx)`);
  const dir = await mkdtemp(join(tmpdir(), `swas-bench-${name}-`));
  const figures: Record<string, Figure> = {};
  const at = new Date().toISOString();
  const started = Date.now();
  let error: string | undefined;
  try {
    await module.run({
      name,
      settings,
      dir,
      log: (message) => console.log(`[${name} +${Math.round((Date.now() - started) / 1000)}s] ${message}`),
      figure: (key, figure) => {
        figures[key] = figure;
      },
    });
  } catch (caught) {
    error = caught instanceof Error ? caught.message : String(caught);
  } finally {
    if (settings.keepTemp) console.log(`[${name}] kept ${dir}`);
    else await rm(dir, { recursive: true, force: true });
  }
  return { name, at, machine: machine(), settings, figures, ...(error === undefined ? {} : { error }) };
}

async function main(): Promise<number> {
  const available = await discover();
  const wanted = process.argv.slice(2).filter((a) => a !== '--');
  const unknown = wanted.filter((w) => !available.includes(w));
  if (unknown.length > 0) {
    console.error(`unknown benchmark ${unknown.join(', ')}; available: ${available.join(', ')}`);
    return 2;
  }
  const settings = settingsFromEnv();
  let failed = 0;
  for (const name of wanted.length > 0 ? wanted : available) {
    const result = await runOne(name, settings);
    const file = await writeResult(RESULTS_DIR, result);
    console.log(`\n${formatTable(result)}\nwritten to ${file}\n`);
    if (result.error !== undefined) failed++;
  }
  return failed > 0 ? 1 : 0;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.on(signal, () => {
    killStarted();
    process.exit(130);
  });

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    killStarted();
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 2;
  },
);
