import type { RunEvent } from '../runbooks/index.js';

/** A timeline entry to write, without its incident and time. */
export interface Note {
  readonly kind: string;
  readonly message: string;
  readonly data: Record<string, unknown>;
}

/** What a run event adds to its incident's timeline. */
export function runEventNote(event: RunEvent): Note {
  const { run } = event;
  switch (event.type) {
    case 'run.started':
    case 'run.resumed':
      return {
        kind: event.type,
        message: `runbook ${run.runbook} ${event.type === 'run.started' ? 'started' : 'resumed after a restart'} on ${targetText(run.target)}`,
        data: { runId: run.id },
      };
    case 'run.parked':
      return {
        kind: 'run.parked',
        message: `runbook ${run.runbook} parked at step ${run.currentStep + 1} while swas shuts down; it resumes on restart`,
        data: { runId: run.id },
      };
    case 'step.started':
      return {
        kind: 'step.started',
        message: `step ${event.step.index + 1}/${event.total} ${event.step.name} started`,
        data: { runId: run.id, step: event.step.index },
      };
    case 'step.finished': {
      const ok = event.step.status === 'succeeded';
      const message = event.step.result?.message;
      const detail = ok ? (typeof message === 'string' ? message : 'done') : (event.step.error ?? 'failed');
      return {
        kind: ok ? 'step.succeeded' : 'step.failed',
        message: `step ${event.step.index + 1}/${event.total} ${event.step.name}: ${detail}`,
        data: { runId: run.id, step: event.step.index },
      };
    }
    case 'run.finished':
      return {
        kind: `run.${run.status}`,
        message: `runbook ${run.runbook} ${run.status}${run.error ? `: ${run.error}` : ''}`,
        data: { runId: run.id },
      };
  }
}

/** A run's target as people read it: `web/web-1`, or its labels. */
export function targetText(target: Readonly<Record<string, string>>): string {
  if (target.pool !== undefined && target.member !== undefined) return `${target.pool}/${target.member}`;
  return (
    Object.entries(target)
      .map(([k, v]) => `${k}=${v}`)
      .join(', ') || 'no target'
  );
}
