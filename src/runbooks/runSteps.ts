import { errorMessage } from '../core/index.js';
import type { NewRunStep, RunStep } from '../store/index.js';
import type { PlannedStep } from './planRun.js';
import type { LoadBalancerDirectory } from './ports.js';

/** The step's timeout in ms, stored with its params. */
export const TIMEOUT_PARAM = 'timeout_ms';
/** The windows a persisted step may act in, stored with its params. */
export const WINDOWS_PARAM = 'allowed_windows';
/** Marks a persisted step as part of the undo path (`params.phase = 'undo'`). */
export const PHASE_PARAM = 'phase';
/**
 * Actions safe to run again when a crash left them 'running': they check before acting (lb.*), only
 * observe (wait.until, verify, http), keep their state in the store (approve), end in the same state when
 * repeated (service.*), or at worst repeat a message (notify, page). Any other action found interrupted
 * (host.reboot, run: a second reboot or a second run of a command may do harm) sends the run down its
 * undo path instead.
 */
export const RESUMABLE_ACTION = /^(lb|service)\.|^(wait\.until|verify|http|approve|notify|page)$/;

/** True for a persisted step that belongs to the run's undo path. */
export function isUndoStep(step: Pick<RunStep, 'params'>): boolean {
  return step.params[PHASE_PARAM] === 'undo';
}

/**
 * Before a load-balancer step first acts, records the member's state so the undo path can restore it.
 * A resumed step keeps what it recorded the first time. A load balancer that cannot answer fails the step.
 */
export async function captureMemberBefore(
  lbs: LoadBalancerDirectory,
  step: RunStep,
): Promise<
  | { ok: true; result: Record<string, unknown> | null }
  | { ok: false; error: string; result?: Record<string, unknown> }
> {
  if (!step.action.startsWith('lb.') || step.result?.memberBefore !== undefined)
    return { ok: true, result: step.result };
  const { pool, member } = step.params;
  if (typeof pool !== 'string' || typeof member !== 'string') return { ok: true, result: step.result };
  try {
    const lb = lbs.forPool(pool);
    if (lb === null) return { ok: true, result: step.result };
    const m = await lb.getMember(pool, member);
    return {
      ok: true,
      result: { ...(step.result ?? {}), memberBefore: { pool, member, admin: m.admin, weight: m.weight } },
    };
  } catch (error) {
    return { ok: false, error: `reading ${pool}/${member} before acting failed: ${errorMessage(error)}` };
  }
}

/** A planned step as the store keeps it: timeout and phase ride in its params. */
export function toNewStep(step: PlannedStep, phase?: 'undo'): NewRunStep {
  return {
    name: step.name,
    action: step.action,
    params: {
      ...step.params,
      [TIMEOUT_PARAM]: step.timeoutMs,
      ...(step.allowedWindows === undefined ? {} : { [WINDOWS_PARAM]: step.allowedWindows }),
      ...(phase === undefined ? {} : { [PHASE_PARAM]: phase }),
    },
  };
}

/** One key per target, whatever the order of its fields. */
export function targetKey(target: Readonly<Record<string, string>>): string {
  return JSON.stringify(Object.entries(target).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** A target as people read it: pool/member, or its fields. */
export function describeTarget(target: Readonly<Record<string, string>>): string {
  if (target.pool !== undefined && target.member !== undefined) return `${target.pool}/${target.member}`;
  return Object.entries(target)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
}
