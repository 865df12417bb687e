import { expandRegexpReplacement, labelsKey, METRIC_NAME_LABEL } from '../core/index.js';
import type { Labels } from '../core/index.js';
import { compileAnchoredRegex } from '../tsdb/index.js';
import { unwrapParens } from './ast.js';
import type { Call, Expr } from './ast.js';
import { typeOf } from './checker.js';
import { invalidQuantile } from './annotations.js';
import type { EvalContext } from './evalContext.js';
import { evalExperimentalCall, experimentalCallNames } from './experimentalFunctions.js';
import { instantFunctions } from './instantFunctions.js';
import type { CallState } from './instantFunctions.js';
import { setLabel } from './labelOps.js';
import { executionError } from './QueryGuard.js';
import { nameKeepingRangeFunctions, rangeFunctions } from './rangeFunctions.js';
import type { Window, WindowContext } from './rangeFunctions.js';
import { evalVectorSelector, windowBounds } from './selectors.js';
import { rangeEval } from './stepEval.js';
import { stepCount } from './values.js';
import type { EvalRange, SeriesHead, StepSeries } from './values.js';

const sortFunctions = new Set(['sort', 'sort_desc', 'sort_by_label', 'sort_by_label_desc']);

/** Evaluates a function call over the steps of range. */
export function evalCall(ctx: EvalContext, call: Call, range: EvalRange): StepSeries[] {
  const name = call.func;
  if (name === 'label_replace') return labelReplace(ctx, call, range);
  if (name === 'label_join') return labelJoin(ctx, call, range);
  if (sortFunctions.has(name) && range.start !== range.end) {
    ctx.annotate(
      'warning',
      'sort is ineffective for range queries since results are always ordered by labels',
      call.pos,
    );
  }
  if (experimentalCallNames.has(name)) return evalExperimentalCall(ctx, call, range);
  const first = call.args[0] === undefined ? undefined : unwrapParens(call.args[0]);
  if (name === 'timestamp' && first?.kind === 'VectorSelector')
    return evalVectorSelector(ctx, first, range, 'timestamp');
  if (name === 'absent_over_time' || rangeFunctions.has(name)) return evalRangeCall(ctx, call, range);
  const impl = instantFunctions.get(name);
  if (impl === undefined) return executionError(`function ${JSON.stringify(name)} is not supported yet`);
  const inputs: StepSeries[][] = [];
  for (const arg of call.args) if (typeOf(arg) !== 'string') inputs.push(ctx.evalSteps(arg, range));
  const state = callState(ctx, call);
  return rangeEval(ctx.guard, range, inputs, (vecs, ts) => impl(vecs, ts, state));
}

function callState(ctx: EvalContext, call: Call): CallState {
  const arg = call.args[0];
  const dropped = new WeakMap<SeriesHead, SeriesHead>();
  const built = new Map<string, SeriesHead>();
  return {
    dropName(head) {
      if (head.dropName) return head;
      let out = dropped.get(head);
      if (out === undefined) dropped.set(head, (out = { labels: head.labels, dropName: true }));
      return out;
    },
    headFor(labels, dropName) {
      const key = `${dropName ? 1 : 0}${labelsKey(labels)}`;
      let out = built.get(key);
      if (out === undefined) built.set(key, (out = { labels, dropName }));
      return out;
    },
    absentLabels: arg === undefined ? {} : absentLabels(arg),
    annotate(kind, message, argIndex) {
      ctx.annotate(kind, message, (call.args[argIndex] ?? call).pos);
    },
  };
}

/**
 * The labels absent() reports: those the argument selector pins with `=`; a label matched twice, or
 * matched any other way, is left out (Prometheus's historic behaviour).
 */
export function absentLabels(arg: Expr): Labels {
  const inner = unwrapParens(arg);
  const sel =
    inner.kind === 'VectorSelector' ? inner : inner.kind === 'MatrixSelector' ? inner.selector : undefined;
  if (sel === undefined) return {};
  const out: Record<string, string> = {};
  const seen = new Set<string>();
  for (const m of sel.matchers) {
    if (m.name === METRIC_NAME_LABEL) continue;
    if (m.type === '=' && !seen.has(m.name)) {
      if (m.value !== '') out[m.name] = m.value;
      seen.add(m.name);
    } else {
      delete out[m.name];
    }
  }
  return out;
}

/** Functions over a range vector: one window per series per step. */
function evalRangeCall(ctx: EvalContext, call: Call, range: EvalRange): StepSeries[] {
  const matrixIndex = call.args.findIndex((a) => typeOf(a) === 'matrix');
  const matrixArg = call.args[matrixIndex];
  if (matrixArg === undefined) return executionError(`${call.func}() needs a range vector argument`);
  const steps = stepCount(range);
  const [param, param2] = scalarParams(ctx, call, matrixIndex, range, steps);
  const source = ctx.rangeSource(unwrapParens(matrixArg), range);
  const fn = rangeFunctions.get(call.func);
  const keepName = nameKeepingRangeFunctions.has(call.func);
  const present = new Uint8Array(steps);
  const out: StepSeries[] = [];
  for (const series of source.series) {
    const head: SeriesHead = { labels: series.head.labels, dropName: !keepName || series.head.dropName };
    const result: StepSeries = { head, ts: [], vs: [] };
    const bounds = { from: 0, to: 0 };
    for (let i = 0; i < steps; i++) {
      ctx.guard.check();
      const ts = range.start + i * range.step;
      const rangeEnd = source.refTime(ts);
      windowBounds(series.t, rangeEnd, source.rangeMs, bounds);
      if (bounds.to <= bounds.from) continue;
      present[i] = 1;
      if (fn === undefined) continue;
      const window: Window = { t: series.t, v: series.v, from: bounds.from, to: bounds.to };
      const context: WindowContext = {
        ts,
        rangeEnd,
        rangeMs: source.rangeMs,
        param: param[i] ?? NaN,
        param2: param2[i] ?? NaN,
      };
      const value = fn(window, context);
      if (call.func === 'quantile_over_time' && !(context.param >= 0 && context.param <= 1))
        ctx.annotate('warning', invalidQuantile(context.param), (call.args[0] ?? call).pos);
      if (value === null) continue;
      result.ts.push(ts);
      result.vs.push(value);
    }
    if (result.ts.length > 0) out.push(result);
  }
  if (fn !== undefined) return out;
  return absentOverTime(absentLabels(matrixArg), present, range);
}

/** The scalar arguments of a range function (all but the range vector), one value per step; NaN where absent. */
function scalarParams(
  ctx: EvalContext,
  call: Call,
  matrixIndex: number,
  range: EvalRange,
  steps: number,
): [Float64Array, Float64Array] {
  const args = call.args.filter((_a, i) => i !== matrixIndex);
  const [first, second] = [args[0], args[1]].map((arg) => {
    const params = new Float64Array(steps).fill(NaN);
    const series = arg === undefined ? undefined : ctx.evalSteps(arg, range)[0];
    if (series === undefined) return params;
    for (let k = 0; k < series.ts.length; k++) {
      params[Math.round(((series.ts[k] ?? 0) - range.start) / range.step)] = series.vs[k] ?? NaN;
    }
    return params;
  }) as [Float64Array, Float64Array];
  return [first, second];
}

function absentOverTime(labels: Labels, present: Uint8Array, range: EvalRange): StepSeries[] {
  const result: StepSeries = { head: { labels, dropName: true }, ts: [], vs: [] };
  present.forEach((p, i) => {
    if (p === 0) {
      result.ts.push(range.start + i * range.step);
      result.vs.push(1);
    }
  });
  return result.ts.length > 0 ? [result] : [];
}

function stringArg(call: Call, i: number): string {
  const arg = call.args[i];
  const inner = arg === undefined ? undefined : unwrapParens(arg);
  return inner?.kind === 'StringLiteral' ? inner.value : '';
}

function labelReplace(ctx: EvalContext, call: Call, range: EvalRange): StepSeries[] {
  const [dst, replacement, src, pattern] = [1, 2, 3, 4].map((i) => stringArg(call, i)) as [
    string,
    string,
    string,
    string,
  ];
  const compiled = compileAnchoredRegex(pattern);
  if (!compiled.ok) return executionError(`invalid regular expression in label_replace(): ${pattern}`);
  const input = ctx.evalSteps(call.args[0] ?? call, range);
  const relabeled = input.map((s) => {
    const match = compiled.regex.exec(s.head.labels[src] ?? '');
    if (match === null) return s;
    const labels = setLabel(s.head.labels, dst, expandRegexpReplacement(replacement, match));
    return { ...s, head: { labels, dropName: dst === METRIC_NAME_LABEL ? false : s.head.dropName } };
  });
  return mergeSameLabels(relabeled);
}

function labelJoin(ctx: EvalContext, call: Call, range: EvalRange): StepSeries[] {
  const dst = stringArg(call, 1);
  const separator = stringArg(call, 2);
  const sources = call.args.slice(3).map((_a, i) => stringArg(call, i + 3));
  const input = ctx.evalSteps(call.args[0] ?? call, range);
  const relabeled = input.map((s) => {
    const value = sources.map((n) => s.head.labels[n] ?? '').join(separator);
    const labels = setLabel(s.head.labels, dst, value);
    return { ...s, head: { labels, dropName: dst === METRIC_NAME_LABEL ? false : s.head.dropName } };
  });
  return mergeSameLabels(relabeled);
}

/** Series that now share a label set are merged when their points do not overlap, as Prometheus does. */
export function mergeSameLabels(series: StepSeries[]): StepSeries[] {
  const byKey = new Map<string, StepSeries[]>();
  for (const s of series) {
    const key = labelsKey(s.head.labels);
    const list = byKey.get(key);
    if (list === undefined) byKey.set(key, [s]);
    else list.push(s);
  }
  if (byKey.size === series.length) return series;
  const out: StepSeries[] = [];
  for (const list of byKey.values()) {
    const first = list[0];
    if (first === undefined) continue;
    if (list.length === 1) {
      out.push(first);
      continue;
    }
    const points = list
      .flatMap((s) => s.ts.map((t, i) => [t, s.vs[i] ?? NaN] as const))
      .sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < points.length; i++) {
      if (points[i]?.[0] === points[i - 1]?.[0])
        executionError('vector cannot contain metrics with the same labelset');
    }
    out.push({ head: first.head, ts: points.map((p) => p[0]), vs: points.map((p) => p[1]) });
  }
  return out;
}
