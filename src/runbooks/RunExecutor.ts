import type { Logger } from 'pino';
import type { RunbookConfig } from '../config/index.js';
import { errorMessage, type Labels } from '../core/index.js';
import type { QuarantineRepository, Run, RunRepository, RunStep, RunWithSteps } from '../store/index.js';
import { dryRun, type DryRunReport } from './guards/dryRun.js';
import { leaveOutOfRotation } from './guards/quarantine.js';
import { PoolTurns } from './guards/poolTurns.js';
import { checkStartGuards } from './guards/runGuards.js';
import { invokeStep } from './invokeStep.js';
import { deriveUndo, planRolling, runbookMatches, type RunPlan } from './planRun.js';
import type { StepServices } from './ports.js';
import {
  captureMemberBefore,
  describeTarget,
  isUndoStep,
  RESUMABLE_ACTION,
  targetKey,
  toNewStep,
} from './runSteps.js';
import type { StepOutcome } from './steps/index.js';

/** What the executor tells the rest of swas as a run progresses. */
export type RunEvent =
  | { readonly type: 'run.started' | 'run.parked' | 'run.resumed'; readonly run: Run }
  | {
      readonly type: 'step.started' | 'step.finished';
      readonly run: Run;
      readonly step: RunStep;
      readonly total: number;
    }
  | {
      readonly type: 'run.finished';
      readonly run: Run;
      readonly escalate: boolean;
      /** 'done' when the run's undo path put everything back, 'failed' when some undo step failed. */
      readonly undo: 'none' | 'done' | 'failed';
    };

/** The outcome of asking for a run; a refusal says whether a human must hear of it. */
export type StartResult =
  | { readonly started: true; readonly run: Run }
  | { readonly started: false; readonly reason: string; readonly escalate: boolean };

/** The executor's lifecycle: it starts nothing once it is stopping. */
export type ExecutorLifecycle = 'running' | 'stopping' | 'stopped';

/** Options for {@link RunExecutor.create}. */
export interface RunExecutorOptions {
  readonly runs: RunRepository;
  readonly quarantines: QuarantineRepository;
  readonly services: StepServices;
  readonly observer: (event: RunEvent) => Promise<void>;
  readonly logger: Logger;
  /** Grace after a step's timeout before it is aborted outright. @default 5000 */
  readonly abortGraceMs?: number;
}

class ShutdownSignal extends Error {}
class CancelSignal extends Error {}
type ForwardOutcome =
  { readonly kind: 'done' | 'parked' } | { readonly kind: 'failed'; readonly reason: string };

/**
 * Executes runbook runs durably: every run and step is written before and after it acts, so a restart
 * resumes unfinished runs at the first step that did not succeed (steps are idempotent or check first).
 * A run that fails, is cancelled or cannot resume runs its undo path (persisted and resumable too), then
 * asks to escalate. A running run with an `error` is in its undo path.
 */
export class RunExecutor {
  private runbooks = new Map<string, RunbookConfig>();
  private readonly active = new Map<
    string,
    { promise: Promise<void>; abort: AbortController; cancel: AbortController }
  >();
  private readonly claimedTargets = new Set<string>();
  // Reconciliation and load-balancer steps of the same run exclude each other (see holdRun).
  private readonly holds = new Map<string, Promise<unknown>>();
  private readonly actingOnLb = new Set<string>();
  // Runs on one pool take turns unless their runbook is independent.
  private readonly poolTurns = new PoolTurns();
  private state: ExecutorLifecycle = 'running';

  private constructor(private readonly options: RunExecutorOptions) {}

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
    if (!this.active.has(runId) || this.actingOnLb.has(runId) || this.holds.has(runId)) return null;
    const pending = fn();
    this.holds.set(
      runId,
      pending.catch(() => undefined),
    );
    try {
      return { value: await pending };
    } finally {
      this.holds.delete(runId);
    }
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
    const promise = this.execute(full, event, abort.signal, cancel.signal)
      .catch((error: unknown) =>
        this.options.logger.error({ err: error, run: full.run.id }, 'run execution failed unexpectedly'),
      )
      .finally(() => {
        this.active.delete(full.run.id);
        this.claimedTargets.delete(targetKey(full.run.target));
      });
    this.active.set(full.run.id, { promise, abort, cancel });
  }

  private async execute(
    full: RunWithSteps,
    event: 'run.started' | 'run.resumed',
    shutdown: AbortSignal,
    cancel: AbortSignal,
  ): Promise<void> {
    const pool = full.run.target.pool;
    const independent = this.runbooks.get(full.run.runbook)?.guards.concurrency === 'independent';
    const release =
      pool === undefined || independent
        ? () => undefined
        : await this.poolTurns.wait(pool, AbortSignal.any([shutdown, cancel]));
    try {
      await this.executeInTurn(full, event, shutdown, cancel);
    } finally {
      release();
    }
  }

  private async executeInTurn(
    full: RunWithSteps,
    event: 'run.started' | 'run.resumed',
    shutdown: AbortSignal,
    cancel: AbortSignal,
  ): Promise<void> {
    const { runs, services } = this.options;
    let run =
      (await runs.update(full.run.id, {
        status: 'running',
        startedAt: full.run.startedAt ?? services.now(),
      })) ?? full.run;
    await this.tell({ type: event, run });
    if (run.error !== null) return this.undo(run, run.error, 'failed', shutdown);
    const outcome = await this.runForward(run, full.steps, AbortSignal.any([shutdown, cancel]));
    if (outcome.kind === 'done') return this.finish(run, 'succeeded', null, 'none');
    if (outcome.kind === 'parked' && !cancel.aborted) return this.park(run);
    const reason = outcome.kind === 'failed' ? outcome.reason : errorMessage(cancel.reason);
    // Persist the decision before undoing anything: a crash from here on resumes the undo path.
    run = (await runs.update(run.id, { error: reason })) ?? run;
    return this.undo(run, reason, cancel.aborted ? 'cancelled' : 'failed', shutdown);
  }

  // The forward steps, from the first that did not succeed.
  private async runForward(
    initial: Run,
    steps: readonly RunStep[],
    shutdown: AbortSignal,
  ): Promise<ForwardOutcome> {
    const forward = steps.filter((s) => !isUndoStep(s));
    const first = forward.findIndex((s) => s.status !== 'succeeded' && s.status !== 'skipped');
    if (first === -1) return { kind: 'done' };
    const interrupted = forward[first];
    if (interrupted?.status === 'running' && !RESUMABLE_ACTION.test(interrupted.action))
      return {
        kind: 'failed',
        reason: `step ${first + 1} (${interrupted.name}) was interrupted by a restart and ${interrupted.action} is not safe to repeat`,
      };
    let run = initial;
    for (const planned of forward.slice(first)) {
      if (this.state !== 'running' || shutdown.aborted) return { kind: 'parked' };
      run = (await this.options.runs.update(run.id, { currentStep: planned.index })) ?? run;
      const finished = await this.runOne(run, planned, forward.length, shutdown);
      if (finished === 'interrupted') return { kind: 'parked' };
      if (finished.status !== 'succeeded')
        return {
          kind: 'failed',
          reason: `step ${planned.index + 1} (${planned.name}) failed: ${finished.error ?? 'failed'}`,
        };
    }
    return { kind: 'done' };
  }

  // Runs one persisted step: marks it running (with the member state before it acts), runs it, records it.
  private async runOne(
    run: Run,
    planned: RunStep,
    total: number,
    shutdown: AbortSignal,
  ): Promise<RunStep | 'interrupted'> {
    const onLb = planned.action.startsWith('lb.');
    if (onLb) {
      for (let hold = this.holds.get(run.id); hold !== undefined; hold = this.holds.get(run.id)) await hold;
      this.actingOnLb.add(run.id);
    }
    try {
      return await this.runOneStep(run, planned, total, shutdown);
    } finally {
      if (onLb) this.actingOnLb.delete(run.id);
    }
  }

  private async runOneStep(
    run: Run,
    planned: RunStep,
    total: number,
    shutdown: AbortSignal,
  ): Promise<RunStep | 'interrupted'> {
    const { runs, services } = this.options;
    const captured = await captureMemberBefore(this.options.services.lbs, planned);
    const started =
      (await runs.updateStep(run.id, planned.index, {
        status: 'running',
        startedAt: services.now(),
        endedAt: null,
        error: null,
        result: captured.ok ? captured.result : planned.result,
      })) ?? planned;
    await this.tell({ type: 'step.started', run, step: started, total });
    const outcome = captured.ok ? await this.runStep(run, planned, shutdown) : captured;
    if (outcome === 'interrupted') {
      await runs.updateStep(run.id, planned.index, { status: 'pending', startedAt: null });
      return 'interrupted';
    }
    const finished =
      (await runs.updateStep(run.id, planned.index, {
        status: outcome.ok ? 'succeeded' : 'failed',
        endedAt: services.now(),
        result: {
          ...(outcome.result ?? {}),
          ...(outcome.ok ? { message: outcome.message } : {}),
          ...(started.result?.memberBefore === undefined
            ? {}
            : { memberBefore: started.result.memberBefore }),
        },
        error: outcome.ok ? null : outcome.error,
      })) ?? planned;
    await this.tell({ type: 'step.finished', run, step: finished, total });
    return finished;
  }

  /**
   * The undo path: the runbook's `undo:` steps, or the derived restore of every member the run touched.
   * Every undo step runs even when one fails, so one stuck member does not keep the others out of rotation.
   */
  private async undo(
    initial: Run,
    reason: string,
    status: 'failed' | 'cancelled',
    shutdown: AbortSignal,
  ): Promise<void> {
    const { runs } = this.options;
    let full = await runs.get(initial.id);
    if (full === null) return;
    if (!full.steps.some(isUndoStep)) {
      const derived = deriveUndo(full.steps);
      if (derived.length > 0) {
        await runs.appendSteps(
          initial.id,
          derived.map((s) => toNewStep(s, 'undo')),
        );
        full = (await runs.get(initial.id)) ?? full;
      }
    }
    const undo = full.steps.filter(isUndoStep);
    let run = full.run;
    const failed: string[] = [];
    for (const step of undo) {
      if (step.status === 'succeeded' || step.status === 'skipped') continue;
      if (step.status === 'failed') {
        failed.push(`${step.name}: ${step.error ?? 'failed'}`);
        continue;
      }
      if (this.state !== 'running' || shutdown.aborted) return this.park(run);
      run = (await runs.update(run.id, { currentStep: step.index })) ?? run;
      const finished = await this.runOne(run, step, full.steps.length, shutdown);
      if (finished === 'interrupted') return this.park(run);
      if (finished.status !== 'succeeded') failed.push(`${step.name}: ${finished.error ?? 'failed'}`);
    }
    const summary =
      undo.length === 0
        ? 'nothing to undo'
        : failed.length === 0
          ? `undone (${undo.length} undo steps succeeded)`
          : `undo failed: ${failed.join('; ')}`;
    return this.finish(run, status, `${reason}; ${summary}`, failed.length === 0 ? 'done' : 'failed');
  }

  private runStep(run: Run, step: RunStep, shutdown: AbortSignal): Promise<StepOutcome | 'interrupted'> {
    return invokeStep(this.options.services, run, step, shutdown, this.options.abortGraceMs ?? 5000);
  }

  private async park(run: Run): Promise<void> {
    const parked = (await this.options.runs.update(run.id, { status: 'parked' })) ?? run;
    await this.tell({ type: 'run.parked', run: parked });
  }

  private async finish(
    run: Run,
    status: 'succeeded' | 'failed' | 'cancelled',
    error: string | null,
    undo: 'none' | 'done' | 'failed',
  ): Promise<void> {
    const done =
      (await this.options.runs.update(run.id, { status, error, finishedAt: this.options.services.now() })) ??
      run;
    // A failed undo always escalates: a member may be out of rotation with no run that owns it.
    const escalate =
      undo === 'failed' ||
      (status === 'failed' && (this.runbooks.get(run.runbook)?.on_failure ?? 'escalate') === 'escalate');
    await this.tell({ type: 'run.finished', run: done, escalate, undo });
  }

  private async tell(event: RunEvent): Promise<void> {
    try {
      await this.options.observer(event);
    } catch (error) {
      this.options.logger.error({ err: error, event: event.type }, 'recording a run event failed');
    }
  }
}

function refused(reason: string, escalate: boolean): StartResult {
  return { started: false, reason, escalate };
}
