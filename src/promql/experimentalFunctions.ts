import { compareLabelSets } from '../tsdb/index.js';
import { formatGoFloat, invalidQuantile } from './annotations.js';
import { unwrapParens } from './ast.js';
import type { Call } from './ast.js';
import type { EvalContext } from './evalContext.js';
import { bucketQuantileDetail, forcedMonotonicityInfo, groupBuckets } from './histogramQuantile.js';
import { setLabel } from './labelOps.js';
import { rangeEval } from './stepEval.js';
import { stepCount } from './values.js';
import type { EvalRange, SeriesHead, StepSeries, Vector } from './values.js';

// Functions Prometheus keeps behind --enable-feature=promql-experimental-functions that need more than a
// per-sample step function: the query's own bounds, string arguments, or one output per quantile.

/** Functions evaluated here rather than in instantFunctions or rangeFunctions. */
export const experimentalCallNames: ReadonlySet<string> = new Set([
  'start',
  'end',
  'range',
  'step',
  'sort_by_label',
  'sort_by_label_desc',
  'histogram_quantiles',
]);

/** Evaluates one of experimentalCallNames over the steps of range. */
export function evalExperimentalCall(ctx: EvalContext, call: Call, range: EvalRange): StepSeries[] {
  switch (call.func) {
    case 'start':
      return [constant(ctx.queryStart / 1000, range)];
    case 'end':
      return [constant(ctx.queryEnd / 1000, range)];
    case 'range':
      return [constant((ctx.queryEnd - ctx.queryStart) / 1000, range)];
    case 'step':
      return [constant(ctx.queryStep / 1000, range)];
    case 'sort_by_label':
      return sortByLabel(ctx, call, range, 1);
    case 'sort_by_label_desc':
      return sortByLabel(ctx, call, range, -1);
    default:
      return histogramQuantiles(ctx, call, range);
  }
}

const scalarHead: SeriesHead = { labels: {}, dropName: false };

function constant(value: number, range: EvalRange): StepSeries {
  const ts: number[] = [];
  const vs: number[] = [];
  for (let i = 0; i < stepCount(range); i++) {
    ts.push(range.start + i * range.step);
    vs.push(value);
  }
  return { head: scalarHead, ts, vs };
}

function stringArgs(call: Call, from: number): string[] {
  return call.args.slice(from).flatMap((a) => {
    const inner = unwrapParens(a);
    return inner.kind === 'StringLiteral' ? [inner.value] : [];
  });
}

/**
 * sort_by_label: natural order of the named labels' values, ties broken by the whole label set; the _desc
 * variant reverses both. Only an instant query's order is visible, so the series order is the result.
 */
function sortByLabel(ctx: EvalContext, call: Call, range: EvalRange, sign: 1 | -1): StepSeries[] {
  const names = stringArgs(call, 1);
  const input = ctx.evalSteps(call.args[0] ?? call, range);
  return [...input].sort((a, b) => {
    for (const name of names) {
      const x = a.head.labels[name] ?? '';
      const y = b.head.labels[name] ?? '';
      if (x !== y) return sign * naturalCompare(x, y);
    }
    return sign * compareLabelSets(a.head.labels, b.head.labels);
  });
}

/**
 * Natural string order (github.com/facette/natsort, which Prometheus uses): runs of digits compare as
 * integers, other runs as strings; a string that is a prefix of the other sorts first.
 */
export function naturalCompare(a: string, b: string): number {
  if (a === b) return 0;
  const ca = a.match(/\d+|\D+/g) ?? [];
  const cb = b.match(/\d+|\D+/g) ?? [];
  for (let i = 0; i < ca.length; i++) {
    const x = ca[i] ?? '';
    const y = cb[i];
    if (y === undefined) return 1;
    const bothNumeric = /^\d/.test(x) && /^\d/.test(y);
    if (bothNumeric && BigInt(x) !== BigInt(y)) return BigInt(x) < BigInt(y) ? -1 : 1;
    if (!bothNumeric && x !== y) return x < y ? -1 : 1;
  }
  return ca.length < cb.length ? -1 : a < b ? -1 : 1;
}

/** histogram_quantiles(buckets, "label", q…): one series per bucket group and quantile, labelled with q. */
function histogramQuantiles(ctx: EvalContext, call: Call, range: EvalRange): StepSeries[] {
  const [label = ''] = stringArgs(call, 1);
  const inputs = [call.args[0], ...call.args.slice(2)].flatMap((a) =>
    a === undefined ? [] : [ctx.evalSteps(a, range)],
  );
  const heads = new Map<string, SeriesHead>();
  return rangeEval(ctx.guard, range, inputs, (vecs) => {
    const [buckets = [], ...qs] = vecs;
    const vectorPos = (call.args[0] ?? call).pos;
    const groups = groupBuckets(
      buckets,
      (labels) => ({ labels, dropName: true }),
      (warning) => ctx.annotate('warning', warning, vectorPos),
    );
    const out: Vector = [];
    for (const [i, qv] of qs.entries()) {
      const q = qv[0]?.v ?? NaN;
      if (!(q >= 0 && q <= 1)) ctx.annotate('warning', invalidQuantile(q), (call.args[i + 2] ?? call).pos);
      const text = formatOpenMetricsFloat(q);
      for (const [key, group] of groups) {
        const headKey = `${text}\u0000${key}`;
        let head = heads.get(headKey);
        if (head === undefined) {
          head = { labels: setLabel(group.head.labels, label, text), dropName: true };
          heads.set(headKey, head);
        }
        const { value, forcedMonotonic } = bucketQuantileDetail(q, group.buckets);
        if (forcedMonotonic) ctx.annotate('info', forcedMonotonicityInfo, vectorPos);
        out.push({ head, v: value });
      }
    }
    return out;
  });
}

/** Go's strconv.FormatFloat(f, 'g', -1, 64) with ".0" added to integers, as labels.FormatOpenMetricsFloat. */
export function formatOpenMetricsFloat(f: number): string {
  const text = formatGoFloat(f);
  return /[e.]|Inf|NaN/.test(text) ? text : `${text}.0`;
}
