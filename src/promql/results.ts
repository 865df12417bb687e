import { labelsKey } from '../core/index.js';
import { compareLabelSets } from '../tsdb/index.js';
import type { ValueType } from './ast.js';
import { mergeSameLabels } from './calls.js';
import { dropMetricName } from './labelOps.js';
import type { MatrixSeries, QueryValue, VectorSample } from './MetricsQuery.js';
import { executionError } from './QueryGuard.js';
import type { EvalRange, EvalValue, StepSeries } from './values.js';

/** Applies the deferred metric-name drops and shapes an evaluation result as a Prometheus API value. */
export function toQueryValue(
  value: EvalValue,
  type: ValueType,
  range: EvalRange,
  isRange: boolean,
): QueryValue {
  if (value.kind === 'string') return { resultType: 'string', result: [range.start, value.value] };
  if (value.kind === 'range') {
    const series = value.series.map((s) => ({
      head: { labels: s.head.dropName ? dropMetricName(s.head.labels) : s.head.labels, dropName: false },
      ts: Array.from(s.t),
      vs: Array.from(s.v),
    }));
    return { resultType: 'matrix', result: toMatrix(mergeSameLabels(series)) };
  }
  const cleaned = value.series.map((s) => ({
    ...s,
    head: { labels: s.head.dropName ? dropMetricName(s.head.labels) : s.head.labels, dropName: false },
  }));
  if (isRange) {
    const matrix = toMatrix(mergeSameLabels(cleaned));
    return { resultType: 'matrix', result: matrix.sort((a, b) => compareLabelSets(a.labels, b.labels)) };
  }
  if (type === 'scalar') return { resultType: 'scalar', result: [range.start, cleaned[0]?.vs[0] ?? NaN] };
  const samples: VectorSample[] = cleaned.map((s) => ({
    labels: s.head.labels,
    value: s.vs[0] ?? NaN,
    t: range.start,
  }));
  const seen = new Set<string>();
  for (const s of cleaned) {
    const key = labelsKey(s.head.labels);
    if (seen.has(key)) executionError('vector cannot contain metrics with the same labelset');
    seen.add(key);
  }
  return { resultType: 'vector', result: samples };
}

function toMatrix(series: StepSeries[]): MatrixSeries[] {
  return series.map((s) => ({
    labels: s.head.labels,
    points: s.ts.map((t, i) => [t, s.vs[i] ?? NaN] as const),
  }));
}
