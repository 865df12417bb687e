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
  const steps: PlannedStep[] = [];
  for (const [index, step] of runbook.steps.entries()) {
    const params = planParams(step, scope, target);
    if (!params.ok) return { ok: false, error: `steps[${index}] (${step.action}): ${params.error}` };
    steps.push({
      name: step.name ?? defaultName(step.action, params.value),
      action: step.action,
      timeoutMs: step.timeout,
      params: params.value,
    });
  }
  return { ok: true, target, steps };
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
