/** Synthetic targets with swas and Prometheus both scraping them: the setup every comparison starts from. */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BenchContext } from './context.js';
import { startPrometheus, startSwas, type Engine } from './engines.js';
import { freePorts } from './ports.js';
import { cpuSeconds, rssBytes } from './proc.js';
import { startTargets, type TargetFleet } from './targets.js';

/** Both engines on the same targets. */
export interface Pair {
  readonly targets: TargetFleet;
  readonly swas: Engine;
  readonly prometheus: Engine;
  /** swas first, then Prometheus. */
  readonly engines: readonly [Engine, Engine];
}

/** CPU, RSS and samples served to one engine at one moment. */
export interface Snapshot {
  readonly atMs: number;
  readonly cpuSeconds: number;
  readonly rssBytes: number;
  readonly samplesServed: number;
}

/** Starts targets of `series` series, then both engines; runs `work`; always stops everything. */
export async function withPair<T>(
  ctx: BenchContext,
  series: number,
  options: { startInactive?: boolean },
  work: (pair: Pair) => Promise<T>,
): Promise<T> {
  const dir = join(ctx.dir, `pair-${series}`);
  await mkdir(dir, { recursive: true });
  const targets = await startTargets({
    series,
    targets: Math.max(1, Math.ceil(series / ctx.settings.seriesPerTarget)),
  });
  if (options.startInactive) targets.setActive(false);
  const started: Engine[] = [];
  try {
    const [swasPort, promPort] = await freePorts(2);
    const common = { dir, targets: targets.addresses, intervalSeconds: ctx.settings.scrapeIntervalSeconds };
    ctx.log(
      `${targets.totalSeries} series on ${targets.addresses.length} targets; starting swas and prometheus`,
    );
    const swas = await startSwas({ ...common, port: swasPort ?? 0 });
    started.push(swas);
    const prometheus = await startPrometheus({ ...common, port: promPort ?? 0 });
    started.push(prometheus);
    return await work({ targets, swas, prometheus, engines: [swas, prometheus] });
  } finally {
    await Promise.all(started.map((e) => e.stop()));
    await targets.stop();
  }
}

/** A snapshot of `engine` now. */
export async function snapshot(pair: Pair, engine: Engine): Promise<Snapshot> {
  const [cpu, rss] = await Promise.all([cpuSeconds(engine.pid), rssBytes(engine.pid)]);
  return {
    atMs: Date.now(),
    cpuSeconds: cpu,
    rssBytes: rss,
    samplesServed: pair.targets.served(engine.name).samples,
  };
}

/** Sleeps `seconds`, logging what it waits for when that is long enough to wonder about. */
export async function wait(ctx: BenchContext, seconds: number, why: string): Promise<void> {
  if (seconds >= 5) ctx.log(`waiting ${seconds} s: ${why}`);
  await sleep(seconds * 1000);
}
