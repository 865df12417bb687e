import type { RunbookConfig, RunbookStepConfig } from '../config/index.js';
import { expandTemplate, type Labels, type TemplateScope } from '../core/index.js';

/** A step with every template expanded and every default filled in: exactly what will run. */
export interface PlannedStep {
  readonly name: string;
  readonly action: RunbookStepConfig['action'];
  readonly timeoutMs: number;
  readonly params: Readonly<Record<string, unknown>>;
}

/** A concrete run: its target and steps, or why it cannot run. */
export type RunPlan =
  | {
      readonly ok: true;
      readonly target: Readonly<Record<string, string>>;
      readonly steps: readonly PlannedStep[];
      /** The runbook's declared `undo:` steps; null when swas derives the undo from what the run changed. */
      readonly undo: readonly PlannedStep[] | null;
    }
  | { readonly ok: false; readonly error: string };

/** True when an alert with these labels triggers this runbook. */
export function runbookMatches(runbook: RunbookConfig, labels: Labels): boolean {
  if (labels.alertname === undefined || !runbook.trigger.alert.includes(labels.alertname)) return false;
  return Object.entries(runbook.trigger.match).every(([name, value]) => labels[name] === value);
}

/**
 * Expands a runbook against an alert's labels. Any template that comes out empty aborts the plan:
 * an empty target must never widen a run (DESIGN §6.1).
 */
export function planRun(runbook: RunbookConfig, labels: Labels): RunPlan {
  const target: Record<string, string> = {};
  for (const [field, template] of Object.entries(runbook.target)) {
    const expanded = expandTemplate(template, { labels });
    if (!expanded.ok) return { ok: false, error: `target.${field}: ${expanded.error}` };
    target[field] = expanded.value;
  }
  const scope: TemplateScope = { labels, target };
  const steps = planSteps(runbook.steps, 'steps', scope, target);
  if (!steps.ok) return steps;
  if (runbook.undo === undefined) return { ok: true, target, steps: steps.value, undo: null };
  const undo = planSteps(runbook.undo, 'undo', scope, target);
  if (!undo.ok) return undo;
  return { ok: true, target, steps: steps.value, undo: undo.value };
}

function planSteps(
  configured: readonly RunbookStepConfig[],
  field: 'steps' | 'undo',
  scope: TemplateScope,
  target: Readonly<Record<string, string>>,
): { ok: true; value: PlannedStep[] } | { ok: false; error: string } {
  const steps: PlannedStep[] = [];
  for (const [index, step] of configured.entries()) {
    const params = planParams(step, scope, target);
    if (!params.ok) return { ok: false, error: `${field}[${index}] (${step.action}): ${params.error}` };
    steps.push({
      name: step.name ?? defaultName(step.action, params.value),
      action: step.action,
      timeoutMs: step.timeout,
      params: params.value,
    });
  }
  return { ok: true, value: steps };
}

/** A member's admin state and weight before a run first touched it, as the executor persisted it. */
export interface MemberBefore {
  readonly pool: string;
  readonly member: string;
  readonly admin: string;
  readonly weight: number;
}

/** What {@link deriveUndo} reads from each persisted step. */
export interface StepRecord {
  readonly status: string;
  readonly result: Readonly<Record<string, unknown>> | null;
}

const UNDO_TIMEOUT_MS = 30_000;

/**
 * The safe default undo: every member the run touched goes back to the admin state and weight it had
 * before the run first touched it. Reads only persisted step results, so it gives the same answer after
 * a crash.
 */
export function deriveUndo(steps: readonly StepRecord[]): PlannedStep[] {
  const first = new Map<string, MemberBefore>();
  for (const step of steps) {
    const before = memberBeforeOf(step);
    // Even a step put back to 'pending' by a shutdown may have acted before it was interrupted.
    if (before === null) continue;
    const key = `${before.pool}/${before.member}`;
    if (!first.has(key)) first.set(key, before);
  }
  return [...first.values()].flatMap((b): PlannedStep[] => {
    const member = { pool: b.pool, member: b.member };
    const state: PlannedStep =
      b.admin === 'ready'
        ? {
            name: '',
            action: 'lb.ready',
            timeoutMs: UNDO_TIMEOUT_MS,
            params: { ...member, ramp: 'slowstart' },
          }
        : b.admin === 'maint'
          ? { name: '', action: 'lb.maint', timeoutMs: UNDO_TIMEOUT_MS, params: member }
          : {
              name: '',
              action: 'lb.drain',
              timeoutMs: UNDO_TIMEOUT_MS,
              params: { ...member, on_timeout: 'continue' },
            };
    const weight: PlannedStep = {
      name: '',
      action: 'lb.weight',
      timeoutMs: UNDO_TIMEOUT_MS,
      params: { ...member, weight: b.weight },
    };
    return [weight, state].map((s) => ({ ...s, name: `undo: ${defaultName(s.action, s.params)}` }));
  });
}

/** The member state the executor recorded before a load-balancer step acted, or null. */
export function memberBeforeOf(step: StepRecord): MemberBefore | null {
  const value = step.result?.memberBefore;
  if (typeof value !== 'object' || value === null) return null;
  const b = value as Record<string, unknown>;
  if (typeof b.pool !== 'string' || typeof b.member !== 'string') return null;
  if (typeof b.admin !== 'string' || typeof b.weight !== 'number') return null;
  return { pool: b.pool, member: b.member, admin: b.admin, weight: b.weight };
}

function planParams(
  step: RunbookStepConfig,
  scope: TemplateScope,
  target: Readonly<Record<string, string>>,
): { ok: true; value: Record<string, unknown> } | { ok: false; error: string } {
  const params: Record<string, unknown> = { ...step.with };
  if (step.action.startsWith('lb.')) {
    params.pool ??= target.pool;
    params.member ??= target.member;
  }
  if (step.action.startsWith('service.')) params.service ??= target.member;
  for (const [key, value] of Object.entries(params)) {
    if (typeof value !== 'string') continue;
    const expanded = expandTemplate(value, scope);
    if (!expanded.ok) return { ok: false, error: `with.${key}: ${expanded.error}` };
    params[key] = expanded.value;
  }
  for (const required of requiredParams(step.action)) {
    if (typeof params[required] !== 'string' || params[required] === '') {
      return {
        ok: false,
        error: `no ${required}: set with.${required} or target.${required === 'service' ? 'member' : required}`,
      };
    }
  }
  return { ok: true, value: params };
}

function requiredParams(action: RunbookStepConfig['action']): string[] {
  if (action.startsWith('lb.')) return ['pool', 'member'];
  if (action.startsWith('service.')) return ['service'];
  return [];
}

function defaultName(action: string, params: Readonly<Record<string, unknown>>): string {
  if (action.startsWith('lb.')) return `${action} ${String(params.pool)}/${String(params.member)}`;
  if (action.startsWith('service.')) return `${action} ${String(params.service)}`;
  if (action === 'wait.until') return `wait until ${String(params.expr)}`;
  return action;
}
