/**
 * Rule evaluation cost: 1,000 typical alerting rules (lib/alertRules.ts) over 100k active series, in groups
 * evaluated every 15 s by swas and by Prometheus from the same rule file, both scraping the same targets.
 * After a warm-up that fills the rules' 5-minute ranges, each engine's own last-duration gauges are read
 * once per interval; their sum over the groups, divided by the interval, is the share of each interval spent
 * evaluating rules.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { apiData, ownMetric, total } from './lib/alerting.js';
import { alertRuleFile } from './lib/alertRules.js';
import { compared, envNumber, sizeLabel, type BenchContext } from './lib/context.js';
import { startPrometheus, startSwas, type Engine } from './lib/engines.js';
import { wait } from './lib/pair.js';
import { freePorts } from './lib/ports.js';
import { cpuSeconds } from './lib/proc.js';
import { median, round, summarize } from './lib/stats.js';
import { SERIES_PER_PATH, startTargets } from './lib/targets.js';

/** This benchmark's settings, from SWAS_BENCH_RULES_* (documented in bench/README.md). */
function rulesSettings() {
  return {
    rules: Math.floor(envNumber('SWAS_BENCH_RULES', 1000, 1)),
    groups: Math.floor(envNumber('SWAS_BENCH_RULE_GROUPS', 20, 1)),
    series: Math.floor(envNumber('SWAS_BENCH_RULES_SERIES', 100_000, 100)),
    intervalSeconds: envNumber('SWAS_BENCH_RULES_INTERVAL', 15, 1),
    scrapeIntervalSeconds: envNumber('SWAS_BENCH_RULES_SCRAPE_INTERVAL', 15, 1),
    warmupSeconds: envNumber('SWAS_BENCH_RULES_WARMUP', 300, 0),
    measuredIntervals: Math.floor(envNumber('SWAS_BENCH_RULES_INTERVALS', 5, 1)),
    baseline: process.env.SWAS_BENCH_RULES_BASELINE !== '0',
  };
}

/** Reads may wait for an engine busy evaluating rules: swas answers no HTTP during an evaluation pass. */
const SLOW_READ_MS = 300_000;
/** swas from source starts slowly on a loaded machine. */
const READY_TIMEOUT_MS = 180_000;

/** Each engine's own metric names: last evaluation time per group, skipped group evaluations, rules evaluated. */
const OWN_METRICS = {
  swas: {
    duration: 'swas_rule_group_last_duration_seconds',
    missed: 'swas_rule_group_iterations_missed_total',
    evaluations: 'swas_rule_evaluations_total',
    group: 'group',
  },
  prometheus: {
    duration: 'prometheus_rule_group_last_duration_seconds',
    missed: 'prometheus_rule_group_iterations_missed_total',
    evaluations: 'prometheus_rule_evaluations_total',
    group: 'rule_group',
  },
} as const;

interface RulesApi {
  groups: { rules: { name: string; health: string; lastError?: string; evaluationTime: number }[] }[];
}
interface AlertsApi {
  alerts: { state: string }[];
}

/** The rules an engine has loaded, each with its last evaluation time in seconds and its health. */
async function loadedRules(engine: Engine) {
  const data = await apiData<RulesApi>(engine, '/api/v1/rules', SLOW_READ_MS);
  return data.groups.flatMap((g) => g.rules);
}

/** Per-interval measurements of one engine. */
interface Measured {
  /** Sum over groups of the last evaluation's duration, as a fraction of the interval. */
  groupFractions: number[];
  /** Sum over rules of each one's last evaluation time, as a fraction of the interval. */
  ruleFractions: number[];
  /** Whole-process CPU seconds per second. */
  cpuCores: number[];
  /** Over the whole window: group evaluations skipped, rule evaluations done, CPU seconds, wall seconds. */
  missed: number;
  evaluations: number;
  cpuSeconds: number;
  seconds: number;
}

/** Reads each engine's own figures once per interval for `intervals` intervals. */
async function measure(
  engines: readonly Engine[],
  intervals: number,
  intervalSeconds: number,
  withRules: boolean,
): Promise<Map<Engine, Measured>> {
  const result = new Map<Engine, Measured>(
    engines.map((e) => [
      e,
      {
        groupFractions: [],
        ruleFractions: [],
        cpuCores: [],
        missed: 0,
        evaluations: 0,
        cpuSeconds: 0,
        seconds: 0,
      },
    ]),
  );
  const counters = (e: Engine) => {
    const own = OWN_METRICS[e.name];
    return Promise.all([
      ownMetric(e, own.missed, own.group, SLOW_READ_MS).then(total),
      ownMetric(e, own.evaluations, own.group, SLOW_READ_MS).then(total),
    ]);
  };
  const countersBefore = await Promise.all(engines.map(counters));
  const startCpu = await Promise.all(engines.map((e) => cpuSeconds(e.pid)));
  const start = performance.now();
  let cpuBefore = startCpu;
  let before = start;
  for (let n = 0; n < intervals; n++) {
    await sleep(intervalSeconds * 1000);
    const cpuAfter = await Promise.all(engines.map((e) => cpuSeconds(e.pid)));
    const now = performance.now();
    for (const [i, engine] of engines.entries()) {
      const m = result.get(engine);
      if (m === undefined) continue;
      m.cpuCores.push(((cpuAfter[i] ?? 0) - (cpuBefore[i] ?? 0)) / ((now - before) / 1000));
      if (!withRules) continue;
      const own = OWN_METRICS[engine.name];
      m.groupFractions.push(
        total(await ownMetric(engine, own.duration, own.group, SLOW_READ_MS)) / intervalSeconds,
      );
      const ruleSeconds = (await loadedRules(engine)).reduce((sum, r) => sum + r.evaluationTime, 0);
      m.ruleFractions.push(ruleSeconds / intervalSeconds);
    }
    cpuBefore = cpuAfter;
    before = now;
  }
  const endCpu = await Promise.all(engines.map((e) => cpuSeconds(e.pid)));
  const end = performance.now();
  const countersAfter = await Promise.all(engines.map(counters));
  engines.forEach((e, i) => {
    const m = result.get(e);
    if (m === undefined) return;
    m.missed = (countersAfter[i]?.[0] ?? 0) - (countersBefore[i]?.[0] ?? 0);
    m.evaluations = (countersAfter[i]?.[1] ?? 0) - (countersBefore[i]?.[1] ?? 0);
    m.cpuSeconds = (endCpu[i] ?? 0) - (startCpu[i] ?? 0);
    m.seconds = (end - start) / 1000;
  });
  return result;
}

/**
 * What a full pass of `rules` rules costs in CPU, as a fraction of the interval, from the evaluations that were
 * actually done: an engine starved of CPU skips passes, which lowers its CPU use but not this.
 */
function neededCpu(m: Measured, baseline: readonly number[], rules: number, intervalSeconds: number): number {
  const ruleCpuSeconds = m.cpuSeconds - median(baseline) * m.seconds;
  return m.evaluations > 0 ? ((ruleCpuSeconds / m.evaluations) * rules) / intervalSeconds : Number.NaN;
}

/**
 * Rule-evaluation CPU as a fraction of the interval (of one core): CPU per second with the rules minus the
 * median without them (scraping alone).
 */
function ruleCpu(withRules: readonly number[], baseline: readonly number[]) {
  const base = median(baseline);
  return summarize(withRules.map((cores) => cores - base));
}

/** Empties the rule file and has both engines reload it (SIGHUP), then waits until neither has a group. */
async function dropRules(ctx: BenchContext, ruleFile: string, engines: readonly Engine[]): Promise<void> {
  await writeFile(ruleFile, 'groups: []\n');
  for (const engine of engines) engine.child.kill('SIGHUP');
  const deadline = Date.now() + SLOW_READ_MS;
  for (const engine of engines) {
    while ((await apiData<RulesApi>(engine, '/api/v1/rules', SLOW_READ_MS)).groups.length > 0) {
      if (Date.now() > deadline)
        throw new Error(`${engine.name} still has rule groups ${SLOW_READ_MS / 1000} s after SIGHUP`);
      await sleep(500);
    }
  }
  ctx.log('rules dropped; measuring the same intervals without them');
}

/** Per-shape figures: each rule's own last evaluation time, median over the rules of the shape. */
async function shapeFigures(
  ctx: BenchContext,
  swas: Engine,
  prometheus: Engine,
  shapeOf: ReadonlyMap<string, string>,
): Promise<void> {
  const byShape = async (engine: Engine) => {
    const times = new Map<string, number[]>();
    for (const rule of await loadedRules(engine)) {
      const shape = shapeOf.get(rule.name);
      if (shape === undefined) continue;
      times.set(shape, [...(times.get(shape) ?? []), rule.evaluationTime * 1000]);
    }
    return times;
  };
  const [mine, peer] = await Promise.all([byShape(swas), byShape(prometheus)]);
  for (const [shape, times] of mine)
    ctx.figure(
      `rule_ms_${shape}`,
      compared(summarize(times), summarize(peer.get(shape) ?? []), 'ms per rule (median over rules)'),
    );
}

/** Rules and alerts as each engine sees them: every rule loaded and healthy, and how many alerts fire. */
async function checkFigures(ctx: BenchContext, swas: Engine, prometheus: Engine, firingRules: number) {
  const engines = [swas, prometheus];
  const rules = await Promise.all(engines.map(loadedRules));
  const errors = rules.map((r) => r.filter((rule) => rule.health === 'err'));
  const firstError = errors[0]?.[0];
  ctx.figure('rules_with_errors', {
    value: errors[0]?.length ?? Number.NaN,
    unit: 'rules',
    peer: 'prometheus',
    peer_value: errors[1]?.length ?? Number.NaN,
    note: `${rules[0]?.length} rules loaded by swas, ${rules[1]?.length} by prometheus${
      firstError ? `; first swas error: ${firstError.name}: ${firstError.lastError}` : ''
    }`,
  });
  const alerts = await Promise.all(engines.map((e) => apiData<AlertsApi>(e, '/api/v1/alerts', SLOW_READ_MS)));
  const count = (i: number, state: string) => alerts[i]?.alerts.filter((a) => a.state === state).length;
  ctx.figure('alerts_firing', {
    value: count(0, 'firing') ?? Number.NaN,
    unit: 'alerts',
    peer: 'prometheus',
    peer_value: count(1, 'firing') ?? Number.NaN,
    note: `${firingRules} rules are written to fire; pending: swas ${count(0, 'pending')}, prometheus ${count(1, 'pending')}`,
  });
}

/** Runs the rule-evaluation comparison. */
export async function run(ctx: BenchContext): Promise<void> {
  const s = rulesSettings();
  const label = sizeLabel(s.series);
  const targets = await startTargets({
    series: s.series,
    targets: Math.max(1, Math.ceil(s.series / ctx.settings.seriesPerTarget)),
  });
  const paths = targets.totalSeries / (targets.addresses.length * SERIES_PER_PATH);
  const ruleSet = alertRuleFile({
    rules: s.rules,
    groups: s.groups,
    intervalSeconds: s.intervalSeconds,
    paths,
  });
  const ruleFile = join(ctx.dir, 'bench.rules.yml');
  await writeFile(ruleFile, ruleSet.yaml);
  const started: Engine[] = [];
  try {
    const [swasPort, promPort] = await freePorts(2);
    const common = {
      dir: ctx.dir,
      targets: targets.addresses,
      intervalSeconds: s.scrapeIntervalSeconds,
      readyTimeoutMs: READY_TIMEOUT_MS,
    };
    ctx.log(
      `${targets.totalSeries} series on ${targets.addresses.length} targets, ${s.rules} rules in ${s.groups} groups; starting swas and prometheus`,
    );
    const swas = await startSwas({
      ...common,
      port: swasPort ?? 0,
      extraYaml: `rules:\n  evaluation_interval: ${s.intervalSeconds}s\n  files: [${JSON.stringify(ruleFile)}]\n`,
    });
    started.push(swas);
    const prometheus = await startPrometheus({
      ...common,
      port: promPort ?? 0,
      extraYaml: `rule_files: [${JSON.stringify(ruleFile)}]\n`,
    });
    started.push(prometheus);
    await wait(ctx, s.warmupSeconds, 'warm-up: both engines fill the rules’ 5-minute ranges');
    ctx.log(`measuring ${s.measuredIntervals} evaluation intervals of ${s.intervalSeconds} s`);
    const engines = [swas, prometheus];
    const measured = await measure(engines, s.measuredIntervals, s.intervalSeconds, true);
    const mine = measured.get(swas);
    const peer = measured.get(prometheus);
    if (mine === undefined || peer === undefined) throw new Error('no measurements');
    const interval = `fraction of the ${s.intervalSeconds} s interval`;
    const scale = `${s.rules} rules in ${s.groups} groups, ${targets.totalSeries} series scraped every ${s.scrapeIntervalSeconds} s`;
    ctx.figure(`rule_eval_fraction_of_interval_${label}`, {
      ...compared(summarize(mine.groupFractions), summarize(peer.groupFractions), interval, 'median ≤ 0.2'),
      note: `sum over groups of the last evaluation's wall-clock duration (own metrics), read once per interval; Prometheus evaluates groups concurrently, swas one after another, so on a busy machine Prometheus's sum counts overlapping waits; ${scale}`,
    });
    ctx.figure(`rule_time_fraction_of_interval_${label}`, {
      ...compared(summarize(mine.ruleFractions), summarize(peer.ruleFractions), interval),
      note: 'sum over rules of each rule’s last evaluation time (/api/v1/rules evaluationTime)',
    });
    ctx.figure(`cpu_cores_used_${label}`, {
      ...compared(summarize(mine.cpuCores), summarize(peer.cpuCores), 'CPU s per s (scraping included)'),
      note: 'whole-process CPU over each measured interval, from /proc',
    });
    ctx.figure('iterations_missed', {
      value: round(mine.missed),
      unit: 'group evaluations skipped while measuring',
      peer: 'prometheus',
      peer_value: round(peer.missed),
    });
    await checkFigures(ctx, swas, prometheus, ruleSet.firingRules);
    await shapeFigures(ctx, swas, prometheus, ruleSet.shapeOf);
    if (s.baseline) {
      await dropRules(ctx, ruleFile, engines);
      await sleep(s.intervalSeconds * 1000);
      const baseline = await measure(engines, s.measuredIntervals, s.intervalSeconds, false);
      ctx.figure(`rule_cpu_fraction_of_interval_${label}`, {
        ...compared(
          ruleCpu(mine.cpuCores, baseline.get(swas)?.cpuCores ?? []),
          ruleCpu(peer.cpuCores, baseline.get(prometheus)?.cpuCores ?? []),
          interval,
          'median ≤ 0.2',
        ),
        note: 'process CPU per interval with the rules minus the median without them (same targets, rules dropped by SIGHUP); little moved by other load on the machine, unlike wall-clock durations, but lowered by skipped evaluations',
      });
      const mineNeeded = neededCpu(mine, baseline.get(swas)?.cpuCores ?? [], s.rules, s.intervalSeconds);
      const peerNeeded = neededCpu(
        peer,
        baseline.get(prometheus)?.cpuCores ?? [],
        s.rules,
        s.intervalSeconds,
      );
      ctx.figure(`rule_cpu_fraction_per_full_pass_${label}`, {
        value: round(mineNeeded),
        unit: interval,
        peer: 'prometheus',
        peer_value: round(peerNeeded),
        ratio: round(mineNeeded / peerNeeded, 3),
        goal: '≤ 0.2',
        note: `rule-evaluation CPU (as above, whole window) per rule evaluation done × ${s.rules} rules: the CPU one full pass needs, even when passes were skipped; rule evaluations done: swas ${mine.evaluations}, prometheus ${peer.evaluations}`,
      });
    }
  } finally {
    await Promise.all(started.map((e) => e.stop()));
    await targets.stop();
  }
}
