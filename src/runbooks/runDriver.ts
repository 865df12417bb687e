import type { Logger } from 'pino';
import type { RunbookConfig } from '../config/index.js';
import { errorMessage } from '../core/index.js';
import type { QuarantineRepository, Run, RunRepository, RunStep, RunWithSteps } from '../store/index.js';
import { PoolTurns } from './guards/poolTurns.js';
import { invokeStep } from './invokeStep.js';
import { deriveUndo } from './planRun.js';
import type { StepServices } from './ports.js';
import { captureMemberBefore, isUndoStep, RESUMABLE_ACTION, toNewStep } from './runSteps.js';
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

type ForwardOutcome =
  { readonly kind: 'done' | 'parked' } | { readonly kind: 'failed'; readonly reason: string };

/**
 * Keeps reconciliation and a run's load-balancer steps apart: while one holds the run, the other waits.
 */
export class LbGate {
  private readonly holds = new Map<string, Promise<unknown>>();
  private readonly actingOnLb = new Set<string>();

  /** Runs a load-balancer step of `runId` once no hold is on the run, marking the run as acting meanwhile. */
  async acting<T>(runId: string, step: () => Promise<T>): Promise<T> {
    for (let hold = this.holds.get(runId); hold !== undefined; hold = this.holds.get(runId)) await hold;
    this.actingOnLb.add(runId);
    try {
      return await step();
    } finally {
      this.actingOnLb.delete(runId);
    }
  }

  /** Runs `fn` holding `runId`, or returns null when a step of the run is acting now or it is already held. */
  async hold<T>(runId: string, fn: () => Promise<T>): Promise<{ value: T } | null> {
    if (this.actingOnLb.has(runId) || this.holds.has(runId)) return null;
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
}

/**
 * Drives one run at a time through its steps: every run and step is written before and after it acts, so a
 * restart resumes at the first step that did not succeed. A run that fails, is cancelled or cannot resume
 * runs its undo path (persisted and resumable too), then asks to escalate. A running run with an `error`
 * is in its undo path.
 */
export class RunDriver {
  readonly lbGate = new LbGate();
  // Runs on one pool take turns unless their runbook is independent.
  private readonly poolTurns = new PoolTurns();

  constructor(
    private readonly options: RunExecutorOptions,
    private readonly runbookNamed: (name: string) => RunbookConfig | undefined,
    private readonly isRunning: () => boolean,
  ) {}

  /** Executes a run to its end (or until it parks), taking its turn on its pool first. */
  async execute(
    full: RunWithSteps,
    event: 'run.started' | 'run.resumed',
    shutdown: AbortSignal,
    cancel: AbortSignal,
  ): Promise<void> {
    const pool = full.run.target.pool;
    const independent = this.runbookNamed(full.run.runbook)?.guards.concurrency === 'independent';
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
      if (!this.isRunning() || shutdown.aborted) return { kind: 'parked' };
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
    if (!planned.action.startsWith('lb.')) return this.runOneStep(run, planned, total, shutdown);
    return this.lbGate.acting(run.id, () => this.runOneStep(run, planned, total, shutdown));
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
    const outcome = captured.ok ? await this.runStep(run, started, shutdown) : captured;
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
      if (!this.isRunning() || shutdown.aborted) return this.park(run);
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
      (status === 'failed' && (this.runbookNamed(run.runbook)?.on_failure ?? 'escalate') === 'escalate');
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
