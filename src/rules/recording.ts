import { labelsKey, METRIC_NAME_LABEL, STALE_NAN, type Labels, type SampleAppender } from '../core/index.js';
import type { MetricsQuery, QueryOutcome } from '../promql/index.js';
import type { RecordingRule } from './ruleGroups.js';

/** A sample a rule writes: labels including `__name__`, and a value. */
export interface OutputSample {
  readonly labels: Labels;
  readonly value: number;
}

/** Evaluates a recording rule at `evalMs`: the series to write under the rule's name, or why there are none. */
export async function evaluateRecordingRule(
  rule: RecordingRule,
  context: { readonly query: MetricsQuery; readonly evalMs: number; readonly limit: number },
): Promise<{ ok: true; series: OutputSample[] } | { ok: false; error: string }> {
  const result = asVector(await context.query.instant(rule.expr, context.evalMs));
  if (typeof result === 'string') return { ok: false, error: result };
  const series: OutputSample[] = [];
  const seen = new Set<string>();
  for (const sample of result) {
    const labels = { ...sample.labels, ...rule.labels, [METRIC_NAME_LABEL]: rule.name };
    const key = labelsKey(labels);
    if (seen.has(key))
      return {
        ok: false,
        error: 'vector contains metrics with the same labelset after applying rule labels',
      };
    seen.add(key);
    series.push({ labels, value: sample.value });
  }
  if (context.limit > 0 && series.length > context.limit)
    return { ok: false, error: `exceeded limit ${context.limit} with ${series.length} series` };
  return { ok: true, series };
}

/**
 * Writes a rule's output at `t` and a staleness marker for each series it wrote last time but not now, as
 * Prometheus does; returns what was written, to pass back next time.
 */
export function writeRuleOutput(
  appender: SampleAppender,
  previous: ReadonlyMap<string, Labels>,
  series: readonly OutputSample[],
  t: number,
): Map<string, Labels> {
  const written = new Map<string, Labels>();
  for (const sample of series) {
    appender.append(sample.labels, t, sample.value);
    written.set(labelsKey(sample.labels), sample.labels);
  }
  markStale(appender, previous, t, written);
  return written;
}

/** Writes a staleness marker at `t` for each series in `previous` that is not in `keep`. */
export function markStale(
  appender: SampleAppender,
  previous: ReadonlyMap<string, Labels>,
  t: number,
  keep: ReadonlyMap<string, Labels> = new Map(),
): void {
  for (const [key, labels] of previous) if (!keep.has(key)) appender.append(labels, t, STALE_NAN);
}

/** Prometheus's rule query function: a scalar becomes a one-sample vector without labels. */
export function asVector(outcome: QueryOutcome): { labels: Labels; value: number }[] | string {
  if (!outcome.ok) return outcome.error.message;
  const value = outcome.value;
  if (value.resultType === 'vector') return value.result.map((s) => ({ labels: s.labels, value: s.value }));
  if (value.resultType === 'scalar') return [{ labels: {}, value: value.result[1] }];
  return 'rule result is not a vector or scalar';
}
