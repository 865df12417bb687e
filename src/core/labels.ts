/** A labelled series' identity, as in Prometheus: label name → value. */
export type Labels = Readonly<Record<string, string>>;

/** The reserved label that holds a series' metric name. */
export const METRIC_NAME_LABEL = '__name__';

/** Returns the label names of a set in byte order, which is Prometheus's canonical order. */
export function sortedLabelNames(labels: Labels): string[] {
  return Object.keys(labels).sort(compareStrings);
}

/** A stable key for a label set: equal label sets give equal keys, whatever their insertion order. */
export function labelsKey(labels: Labels): string {
  const parts: string[] = [];
  for (const name of sortedLabelNames(labels)) parts.push(name, '\xff', String(labels[name]), '\xfe');
  // join() gives one flat string; `+=` builds a tree of partial strings that a kept key (a cache's map
  // key, one per series) holds on to: several hundred bytes per series.
  return parts.join('');
}

/** Formats labels as Prometheus does: `metric{a="1", b="2"}`, without the braces when empty. */
export function formatSeries(labels: Labels): string {
  const name = labels[METRIC_NAME_LABEL] ?? '';
  const parts = sortedLabelNames(labels)
    .filter((n) => n !== METRIC_NAME_LABEL)
    .map((n) => `${n}=${JSON.stringify(labels[n])}`);
  if (parts.length === 0) return name === '' ? '{}' : name;
  return `${name}{${parts.join(', ')}}`;
}

/** Returns a copy of `labels` without the named labels. */
export function withoutLabels(labels: Labels, names: readonly string[]): Labels {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) if (!names.includes(k)) out[k] = v;
  return out;
}

/** Returns a copy of `labels` keeping only the named labels. */
export function onlyLabels(labels: Labels, names: readonly string[]): Labels {
  const out: Record<string, string> = {};
  for (const n of names) {
    const v = labels[n];
    if (v !== undefined) out[n] = v;
  }
  return out;
}

/** Byte-order string comparison, which is how Prometheus sorts label names and values. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Sets a label in place, also when its name is `__proto__`, which plain assignment would swallow. */
export function assignLabel(labels: Record<string, string>, name: string, value: string): void {
  if (name === '__proto__') {
    Object.defineProperty(labels, name, { value, enumerable: true, writable: true, configurable: true });
  } else {
    labels[name] = value;
  }
}
