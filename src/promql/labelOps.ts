import { METRIC_NAME_LABEL, sortedLabelNames } from '../core/index.js';
import type { Labels } from '../core/index.js';

/** A copy of labels without `__name__`. */
export function dropMetricName(labels: Labels): Labels {
  if (labels[METRIC_NAME_LABEL] === undefined) return labels;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) if (k !== METRIC_NAME_LABEL) out[k] = v;
  return out;
}

/** A copy of labels with one label set (or removed, when value is empty, as Prometheus treats empty as absent). */
export function setLabel(labels: Labels, name: string, value: string): Labels {
  const out: Record<string, string> = { ...labels };
  if (value === '') delete out[name];
  else out[name] = value;
  return out;
}

/** Formats labels as Prometheus's labels.String(): `{__name__="x", job="a"}`, sorted, every label in braces. */
export function formatLabelsGo(labels: Labels): string {
  const parts = sortedLabelNames(labels).map((n) => `${n}=${JSON.stringify(labels[n] ?? '')}`);
  return `{${parts.join(', ')}}`;
}

/** The subset of labels used to match series: only `names` (on), or all but `names` and `__name__` (ignoring). */
export function matchLabels(labels: Labels, on: boolean, names: readonly string[]): Labels {
  const out: Record<string, string> = {};
  if (on) {
    for (const n of names) {
      const v = labels[n];
      if (v !== undefined) out[n] = v;
    }
    return out;
  }
  for (const [k, v] of Object.entries(labels)) if (k !== METRIC_NAME_LABEL && !names.includes(k)) out[k] = v;
  return out;
}

/** A string key for the matching subset of labels, cheap enough to compute per series. */
export function signatureOf(labels: Labels, on: boolean, names: readonly string[]): string {
  let key = '';
  if (on) {
    for (const n of [...names].sort()) {
      const v = labels[n];
      if (v !== undefined) key += `${n}\xff${v}\xfe`;
    }
    return key;
  }
  for (const n of sortedLabelNames(labels)) {
    if (n === METRIC_NAME_LABEL || names.includes(n)) continue;
    key += `${n}\xff${labels[n]}\xfe`;
  }
  return key;
}

/** Labels an aggregation group keeps: only `grouping` (by), or all but `grouping` and `__name__` (without). */
export function groupingLabels(labels: Labels, without: boolean, grouping: readonly string[]): Labels {
  return matchLabels(labels, !without, grouping);
}
