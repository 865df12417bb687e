import {
  alertFingerprint,
  expandTemplate,
  METRIC_NAME_LABEL,
  withoutLabels,
  type AlertObservation,
  type Labels,
} from '../core/index.js';
import type { VectorSample } from '../promql/index.js';
import type { AlertingRule } from './ruleGroups.js';

/**
 * Turns one evaluation's result vector into observations keyed by fingerprint: the sample's labels without
 * `__name__`, then the rule's labels, then `alertname`; annotations expanded with `$labels` and `$value`.
 * A template that fails is reported in the annotation itself rather than dropping the alert.
 */
export function observeAlerts(
  rule: AlertingRule,
  samples: readonly VectorSample[],
): Map<string, AlertObservation & { present: true }> {
  const out = new Map<string, AlertObservation & { present: true }>();
  for (const sample of samples) {
    const base = withoutLabels(sample.labels, [METRIC_NAME_LABEL]);
    const labels: Record<string, string> = { ...base };
    for (const [name, template] of Object.entries(rule.labels)) {
      labels[name] = expandOrExplain(template, base, sample.value);
    }
    labels.alertname = rule.name;
    const annotations: Record<string, string> = {};
    for (const [name, template] of Object.entries(rule.annotations)) {
      annotations[name] = expandOrExplain(template, base, sample.value);
    }
    out.set(alertFingerprint(rule.name, labels), { present: true, value: sample.value, labels, annotations });
  }
  return out;
}

function expandOrExplain(template: string, labels: Labels, value: number): string {
  const result = expandTemplate(template, { labels, value }, { missing: 'empty' });
  return result.ok ? result.value : `<template error: ${result.error}>`;
}
