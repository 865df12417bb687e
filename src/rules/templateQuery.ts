import type { MetricsQuery } from '../promql/index.js';
import type { AlertTemplateQuery } from './alertTemplate.js';

/**
 * Adapts the metrics port to the template function `query`, as Prometheus's rule query function does: an
 * instant vector as it is, a scalar as one sample without labels, anything else (or a failure) an error.
 */
export function alertTemplateQuery(metrics: MetricsQuery): AlertTemplateQuery {
  return async (expr, at) => {
    const outcome = await metrics.instant(expr, at);
    if (!outcome.ok) throw new Error(outcome.error.message);
    const { value } = outcome;
    if (value.resultType === 'vector') return value.result.map((s) => ({ labels: s.labels, value: s.value }));
    if (value.resultType === 'scalar') return [{ labels: {}, value: value.result[1] }];
    throw new Error(`query result is a ${value.resultType}, not a vector or scalar`);
  };
}
