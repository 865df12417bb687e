/**
 * Ingest cost: CPU seconds each engine spends per million samples it scrapes and stores, at each configured
 * size, measured from /proc over equal windows after a warm-up while both scrape the same targets.
 */
import { compared, sizeLabel, type BenchContext } from './lib/context.js';
import type { Engine } from './lib/engines.js';
import { snapshot, wait, withPair, type Pair, type Snapshot } from './lib/pair.js';
import { queryNumber } from './lib/query.js';
import { round, summarize } from './lib/stats.js';

/** CPU seconds per million samples between two snapshots; NaN when nothing was served. */
function costPerMillion(before: Snapshot, after: Snapshot): number {
  const samples = after.samplesServed - before.samplesServed;
  return samples > 0 ? (after.cpuSeconds - before.cpuSeconds) / (samples / 1e6) : Number.NaN;
}

async function measureWindows(ctx: BenchContext, pair: Pair): Promise<Map<Engine, number[]>> {
  const costs = new Map<Engine, number[]>(pair.engines.map((e) => [e, []]));
  const part = ctx.settings.windowSeconds / ctx.settings.trials;
  let before = await Promise.all(pair.engines.map((e) => snapshot(pair, e)));
  for (let trial = 0; trial < ctx.settings.trials; trial++) {
    await wait(ctx, part, `ingest window ${trial + 1}/${ctx.settings.trials}`);
    const after = await Promise.all(pair.engines.map((e) => snapshot(pair, e)));
    pair.engines.forEach((engine, i) => {
      const b = before[i];
      const a = after[i];
      if (b && a) costs.get(engine)?.push(costPerMillion(b, a));
    });
    before = after;
  }
  return costs;
}

async function runSize(ctx: BenchContext, series: number): Promise<void> {
  const label = sizeLabel(series);
  await withPair(ctx, series, {}, async (pair) => {
    await wait(ctx, ctx.settings.warmupSeconds, 'warm-up');
    const startServed = pair.engines.map((e) => pair.targets.served(e.name).samples);
    const startMs = Date.now();
    const costs = await measureWindows(ctx, pair);
    const seconds = (Date.now() - startMs) / 1000;
    const rate = pair.engines.map(
      (e, i) => (pair.targets.served(e.name).samples - (startServed[i] ?? 0)) / seconds,
    );
    ctx.figure(
      `cpu_seconds_per_million_samples_${label}`,
      compared(
        summarize(costs.get(pair.swas) ?? []),
        summarize(costs.get(pair.prometheus) ?? []),
        'CPU s / 1M samples',
        'ratio ≤ 1.0',
      ),
    );
    ctx.figure(`samples_per_second_${label}`, {
      value: round(rate[0] ?? Number.NaN),
      unit: 'samples/s served',
      peer: 'prometheus',
      peer_value: round(rate[1] ?? Number.NaN),
      note: `targets expose ${pair.targets.totalSeries / ctx.settings.scrapeIntervalSeconds}/s`,
    });
    // Stored, not only served: both engines should hold every synthetic series.
    const stored = await Promise.all(
      pair.engines.map((e) => queryNumber(e, 'count({__name__=~"bench_.+"})')),
    );
    ctx.figure(`series_stored_${label}`, {
      value: stored[0] ?? Number.NaN,
      unit: 'series',
      peer: 'prometheus',
      peer_value: stored[1] ?? Number.NaN,
      note: `targets expose ${pair.targets.totalSeries}`,
    });
  });
}

/** The two sizes, run when SWAS_BENCH_SERIES is not set (about 3.5 minutes with the defaults). */
const DEFAULT_SIZES = [10_000, 100_000] as const;

/** Runs the ingest comparison at every size in SWAS_BENCH_SERIES, or at 10k and 100k series. */
export async function run(ctx: BenchContext): Promise<void> {
  const sizes = (process.env.SWAS_BENCH_SERIES ?? '') === '' ? DEFAULT_SIZES : ctx.settings.series;
  for (const series of sizes) await runSize(ctx, series);
}
