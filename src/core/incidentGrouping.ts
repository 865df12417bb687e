import type { Labels } from './labels.js';

/**
 * The key that decides which incident an alert belongs to: the values of the configured labels.
 * Alerts with equal keys fold into one open incident.
 */
export function incidentKey(labels: Labels, groupBy: readonly string[]): string {
  return groupBy.map((name) => `${name}=${labels[name] ?? ''}`).join(',');
}

/** A short human title for an incident opened by an alert. */
export function incidentTitle(
  labels: Labels,
  annotations: Readonly<Record<string, string>>,
  groupBy: readonly string[],
): string {
  const summary = annotations.summary ?? annotations.description;
  if (summary !== undefined && summary !== '') return summary;
  const context = groupBy
    .filter((n) => n !== 'alertname' && labels[n] !== undefined)
    .map((n) => `${n}=${labels[n]}`)
    .join(', ');
  const name = labels.alertname ?? 'alert';
  return context === '' ? name : `${name} (${context})`;
}

/** Severity from the conventional `severity` label; unknown values keep their text. */
export function incidentSeverity(labels: Labels): string {
  return labels.severity ?? 'warning';
}
