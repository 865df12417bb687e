import type { RunbookConfig, RunbookStepConfig } from '../config/index.js';
import { errorMessage, expandTemplate, type Labels, type TemplateScope } from '../core/index.js';
import { compileAnchoredRegex } from '../tsdb/index.js';

/** A recurring window as runbooks declare it (`allowed_windows`), durations in ms. */
export interface AllowedWindow {
  readonly schedule: string;
  readonly duration: number;
  readonly time_zone: string;
}

/** A step with every template expanded and every default filled in: exactly what will run. */
export interface PlannedStep {
  readonly name: string;
  readonly action: RunbookStepConfig['action'];
  readonly timeoutMs: number;
  readonly params: Readonly<Record<string, unknown>>;
  /** The step may act only inside one of these windows (its own, else the runbook's); undo steps never wait. */
  readonly allowedWindows?: readonly AllowedWindow[];
}

/** A concrete run: its target and steps, or why it cannot run. */
export type RunPlan =
  | {
      readonly ok: true;
      readonly target: Readonly<Record<string, string>>;
      readonly steps: readonly PlannedStep[];
      /** The runbook's declared `undo:` steps; null when swas derives the undo from what the run changed. */
      readonly undo: readonly PlannedStep[] | null;
      /** How many members the run acts on: 1, or the members a rolling run goes through. */
      readonly targetCount: number;
    }
  | { readonly ok: false; readonly error: string };

/** True when an alert with these labels triggers this runbook. */
export function runbookMatches(runbook: RunbookConfig, labels: Labels): boolean {
  const alerts = runbook.trigger.alert;
  if (alerts === undefined || labels.alertname === undefined || !alerts.includes(labels.alertname))
    return false;
  return Object.entries(runbook.trigger.match).every(([name, value]) => labels[name] === value);
}

/**
 * Expands a runbook against an alert's labels. Any template that comes out empty aborts the plan:
 * an empty target must never widen a run (DESIGN §6.1).
 */
export function planRun(runbook: RunbookConfig, labels: Labels): RunPlan {
  const target = planTarget(runbook, labels);
  if (!target.ok) return target;
  const scope: TemplateScope = { labels, target: target.value };
  const steps = planSteps(runbook.steps, 'steps', scope, runbook.guards.allowed_windows);
  if (!steps.ok) return steps;
  if (runbook.undo === undefined)
    return { ok: true, target: target.value, steps: steps.value, undo: null, targetCount: 1 };
  const undo = planSteps(runbook.undo, 'undo', scope, undefined);
  if (!undo.ok) return undo;
  return { ok: true, target: target.value, steps: steps.value, undo: undo.value, targetCount: 1 };
}

/**
 * Plans a rolling run over the pool's members (names as the load balancer lists them): members matching
 * `rolling.members`, in batches, every step for each member of a batch before the next step, so a batch
 * is drained, acted on, verified and ramped before the next batch starts. The undo is derived: it puts
 * back whatever the run had changed, which is the batch it was acting on.
 */
export async function planRolling(
  runbook: RunbookConfig,
  labels: Labels,
  listMembers: (pool: string) => Promise<readonly string[]>,
): Promise<RunPlan> {
  const rolling = runbook.rolling;
  if (rolling === undefined) return planRun(runbook, labels);
  const base = planTarget(runbook, labels);
  if (!base.ok) return base;
  const pool = expandTemplate(rolling.pool, { labels, target: base.value });
  if (!pool.ok) return { ok: false, error: `rolling.pool: ${pool.error}` };
  let poolMembers: readonly string[];
  try {
    poolMembers = await listMembers(pool.value);
  } catch (error) {
    return {
      ok: false,
      error: `rolling.pool: cannot list the members of ${pool.value}: ${errorMessage(error)}`,
    };
  }
  const pattern = rolling.members === undefined ? null : compileAnchoredRegex(rolling.members);
  if (pattern !== null && !pattern.ok) return { ok: false, error: `rolling.members: ${pattern.error}` };
  const members = poolMembers.filter((m) => pattern === null || pattern.regex.test(m));
  const target = { ...base.value, pool: pool.value, members: members.join(',') };
  const size =
    typeof rolling.batch === 'number'
      ? rolling.batch
      : Math.max(1, Math.floor((members.length * Number(rolling.batch.slice(0, -1))) / 100));
  const batches: string[][] = [];
  for (let i = 0; i < members.length; i += size) batches.push(members.slice(i, i + size));
  const steps: PlannedStep[] = [];
  for (const batch of batches)
    for (const [index, step] of runbook.steps.entries())
      for (const member of batch) {
        const scope = { labels, target: { ...base.value, pool: pool.value, member } };
        const planned = planSteps([step], 'steps', scope, runbook.guards.allowed_windows);
        if (!planned.ok)
          return { ok: false, error: `${member}: ${planned.error.replace('[0]', `[${index}]`)}` };
        for (const p of planned.value)
          steps.push(p.action.startsWith('lb.') ? p : { ...p, name: `${member}: ${p.name}` });
      }
  return { ok: true, target, steps, undo: null, targetCount: members.length };
}

function planTarget(
  runbook: RunbookConfig,
  labels: Labels,
): { ok: true; value: Record<string, string> } | { ok: false; error: string } {
  const target: Record<string, string> = {};
  for (const [field, template] of Object.entries(runbook.target)) {
    const expanded = expandTemplate(template, { labels });
    if (!expanded.ok) return { ok: false, error: `target.${field}: ${expanded.error}` };
    target[field] = expanded.value;
  }
  return { ok: true, value: target };
}

function planSteps(
  configured: readonly RunbookStepConfig[],
  field: 'steps' | 'undo',
  scope: TemplateScope,
  runbookWindows: readonly AllowedWindow[] | undefined,
): { ok: true; value: PlannedStep[] } | { ok: false; error: string } {
  const steps: PlannedStep[] = [];
  for (const [index, step] of configured.entries()) {
    const params = planParams(step, scope, scope.target ?? {});
    if (!params.ok) return { ok: false, error: `${field}[${index}] (${step.action}): ${params.error}` };
    const windows = field === 'undo' ? undefined : (step.allowed_windows ?? runbookWindows);
    steps.push({
      name: step.name ?? defaultName(step.action, params.value),
      action: step.action,
      timeoutMs: step.timeout,
      params: params.value,
      ...(windows === undefined ? {} : { allowedWindows: windows }),
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
    const expanded = expandNested(value, scope, `with.${key}`);
    if (!expanded.ok) return expanded;
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

// Expands every string inside a param (objects and lists too, e.g. `ramp.check` or `args.host`).
function expandNested(
  value: unknown,
  scope: TemplateScope,
  path: string,
): { ok: true; value: unknown } | { ok: false; error: string } {
  if (typeof value === 'string') {
    const expanded = expandTemplate(value, scope);
    return expanded.ok ? expanded : { ok: false, error: `${path}: ${expanded.error}` };
  }
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    for (const [i, item] of value.entries()) {
      const expanded = expandNested(item, scope, `${path}[${i}]`);
      if (!expanded.ok) return expanded;
      out.push(expanded.value);
    }
    return { ok: true, value: out };
  }
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, item] of Object.entries(value)) {
      const expanded = expandNested(item, scope, `${path}.${k}`);
      if (!expanded.ok) return expanded;
      out[k] = expanded.value;
    }
    return { ok: true, value: out };
  }
  return { ok: true, value };
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
