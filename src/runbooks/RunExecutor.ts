import type { RunbookConfig } from '../config/index.js';
import { errorMessage, type Labels } from '../core/index.js';
import type { Run, RunWithSteps } from '../store/index.js';
import { dryRun, type DryRunReport } from './guards/dryRun.js';
import { leaveOutOfRotation } from './guards/quarantine.js';
import { checkStartGuards } from './guards/runGuards.js';
import { planRolling, runbookMatches, type RunPlan } from './planRun.js';
import { RunDriver, type RunExecutorOptions } from './runDriver.js';
import { describeTarget, targetKey, toNewStep } from './runSteps.js';

export type { RunEvent, RunExecutorOptions } from './runDriver.js';

/** The outcome of asking for a run; a refusal says whether a human must hear of it. */
export type StartResult =
  | { readonly started: true; readonly run: Run }
  | { readonly started: false; readonly reason: string; readonly escalate: boolean };

/** The executor's lifecycle: it starts nothing once it is stopping. */
export type ExecutorLifecycle = 'running' | 'stopping' | 'stopped';

class ShutdownSignal extends Error {}
class CancelSignal extends Error {}

/**
 * Starts, resumes, cancels and stops runbook runs: plans a run, claims its target, checks the start guards,
 * records it and hands it to the {@link RunDriver}, which executes it durably (resumable after a crash at
 * the first step that did not succeed; failures and cancels take the undo path).
 */
export class RunExecutor {
  private runbooks = new Map<string, RunbookConfig>();
  private readonly active = new Map<
    string,
    { promise: Promise<void>; abort: AbortController; cancel: AbortController }
  >();
  private readonly claimedTargets = new Set<string>();
  private state: ExecutorLifecycle = 'running';
  private readonly driver: RunDriver;

  private constructor(private readonly options: RunExecutorOptions) {
    this.driver = new RunDriver(
      options,
      (name) => this.runbooks.get(name),
      () => this.state === 'running',
    );
  }

  /** Builds an executor; call {@link setRunbooks} and {@link resumeUnfinished} before use. */
  static create(options: RunExecutorOptions): RunExecutor {
    return new RunExecutor(options);
  }

  get lifecycle(): ExecutorLifecycle {
    return this.state;
  }

  /** Replaces the runbook set (start-up and reload). Runs in flight keep the steps they were planned with. */
  setRunbooks(runbooks: readonly RunbookConfig[]): void {
    this.runbooks = new Map(runbooks.map((r) => [r.name, r]));
  }

  /** Runbooks an alert with these labels triggers. */
  runbooksFor(labels: Labels): RunbookConfig[] {
    return [...this.runbooks.values()].filter((r) => runbookMatches(r, labels));
  }

  /**
   * Plans and starts a run (for an alert, or a person). Refuses when the plan is invalid, the target is
   * already being acted on, or a start guard says no (target sanity, quarantine, flap budget, windows);
   * spending the flap budget quarantines the target and leaves it out of rotation if the pool allows.
   */
  async start(
    runbook: RunbookConfig,
    request: { labels: Labels; incidentId: number | null; trigger: Record<string, unknown> },
  ): Promise<StartResult> {
    if (this.state !== 'running') return refused('swas is shutting down', false);
    const plan = await this.plan(runbook, request.labels);
    if (!plan.ok) return refused(`run not planned: ${plan.error}`, true);
    const key = targetKey(plan.target);
    // Claim the target synchronously first, so two alerts at the same instant cannot both start a run.
    if (this.claimedTargets.has(key))
      return refused(`another run is already acting on ${describeTarget(plan.target)}`, false);
    this.claimedTargets.add(key);
    try {
      const busy = (await this.options.runs.listUnfinished()).find((r) => targetKey(r.target) === key);
      if (busy)
        return this.release(
          key,
          refused(
            `run ${busy.id} (${busy.runbook}) is already acting on ${describeTarget(plan.target)}`,
            false,
          ),
        );
      const { services } = this.options;
      const guards = await checkStartGuards({
        runbook,
        target: plan.target,
        targetKey: key,
        targetCount: plan.targetCount,
        runs: this.options.runs,
        quarantines: this.options.quarantines,
        now: services.now(),
      });
      if (!guards.ok) {
        const q = guards.quarantined;
        const leftOut = q === undefined ? '' : `; ${await leaveOutOfRotation(services, q.quarantine)}`;
        return this.release(key, refused(`${guards.reason}${leftOut}`, guards.escalate));
      }
      const created = await this.options.runs.create(
        {
          runbook: runbook.name,
          incidentId: request.incidentId,
          target: plan.target,
          trigger: { ...request.trigger, guards: guards.decisions },
          createdAt: services.now(),
        },
        [...plan.steps.map((s) => toNewStep(s)), ...(plan.undo ?? []).map((s) => toNewStep(s, 'undo'))],
      );
      this.launch(created, 'run.started');
      return { started: true, run: created.run };
    } catch (error) {
      return this.release(key, refused(`run not created: ${errorMessage(error)}`, true));
    }
  }

  /** What a run of `runbook` for these labels would do now, with every guard's verdict; acts on nothing. */
  async dryRun(runbook: RunbookConfig, labels: Labels): Promise<DryRunReport> {
    const { services, runs, quarantines } = this.options;
    return dryRun(
      { runs, quarantines, lbs: services.lbs, poolGuard: services.poolGuard, now: services.now },
      runbook,
      await this.plan(runbook, labels),
    );
  }

  private plan(runbook: RunbookConfig, labels: Labels): Promise<RunPlan> {
    return planRolling(runbook, labels, async (pool) => {
      const lb = this.options.services.lbs.forPool(pool);
      if (lb === null) throw new Error(`no load balancer serves pool "${pool}"`);
      return (await lb.listMembers(pool)).map((m) => m.name);
    });
  }

  /** Resumes runs a crash or shutdown left unfinished, at their first step that did not succeed. */
  async resumeUnfinished(): Promise<number> {
    const unfinished = await this.options.runs.listUnfinished();
    for (const run of unfinished) {
      const full = await this.options.runs.get(run.id);
      if (full === null) continue;
      this.claimedTargets.add(targetKey(full.run.target));
      this.launch(full, 'run.resumed');
    }
    return unfinished.length;
  }

  /** Stops starting steps, lets steps in flight finish up to `timeoutMs`, then parks every unfinished run. */
  async shutdown(timeoutMs: number): Promise<void> {
    this.state = 'stopping';
    const all = [...this.active.values()];
    const timer = setTimeout(
      () => all.forEach((a) => a.abort.abort(new ShutdownSignal('swas is shutting down'))),
      timeoutMs,
    );
    await Promise.allSettled(all.map((a) => a.promise));
    clearTimeout(timer);
    this.state = 'stopped';
  }

  /** Cancels a run: its forward steps stop and its undo path runs. False when the run is not active here. */
  cancel(runId: string, by: string): boolean {
    const active = this.active.get(runId);
    if (active === undefined) return false;
    active.cancel.abort(new CancelSignal(`cancelled by ${by}`));
    return true;
  }

  /**
   * Runs `fn` while no step of the run is acting on the load balancer, and keeps the run's next
   * load-balancer step waiting until `fn` is done, so reconciliation never races a step. Returns null
   * (without calling `fn`) when a load-balancer step is acting now or the run is not active here.
   */
  async holdRun<T>(runId: string, fn: () => Promise<T>): Promise<{ value: T } | null> {
    if (!this.active.has(runId)) return null;
    return this.driver.lbGate.hold(runId, fn);
  }

  /** Runs being executed now. */
  activeRunIds(): string[] {
    return [...this.active.keys()];
  }

  private release<T>(key: string, value: T): T {
    this.claimedTargets.delete(key);
    return value;
  }

  private launch(full: RunWithSteps, event: 'run.started' | 'run.resumed'): void {
    const abort = new AbortController();
    const cancel = new AbortController();
    const promise = this.driver
      .execute(full, event, abort.signal, cancel.signal)
      .catch((error: unknown) =>
        this.options.logger.error({ err: error, run: full.run.id }, 'run execution failed unexpectedly'),
      )
      .finally(() => {
        this.active.delete(full.run.id);
        this.claimedTargets.delete(targetKey(full.run.target));
      });
    this.active.set(full.run.id, { promise, abort, cancel });
  }
}

function refused(reason: string, escalate: boolean): StartResult {
  return { started: false, reason, escalate };
}
