import { errorMessage } from '../core/index.js';
import type { Run, RunStep } from '../store/index.js';
import { windowDecision } from './guards/runGuards.js';
import { memberBeforeOf, type AllowedWindow, type PlannedStep } from './planRun.js';
import type { StepServices } from './ports.js';
import { isUndoStep, PHASE_PARAM, TIMEOUT_PARAM, WINDOWS_PARAM } from './runSteps.js';
import { STEP_HANDLERS, type StepOutcome } from './steps/index.js';

class StepTimeout extends Error {}

/**
 * Runs one persisted step's handler: refuses outside the step's allowed windows, gives it its timeout
 * (and a grace after it before aborting it outright), and turns exceptions into failed outcomes.
 * 'interrupted' when swas is shutting down.
 */
export async function invokeStep(
  services: StepServices,
  run: Run,
  step: RunStep,
  shutdown: AbortSignal,
  abortGraceMs: number,
): Promise<StepOutcome | 'interrupted'> {
  const handler = STEP_HANDLERS[step.action as PlannedStep['action']] as
    (typeof STEP_HANDLERS)[PlannedStep['action']] | undefined;
  if (handler === undefined) return { ok: false, error: `unknown action "${step.action}"` };
  const {
    [TIMEOUT_PARAM]: timeoutParam,
    [PHASE_PARAM]: _phase,
    [WINDOWS_PARAM]: windows,
    ...params
  } = step.params;
  const timeoutMs = Number(timeoutParam ?? 60_000);
  const now = services.now();
  const window = windowDecision(windows as readonly AllowedWindow[] | undefined, now);
  if (!window.ok) return { ok: false, error: `${step.action} may act only ${window.detail}` };
  const hardStop = new AbortController();
  const timer = setTimeout(() => hardStop.abort(new StepTimeout()), timeoutMs + abortGraceMs);
  const signal = AbortSignal.any([shutdown, hardStop.signal]);
  try {
    return await handler(
      {
        ...services,
        actor: `run:${run.id}`,
        runbook: run.runbook,
        signal,
        deadline: now + timeoutMs,
        undo: isUndoStep(step),
        memberBefore: memberBeforeOf(step),
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
