import type { RunbookConfig } from '../../config/index.js';
import { errorMessage, type GuardDecision } from '../../core/index.js';
import type { QuarantineRepository, RunRepository } from '../../store/index.js';
import type { PlannedStep, RunPlan } from '../planRun.js';
import type { LoadBalancerDirectory } from '../ports.js';
import { describeTarget, targetKey } from '../runSteps.js';
import type { MemberChange, PoolGuard } from './poolGuard.js';
import { checkStartGuards, windowDecision } from './runGuards.js';

/** One step as it would run, with the verdicts of the guards that apply to it now. */
export interface DryRunStep extends PlannedStep {
  readonly guards: readonly GuardDecision[];
}

/** Exactly what a run would do now, and what each guard says, without acting. */
export interface DryRunReport {
  readonly runbook: string;
  /** True when the run would start and no guard refuses any of its steps in the current state. */
  readonly ok: boolean;
  /** Why the runbook cannot be planned (a template or target problem), else null. */
  readonly error: string | null;
  readonly target: Readonly<Record<string, string>> | null;
  readonly guards: readonly GuardDecision[];
  readonly steps: readonly DryRunStep[];
  /** The declared undo steps, or `derived`: swas restores every member the run touched. */
  readonly undo: readonly PlannedStep[] | 'derived';
}

/** What a dry run reads. */
export interface DryRunDeps {
  readonly runs: RunRepository;
  readonly quarantines: QuarantineRepository;
  readonly lbs: LoadBalancerDirectory;
  readonly poolGuard: PoolGuard;
  readonly now: () => number;
}

/**
 * Evaluates every guard against the current state of load balancers, metrics and runs, as the run would
 * meet them if it started now. Load-balancer checks of later steps read today's pool, not the pool as the
 * earlier steps would leave it.
 */
export async function dryRun(deps: DryRunDeps, runbook: RunbookConfig, plan: RunPlan): Promise<DryRunReport> {
  if (!plan.ok)
    return {
      runbook: runbook.name,
      ok: false,
      error: plan.error,
      target: null,
      guards: [],
      steps: [],
      undo: [],
    };
  const key = targetKey(plan.target);
  const start = await checkStartGuards({
    runbook,
    target: plan.target,
    targetKey: key,
    targetCount: plan.targetCount,
    runs: deps.runs,
    quarantines: deps.quarantines,
    now: deps.now(),
    dryRun: true,
  });
  const guards = [...start.decisions, await concurrency(deps.runs, runbook, plan.target, key)];
  const steps: DryRunStep[] = [];
  for (const step of plan.steps) steps.push({ ...step, guards: await stepGuards(deps, step) });
  const ok = start.ok && guards.every((g) => g.ok) && steps.every((s) => s.guards.every((g) => g.ok));
  return {
    runbook: runbook.name,
    ok,
    error: null,
    target: plan.target,
    guards,
    steps,
    undo: plan.undo ?? 'derived',
  };
}

async function concurrency(
  runs: RunRepository,
  runbook: RunbookConfig,
  target: Readonly<Record<string, string>>,
  key: string,
): Promise<GuardDecision> {
  const unfinished = await runs.listUnfinished();
  const same = unfinished.find((r) => targetKey(r.target) === key);
  if (same !== undefined)
    return {
      guard: 'concurrency',
      ok: false,
      detail: `run ${same.id} (${same.runbook}) is already acting on ${describeTarget(target)}`,
    };
  const pool = target.pool;
  const samePool =
    pool === undefined || runbook.guards.concurrency === 'independent'
      ? []
      : unfinished.filter((r) => r.target.pool === pool);
  return {
    guard: 'concurrency',
    ok: true,
    detail:
      samePool.length === 0
        ? 'no other run acts on this target or its pool'
        : `would wait for ${samePool.map((r) => `run ${r.id} (${r.runbook})`).join(', ')} on pool ${pool}`,
  };
}

async function stepGuards(deps: DryRunDeps, step: PlannedStep): Promise<GuardDecision[]> {
  const decisions: GuardDecision[] = [];
  if (step.allowedWindows !== undefined) decisions.push(windowDecision(step.allowedWindows, deps.now()));
  const change = changeOf(step);
  if (change === null) return decisions;
  const pool = String(step.params.pool);
  const member = String(step.params.member);
  const lb = deps.lbs.forPool(pool);
  if (lb === null) {
    decisions.push({ guard: 'blast_radius', ok: false, detail: `no load balancer serves pool "${pool}"` });
    return decisions;
  }
  try {
    const check = await deps.poolGuard.check(lb, pool, member, change);
    decisions.push(...check.decisions);
    if (!check.ok && check.fallback !== null)
      decisions.push({
        guard: 'capacity',
        ok: false,
        detail:
          check.fallback === 'shed'
            ? `fallback: shed the member's weight${check.shedTo === null ? '' : ` down to ${check.shedTo}`} and wait for capacity until the step timeout, paging once`
            : 'fallback: refuse and page',
      });
  } catch (error) {
    decisions.push({
      guard: 'blast_radius',
      ok: false,
      detail: `cannot read the pool: ${errorMessage(error)}`,
    });
  }
  return decisions;
}

// The load-balancer change a step would make, for the pool guards.
function changeOf(step: PlannedStep): MemberChange | null {
  if (step.action === 'lb.drain' || step.action === 'lb.maint') return { kind: 'out' };
  if (step.action === 'lb.weight') return { kind: 'weight', weight: Number(step.params.weight) };
  return null;
}
