/**
 * Query latency of typical alert expressions, through each engine's `/api/v1/query` over the same data, at
 * 100k series (or the largest SWAS_BENCH_SERIES size) once both hold more than the longest range. Trials
 * alternate between engines so background work (scraping, compaction) falls on both alike; results are
 * compared by label sets.
 */
import { compared, sizeLabel, type BenchContext } from './lib/context.js';
import type { Engine } from './lib/engines.js';
import { wait, withPair, type Pair } from './lib/pair.js';
import { instantQuery } from './lib/query.js';
import { summarize } from './lib/stats.js';

/**
 * Figure key → expression, and whether both engines must return the same label sets. `topk` may pick
 * different series: each engine scrapes at its own phase, so near-equal rates can rank differently.
 */
export const EXPRESSIONS: Readonly<Record<string, { expr: string; sameLabels: boolean }>> = {
  sum_rate: { expr: 'sum by (job) (rate(bench_http_requests_total[1m]))', sameLabels: true },
  histogram_quantile: {
    expr: 'histogram_quantile(0.9, sum by (le) (rate(bench_request_duration_seconds_bucket[1m])))',
    sameLabels: true,
  },
  topk: { expr: 'topk(5, rate(bench_http_requests_total[1m]))', sameLabels: false },
  regex_matcher: {
    expr: 'sum by (path) (rate(bench_http_requests_total{status=~"5..",path=~"/api/v1/.*"}[1m]))',
    sameLabels: true,
  },
  threshold: { expr: 'bench_inflight_requests > 45', sameLabels: false },
};

/** Whether two sorted label-set lists agree (only in size when labels may legitimately differ). */
function agree(mine: readonly string[], peer: readonly string[], sameLabels: boolean): boolean {
  if (mine.length !== peer.length) return false;
  return !sameLabels || mine.every((s, i) => s === peer[i]);
}
const WARMUP_QUERIES = 2;

/** Times one expression on both engines; throws with the engine's error if either fails. */
async function timeExpression(
  ctx: BenchContext,
  pair: Pair,
  expr: string,
  at: number,
): Promise<{ times: Map<Engine, number[]>; series: Map<Engine, readonly string[]> }> {
  const times = new Map<Engine, number[]>(pair.engines.map((e) => [e, []]));
  const series = new Map<Engine, readonly string[]>();
  for (let i = 0; i < WARMUP_QUERIES + ctx.settings.queryTrials; i++) {
    const order = i % 2 === 0 ? pair.engines : [...pair.engines].reverse();
    for (const engine of order) {
      const outcome = await instantQuery(engine, expr, at);
      if (!outcome.ok) throw new Error(`${engine.name} failed "${expr}": ${outcome.error}`);
      if (i >= WARMUP_QUERIES) times.get(engine)?.push(outcome.ms);
      series.set(engine, outcome.series);
    }
  }
  return { times, series };
}

/**
 * The issue's goals are stated at 100k series: that is the size unless SWAS_BENCH_SERIES is set, in which
 * case its largest size is used (e.g. a quick run at 10k).
 */
function issueSize(ctx: BenchContext): number {
  if (process.env.SWAS_BENCH_SERIES === undefined) return 100_000;
  return ctx.settings.series[ctx.settings.series.length - 1] ?? 100_000;
}

/** Runs the query comparison at 100k series, or the largest size in SWAS_BENCH_SERIES when set. */
export async function run(ctx: BenchContext): Promise<void> {
  const series = issueSize(ctx);
  const label = sizeLabel(series);
  await withPair(ctx, series, {}, async (pair) => {
    await wait(ctx, ctx.settings.querySpanSeconds, 'both engines fill the query range');
    // A fixed evaluation time a little in the past, so both have scraped up to it.
    const at = Math.floor(Date.now() / 1000) - 2;
    for (const [key, { expr, sameLabels }] of Object.entries(EXPRESSIONS)) {
      const { times, series: results } = await timeExpression(ctx, pair, expr, at);
      const mine = results.get(pair.swas) ?? [];
      const peer = results.get(pair.prometheus) ?? [];
      const same = agree(mine, peer, sameLabels);
      ctx.figure(`query_ms_${key}_${label}`, {
        ...compared(
          summarize(times.get(pair.swas) ?? []),
          summarize(times.get(pair.prometheus) ?? []),
          'ms (median)',
          'median ≤ Prometheus',
        ),
        note: same
          ? `${expr} → ${mine.length} series on both`
          : `${expr} → RESULTS DIFFER: swas ${mine.length} series, prometheus ${peer.length}`,
      });
    }
  });
}
