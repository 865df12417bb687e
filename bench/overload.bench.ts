/**
 * Overload (issue 5, "Proof"): a pool of demo web servers behind a real HAProxy under real load; one member
 * turns sick (its capacity drops to 25%, its /healthz still answers). Two cases: `spare` (4 members at 50% of
 * their capacity: swas may drain, restart and ramp the member back) and `tight` (3 members at 70%: the
 * capacity guard must not drain it, only shed its weight). Each trial runs a case twice at the same time on
 * two identical fleets, once with swas and once with HAProxy's health checks alone, and records the share of
 * the load generator's requests that failed. Same harness as test/overload.test.ts (test/support/overload.ts).
 */
import { join } from 'node:path';
import { compared, envNumber, type BenchContext, type Figure } from './lib/context.js';
import { round, summarize } from './lib/stats.js';
import {
  FAULT_AT_MS,
  LOAD_MS,
  MEMBER_WEIGHT,
  runCaseSideBySide,
  SICK_SHARE,
  SPARE_CASE,
  TIGHT_CASE,
  type OverloadCase,
  type ScenarioResult,
} from '../test/support/overload.js';

interface Trial {
  readonly swas: ScenarioResult;
  readonly haproxyOnly: ScenarioResult;
}

const PEER = 'haproxy-health-checks';

function describeCase(scenario: OverloadCase): string {
  return `${scenario.members} members, ${scenario.ratePerSecond} requests/s for ${LOAD_MS / 1000} s, one member sick (${SICK_SHARE * 100}% of its capacity) from ${FAULT_AT_MS / 1000} s on`;
}

// Seconds from the fault to the sick member leaving rotation (lb.drain succeeded); NaN when it never left.
function secondsToDrain(result: ScenarioResult): number {
  const drain = result.runs
    .flatMap((r) => r.steps)
    .find((s) => s.action === 'lb.drain' && s.status === 'succeeded');
  if (drain === undefined || drain.endedAt === null) return Number.NaN;
  return (drain.endedAt - result.faultAt) / 1000;
}

function spread(values: readonly number[], unit: string, extra: Partial<Figure>): Figure {
  const s = summarize(values);
  return { value: round(s.value), unit, min: round(s.min), max: round(s.max), trials: s.trials, ...extra };
}

function report(ctx: BenchContext, scenario: OverloadCase, trials: readonly Trial[]): void {
  const name = scenario.name;
  const failed = compared(
    summarize(trials.map((t) => t.swas.failedRatio)),
    summarize(trials.map((t) => t.haproxyOnly.failedRatio)),
    'failed requests / requests sent',
    'below the peer',
  );
  ctx.figure(`${name}_failed_ratio`, { ...failed, peer: PEER, note: describeCase(scenario) });
  const healthy = compared(
    summarize(trials.map((t) => t.swas.healthyErrorRatio)),
    summarize(trials.map((t) => t.haproxyOnly.healthyErrorRatio)),
    '5xx / requests the healthy members answered',
    'near the peer: the members that stay are not pushed past their capacity',
  );
  ctx.figure(`${name}_healthy_error_ratio`, { ...healthy, peer: PEER });
  const drains = trials.map((t) => secondsToDrain(t.swas));
  const drained = drains.filter((s) => Number.isFinite(s));
  ctx.figure(`${name}_drained_trials`, {
    value: drained.length,
    unit: `trials of ${trials.length} where swas took the sick member out of rotation`,
    goal: name === 'tight' ? '0: the capacity guard refuses' : `${trials.length}: the guard allows it`,
  });
  if (drained.length > 0)
    ctx.figure(
      `${name}_seconds_to_drain`,
      spread(drained, 's from the fault to the member out of rotation', {}),
    );
  if (name === 'tight')
    ctx.figure(
      'tight_lowest_weight',
      spread(
        trials.map((t) => Math.min(...t.swas.sickWeights)),
        `lowest HAProxy weight of the sick member (configured ${MEMBER_WEIGHT})`,
        { note: 'the weight the guard shed it to: what the other members carry at 80% of their capacity' },
      ),
    );
}

async function runTrials(ctx: BenchContext, scenario: OverloadCase, count: number): Promise<Trial[]> {
  const trials: Trial[] = [];
  for (let i = 0; i < count; i++) {
    const trial = await runCaseSideBySide(join(ctx.dir, `${scenario.name}-${i}`), scenario);
    ctx.log(
      `${scenario.name} trial ${i + 1}/${count}: failed with swas ${trial.swas.failedRatio.toFixed(4)}, HAProxy alone ${trial.haproxyOnly.failedRatio.toFixed(4)}`,
    );
    trials.push(trial);
  }
  return trials;
}

/** Runs both overload cases `SWAS_BENCH_OVERLOAD_TRIALS` times (default 3) and reports their figures. */
export async function run(ctx: BenchContext): Promise<void> {
  const count = Math.floor(envNumber('SWAS_BENCH_OVERLOAD_TRIALS', 3, 1));
  for (const scenario of [SPARE_CASE, TIGHT_CASE])
    report(ctx, scenario, await runTrials(ctx, scenario, count));
}
