import { METRIC_NAME_LABEL, type SampleAppender } from '../core/index.js';
import type { MetricsQuery } from '../promql/index.js';
import type { RecordingRule } from './ruleGroups.js';

/** Evaluates a recording rule and stores its result under the rule's name; returns an error message or null. */
export async function evaluateRecordingRule(
  rule: RecordingRule,
  limit: number,
  at: number,
  query: MetricsQuery,
  appender: SampleAppender,
): Promise<string | null> {
  const outcome = await query.instant(rule.expr, at);
  if (!outcome.ok) return outcome.error.message;
  const value = outcome.value;
  const samples =
    value.resultType === 'vector'
      ? value.result.map((s) => ({ labels: s.labels, value: s.value }))
      : value.resultType === 'scalar'
        ? [{ labels: {}, value: value.result[1] }]
        : null;
  if (samples === null) return `a recording rule must return a vector or scalar, got a ${value.resultType}`;
  if (limit > 0 && samples.length > limit)
    return `${samples.length} series exceed the group's limit of ${limit}`;
  for (const sample of samples) {
    appender.append({ ...sample.labels, ...rule.labels, [METRIC_NAME_LABEL]: rule.name }, at, sample.value);
  }
  return null;
}
