import {
  advanceAlert,
  alertFingerprint,
  dropAlert,
  METRIC_NAME_LABEL,
  withoutLabels,
  type AlertInstance,
  type AlertObservation,
  type AlertTiming,
  type AlertTransition,
  type Labels,
} from '../core/index.js';
import type { MetricsQuery, VectorSample } from '../promql/index.js';
import { expandAlertText, type AlertTemplateData } from './alertTemplate.js';
import { asVector, type OutputSample } from './recording.js';
import type { AlertingRule } from './ruleGroups.js';
import { alertTemplateQuery } from './templateQuery.js';

/**
 * How long a firing alert of a rule with `resolve_when` keeps firing when no expression returns its series any
 * more (the series is gone): Prometheus's default lookback window.
 */
export const UNSEEN_RESOLVE_MS = 5 * 60_000;

/**
 * Turns one evaluation's result vector into observations keyed by fingerprint: the sample's labels without
 * `__name__`, then the rule's labels (templates; one that expands to nothing removes the label), then
 * `alertname`. Annotations are rendered with Prometheus's template language unless `annotations` is false
 * (when only fingerprints are needed). A template that fails is reported in its text, as Prometheus does,
 * rather than dropping the alert.
 */
export async function observeAlerts(
  rule: AlertingRule,
  samples: readonly VectorSample[],
  context: AlertingContext,
  options: { annotations: boolean } = { annotations: true },
): Promise<Map<string, AlertObservation & { present: true }>> {
  const out = new Map<string, AlertObservation & { present: true }>();
  const render = { query: alertTemplateQuery(context.query), at: context.evalMs };
  for (const sample of samples) {
    const data: AlertTemplateData = {
      labels: sample.labels,
      value: sample.value,
      externalLabels: context.externalLabels ?? {},
      externalURL: context.externalURL ?? '',
    };
    const labels: Record<string, string> = { ...withoutLabels(sample.labels, [METRIC_NAME_LABEL]) };
    for (const [name, template] of Object.entries(rule.labels)) {
      const value = await expandAlertText(template, name, data, render);
      if (value === '') delete labels[name];
      else labels[name] = value;
    }
    labels.alertname = rule.name;
    const annotations: Record<string, string> = {};
    if (options.annotations)
      for (const [name, template] of Object.entries(rule.annotations))
        annotations[name] = await expandAlertText(template, name, data, render);
    out.set(alertFingerprint(rule.name, labels), { present: true, value: sample.value, labels, annotations });
  }
  return out;
}

/** One alert instance's step in an evaluation; `previous` is what the caller held before. */
export interface AlertInstanceStep {
  readonly fingerprint: string;
  readonly previous: AlertInstance | undefined;
  readonly next: AlertInstance | undefined;
  readonly transition: AlertTransition;
}

/**
 * The outcome of evaluating an alerting rule once. On success, `series` are the `ALERTS` and `ALERTS_FOR_STATE`
 * samples to write. On failure the rule's state is left as it was, except past the group's `limit`, where every
 * alert of the rule is dropped (`steps`), as Prometheus does.
 */
export type AlertingEvaluation =
  | {
      readonly ok: true;
      readonly steps: AlertInstanceStep[];
      readonly series: OutputSample[];
      /** How many samples `expr` returned. */
      readonly samples: number;
    }
  | { readonly ok: false; readonly error: string; readonly steps: AlertInstanceStep[] };

/** Where and how an alerting rule is evaluated; `evalMs` is the tick minus the group's query offset. */
export interface AlertingContext {
  readonly query: MetricsQuery;
  readonly at: number;
  readonly evalMs: number;
  readonly limit: number;
  /** @default UNSEEN_RESOLVE_MS */
  readonly unseenResolveMs?: number;
  /** `$externalLabels` in templates. @default {} */
  readonly externalLabels?: Labels;
  /** `$externalURL` in templates. @default '' */
  readonly externalURL?: string;
}

/**
 * Evaluates an alerting rule once and advances each of its instances, for the rule manager and `swas rules test`
 * alike: `expr` (and `resolve_when` with its value expression, for hysteresis) at `evalMs`, alert clocks at `at`.
 */
export async function evaluateAlertingRule(
  rule: AlertingRule,
  context: AlertingContext,
  current: ReadonlyMap<string, AlertInstance>,
): Promise<AlertingEvaluation> {
  const result = asVector(await context.query.instant(rule.expr, context.evalMs));
  if (typeof result === 'string') return { ok: false, error: result, steps: [] };
  const observed = await observeAlerts(
    rule,
    result.map((s) => ({ ...s, t: context.evalMs })),
    context,
  );
  if (observed.size !== result.length)
    return {
      ok: false,
      error: 'vector contains metrics with the same labelset after applying alert labels',
      steps: [],
    };
  // resolve_when (and the value expression) only matter for firing alerts that expr did not return.
  const undecided = [...current.values()].some((a) => a.state === 'firing' && !observed.has(a.fingerprint));
  const absent = undecided ? await observeAbsent(rule, context) : () => ({ present: false as const });
  if (typeof absent === 'string') return { ok: false, error: absent, steps: [] };
  const timing: AlertTiming = {
    forMs: rule.forMs,
    keepFiringForMs: rule.keepFiringForMs,
    minFiringForMs: rule.minFiringForMs,
    hysteresis:
      rule.resolveWhen === null ? null : { unseenResolveMs: context.unseenResolveMs ?? UNSEEN_RESOLVE_MS },
  };
  const steps: AlertInstanceStep[] = [];
  for (const fingerprint of new Set([...observed.keys(), ...current.keys()])) {
    const previous = current.get(fingerprint);
    const observation = observed.get(fingerprint) ?? absent(fingerprint);
    const identity = { fingerprint, rule: rule.name };
    steps.push({
      fingerprint,
      previous,
      ...advanceAlert(previous, observation, identity, timing, context.at),
    });
  }
  const active = steps.flatMap((s) => (s.next === undefined || s.next.state === 'resolved' ? [] : [s.next]));
  if (context.limit > 0 && active.length > context.limit) {
    const dropped = [...current.entries()].map(([fingerprint, previous]) => ({
      fingerprint,
      previous,
      ...dropAlert(previous, context.at),
    }));
    return {
      ok: false,
      error: `exceeded limit of ${context.limit} with ${active.length} alerts`,
      steps: dropped,
    };
  }
  const series = active.flatMap((alert) => [
    { labels: { ...alert.labels, [METRIC_NAME_LABEL]: 'ALERTS', alertstate: alert.state }, value: 1 },
    { labels: { ...alert.labels, [METRIC_NAME_LABEL]: 'ALERTS_FOR_STATE' }, value: alert.activeAt / 1000 },
  ]);
  return { ok: true, steps, series, samples: result.length };
}

/**
 * For rules with `resolve_when`: how an alert that `expr` did not return stands, matched by the labels an
 * `expr` sample with the same labels (without `__name__`) would give it.
 */
async function observeAbsent(
  rule: AlertingRule,
  context: AlertingContext,
): Promise<((fingerprint: string) => AlertObservation & { present: false }) | string> {
  if (rule.resolveWhen === null) return () => ({ present: false });
  const resolving = await fingerprintsOf(rule, rule.resolveWhen, 'resolve_when', context);
  if (typeof resolving === 'string') return resolving;
  const values =
    rule.valueExpr === null
      ? new Map<string, number>()
      : await fingerprintsOf(rule, rule.valueExpr, 'value', context);
  if (typeof values === 'string') return values;
  return (fingerprint) => {
    if (resolving.has(fingerprint)) return { present: false, resolve: 'holds' };
    const value = values.get(fingerprint);
    return value === undefined
      ? { present: false, resolve: 'unseen' }
      : { present: false, resolve: 'band', value };
  };
}

async function fingerprintsOf(
  rule: AlertingRule,
  expr: string,
  what: string,
  context: AlertingContext,
): Promise<Map<string, number> | string> {
  const result = asVector(await context.query.instant(expr, context.evalMs));
  if (typeof result === 'string') return `${what} (${expr}): ${result}`;
  const observed = await observeAlerts(
    rule,
    result.map((s) => ({ ...s, t: context.evalMs })),
    context,
    { annotations: false },
  );
  return new Map([...observed].map(([fingerprint, o]) => [fingerprint, o.value]));
}
