import type { Logger } from 'pino';
import type { RunbookConfig } from '../config/index.js';
import { errorMessage, type Labels } from '../core/index.js';
import type { Run, RunRepository, RunStep, RunWithSteps } from '../store/index.js';
import { planRun, runbookMatches, type PlannedStep } from './planRun.js';
import type { StepServices } from './ports.js';
import { STEP_HANDLERS, type StepOutcome } from './steps/index.js';

/** What the executor tells the rest of swas as a run progresses. */
export type RunEvent =
  | { readonly type: 'run.started' | 'run.parked' | 'run.resumed'; readonly run: Run }
  | {
      readonly type: 'step.started' | 'step.finished';
      readonly run: Run;
      readonly step: RunStep;
      readonly total: number;
    }
  | { readonly type: 'run.finished'; readonly run: Run; readonly escalate: boolean };

/** The outcome of asking for a run. */
export type StartResult =
  { readonly started: true; readonly run: Run } | { readonly started: false; readonly reason: string };

/** The executor's lifecycle: it starts nothing once it is stopping. */
export type ExecutorLifecycle = 'running' | 'stopping' | 'stopped';

/** Options for {@link RunExecutor.create}. */
export interface RunExecutorOptions {
  readonly runs: RunRepository;
  readonly services: StepServices;
  readonly observer: (event: RunEvent) => Promise<void>;
  readonly logger: Logger;
  /** Grace after a step's timeout before it is aborted outright. @default 5000 */
  readonly abortGraceMs?: number;
}

class ShutdownSignal extends Error {}
class StepTimeout extends Error {}
const TIMEOUT_PARAM = 'timeout_ms';

/**
 * Executes runbook runs durably: every run and step is written before and after it acts, so a restart
 * resumes unfinished runs at the first step that did not succeed (steps are idempotent or check first).
 */
export class RunExecutor {
  private runbooks = new Map<string, RunbookConfig>();
  private readonly active = new Map<string, { promise: Promise<void>; abort: AbortController }>();
  private readonly claimedTargets = new Set<string>();
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

  /** Plans and starts a run for an alert; refuses when the plan is invalid or the target is already being acted on. */
  async start(
    runbook: RunbookConfig,
    request: { labels: Labels; incidentId: number | null; trigger: Record<string, unknown> },
  ): Promise<StartResult> {
    if (this.state !== 'running') return { started: false, reason: 'swas is shutting down' };
    const plan = planRun(runbook, request.labels);
    if (!plan.ok) return { started: false, reason: `run not planned: ${plan.error}` };
    const key = targetKey(plan.target);
    // Claim the target synchronously first, so two alerts at the same instant cannot both start a run.
    if (this.claimedTargets.has(key))
      return { started: false, reason: `another run is already acting on ${describeTarget(plan.target)}` };
    this.claimedTargets.add(key);
    try {
      const busy = (await this.options.runs.listUnfinished()).find((r) => targetKey(r.target) === key);
      if (busy)
        return this.release(key, {
          started: false,
          reason: `run ${busy.id} (${busy.runbook}) is already acting on ${describeTarget(plan.target)}`,
        });
      const created = await this.options.runs.create(
        {
          runbook: runbook.name,
          incidentId: request.incidentId,
          target: plan.target,
          trigger: request.trigger,
          createdAt: this.options.services.now(),
        },
        plan.steps.map((s) => ({
          name: s.name,
          action: s.action,
          params: { ...s.params, [TIMEOUT_PARAM]: s.timeoutMs },
        })),
      );
      this.launch(created, 'run.started');
      return { started: true, run: created.run };
    } catch (error) {
      return this.release(key, { started: false, reason: `run not created: ${errorMessage(error)}` });
    }
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
    const promise = this.execute(full, event, abort.signal)
      .catch((error: unknown) =>
        this.options.logger.error({ err: error, run: full.run.id }, 'run execution failed unexpectedly'),
      )
      .finally(() => {
        this.active.delete(full.run.id);
        this.claimedTargets.delete(targetKey(full.run.target));
      });
    this.active.set(full.run.id, { promise, abort });
  }

  private async execute(
    full: RunWithSteps,
    event: 'run.started' | 'run.resumed',
    shutdown: AbortSignal,
  ): Promise<void> {
    const { runs, services } = this.options;
    let run =
      (await runs.update(full.run.id, {
        status: 'running',
        startedAt: full.run.startedAt ?? services.now(),
      })) ?? full.run;
    await this.tell({ type: event, run });
    const first = full.steps.findIndex((s) => s.status !== 'succeeded' && s.status !== 'skipped');
    for (let index = first === -1 ? full.steps.length : first; index < full.steps.length; index++) {
      if (this.state !== 'running') return this.park(run);
      const planned = full.steps[index];
      if (planned === undefined) break;
      run = (await runs.update(run.id, { currentStep: index })) ?? run;
      const started =
        (await runs.updateStep(run.id, index, {
          status: 'running',
          startedAt: services.now(),
          endedAt: null,
          error: null,
        })) ?? planned;
      await this.tell({ type: 'step.started', run, step: started, total: full.steps.length });
      const outcome = await this.runStep(run, planned, shutdown);
      if (outcome === 'interrupted') {
        await runs.updateStep(run.id, index, { status: 'pending', startedAt: null });
        return this.park(run);
      }
      const finished =
        (await runs.updateStep(run.id, index, {
          status: outcome.ok ? 'succeeded' : 'failed',
          endedAt: services.now(),
          result: { ...(outcome.result ?? {}), ...(outcome.ok ? { message: outcome.message } : {}) },
          error: outcome.ok ? null : outcome.error,
        })) ?? planned;
      await this.tell({ type: 'step.finished', run, step: finished, total: full.steps.length });
      if (!outcome.ok)
        return this.finish(run, 'failed', `step ${index + 1} (${planned.name}) failed: ${outcome.error}`);
    }
    return this.finish(run, 'succeeded', null);
  }

  private async runStep(
    run: Run,
    step: RunStep,
    shutdown: AbortSignal,
  ): Promise<StepOutcome | 'interrupted'> {
    const handler = STEP_HANDLERS[step.action as PlannedStep['action']] as
      (typeof STEP_HANDLERS)[PlannedStep['action']] | undefined;
    if (handler === undefined) return { ok: false, error: `unknown action "${step.action}"` };
    const timeoutMs = Number(step.params[TIMEOUT_PARAM] ?? 60_000);
    const now = this.options.services.now();
    const hardStop = new AbortController();
    const timer = setTimeout(
      () => hardStop.abort(new StepTimeout()),
      timeoutMs + (this.options.abortGraceMs ?? 5000),
    );
    const signal = AbortSignal.any([shutdown, hardStop.signal]);
    try {
      const { [TIMEOUT_PARAM]: _timeoutMs, ...params } = step.params;
      return await handler(
        {
          ...this.options.services,
          actor: `run:${run.id}`,
          runbook: run.runbook,
          signal,
          deadline: now + timeoutMs,
        },
        params,
      );
    } catch (error) {
      if (shutdown.aborted) return 'interrupted';
      if (hardStop.signal.aborted)
        return { ok: false, error: `step did not finish within its ${timeoutMs / 1000} s timeout` };
      return { ok: false, error: errorMessage(error) };
    } finally {
      clearTimeout(timer);
    }
  }

  private async park(run: Run): Promise<void> {
    const parked = (await this.options.runs.update(run.id, { status: 'parked' })) ?? run;
    await this.tell({ type: 'run.parked', run: parked });
  }

  private async finish(run: Run, status: 'succeeded' | 'failed', error: string | null): Promise<void> {
    const done =
      (await this.options.runs.update(run.id, { status, error, finishedAt: this.options.services.now() })) ??
      run;
    const escalate =
      status === 'failed' && (this.runbooks.get(run.runbook)?.on_failure ?? 'escalate') === 'escalate';
    await this.tell({ type: 'run.finished', run: done, escalate });
  }

  private async tell(event: RunEvent): Promise<void> {
    try {
      await this.options.observer(event);
    } catch (error) {
      this.options.logger.error({ err: error, event: event.type }, 'recording a run event failed');
    }
  }
}

function targetKey(target: Readonly<Record<string, string>>): string {
  return JSON.stringify(Object.entries(target).sort(([a], [b]) => (a < b ? -1 : 1)));
}

function describeTarget(target: Readonly<Record<string, string>>): string {
  if (target.pool !== undefined && target.member !== undefined) return `${target.pool}/${target.member}`;
  return Object.entries(target)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
}
