import { labelsKey } from '../core/index.js';
import type { Labels } from '../core/index.js';
import { unwrapParens } from './ast.js';
import type { AggregateExpr } from './ast.js';
import type { EvalContext } from './evalContext.js';
import { groupingLabels, setLabel } from './labelOps.js';
import { formatFloatPlain, kahanInc, quantileOf } from './mathUtil.js';
import { executionError } from './QueryGuard.js';
import { rangeEval } from './stepEval.js';
import { formatGoFloat, invalidQuantile } from './annotations.js';
import { checkRatio, limitK, limitRatio } from './limit.js';
import { selectK } from './topk.js';
import type { EvalRange, Sample, SeriesHead, StepSeries, Vector } from './values.js';

interface GroupInfo {
  readonly index: number;
  readonly labels: Labels;
  readonly heads: [SeriesHead, SeriesHead];
}

/** Maps input series to their aggregation groups, computing each series' group once. */
class Grouper {
  private readonly bySeries = new WeakMap<SeriesHead, GroupInfo>();
  private readonly byKey = new Map<string, GroupInfo>();

  constructor(
    private readonly without: boolean,
    private readonly grouping: readonly string[],
  ) {}

  groupOf(head: SeriesHead): GroupInfo {
    let info = this.bySeries.get(head);
    if (info === undefined) {
      info = this.groupForLabels(head.labels);
      this.bySeries.set(head, info);
    }
    return info;
  }

  groupForLabels(input: Labels): GroupInfo {
    const labels = groupingLabels(input, this.without, this.grouping);
    const key = labelsKey(labels);
    let info = this.byKey.get(key);
    if (info === undefined) {
      info = {
        index: this.byKey.size,
        labels,
        heads: [
          { labels, dropName: false },
          { labels, dropName: true },
        ],
      };
      this.byKey.set(key, info);
    }
    return info;
  }
}

/** Evaluates an aggregation over the steps of range. */
export function evalAggregate(ctx: EvalContext, expr: AggregateExpr, range: EvalRange): StepSeries[] {
  if (expr.op === 'count_values') return countValues(ctx, expr, range);
  const params = expr.param === undefined ? [] : ctx.evalSteps(expr.param, range);
  const input = ctx.evalSteps(expr.expr, range);
  if (expr.op === 'topk' || expr.op === 'bottomk' || expr.op === 'limitk') checkK(params);
  if (expr.op === 'limit_ratio') checkRatio(params);
  const grouper = new Grouper(expr.without, expr.grouping);
  const inputs = expr.param === undefined ? [input] : [input, params];
  const seriesCount = input.length;
  return rangeEval(ctx.guard, range, inputs, ([vec = [], param = []]) => {
    const p = param[0]?.v ?? NaN;
    if (expr.op === 'topk' || expr.op === 'bottomk') {
      const k = Math.min(Math.trunc(p), seriesCount);
      return k < 1 ? [] : selectK(vec, k, expr.op === 'topk', (h) => grouper.groupOf(h).index);
    }
    if (expr.op === 'limitk') {
      const k = Math.min(Math.trunc(p), seriesCount);
      return k < 1 ? [] : limitK(vec, k, (h) => grouper.groupOf(h).index);
    }
    if (expr.op === 'limit_ratio') {
      // A ratio of 0 selects nothing; beyond ±1 it is clamped, with a warning.
      const ratio = Math.max(-1, Math.min(1, p));
      if (ratio !== p && expr.param !== undefined) {
        const message = `ratio value should be between -1 and 1, got ${formatGoFloat(p)}, capping to ${formatGoFloat(ratio)}`;
        ctx.annotate('warning', message, expr.param.pos);
      }
      return ratio === 0 ? [] : limitRatio(vec, ratio, (h) => grouper.groupOf(h).index);
    }
    const out = aggregateStep(expr.op, vec, p, grouper);
    if (expr.op === 'quantile' && out.length > 0 && !(p >= 0 && p <= 1) && expr.param !== undefined)
      ctx.annotate('warning', invalidQuantile(p), expr.param.pos);
    return out;
  });
}

function checkK(params: StepSeries[]): void {
  const values = params[0]?.vs ?? [];
  const finite = values.filter((v) => !Number.isNaN(v));
  if (finite.length > 0 && Math.max(...finite) < 1) return;
  if (values.some((v) => Number.isNaN(v))) executionError('Parameter value is NaN');
  for (const v of finite) {
    if (v <= -9.223372036854776e18) executionError(`Scalar value ${v} underflows int64`);
    if (v >= 9.223372036854776e18) executionError(`Scalar value ${v} overflows int64`);
  }
}

interface GroupState {
  info: GroupInfo;
  value: number;
  mean: number;
  c: number;
  count: number;
  incrementalMean: boolean;
  dropName: boolean;
  values: number[];
}

function aggregateStep(op: AggregateExpr['op'], vec: Vector, param: number, grouper: Grouper): Vector {
  const states: GroupState[] = [];
  const byIndex = new Map<number, GroupState>();
  for (const s of vec) {
    const info = grouper.groupOf(s.head);
    const state = byIndex.get(info.index);
    if (state === undefined) {
      const fresh = initialState(op, info, s);
      byIndex.set(info.index, fresh);
      states.push(fresh);
      continue;
    }
    if (s.head.dropName) state.dropName = true;
    accumulate(op, state, s.v);
  }
  return states.map((st) => ({ head: st.info.heads[st.dropName ? 1 : 0], v: finish(op, st, param) }));
}

function initialState(op: AggregateExpr['op'], info: GroupInfo, s: Sample): GroupState {
  const state: GroupState = {
    info,
    value: s.v,
    mean: s.v,
    c: 0,
    count: 1,
    incrementalMean: false,
    dropName: s.head.dropName,
    values: [s.v],
  };
  if (op === 'stddev' || op === 'stdvar') state.value = Number.isFinite(s.v) ? 0 : NaN;
  if (op === 'group') state.value = 1;
  return state;
}

function accumulate(op: AggregateExpr['op'], st: GroupState, f: number): void {
  switch (op) {
    case 'sum':
      [st.value, st.c] = kahanInc(f, st.value, st.c);
      return;
    case 'avg':
      return accumulateAvg(st, f);
    case 'max':
      if (st.value < f || Number.isNaN(st.value)) st.value = f;
      return;
    case 'min':
      if (st.value > f || Number.isNaN(st.value)) st.value = f;
      return;
    case 'count':
      st.count++;
      return;
    case 'stddev':
    case 'stdvar': {
      st.count++;
      const delta = f - st.mean;
      st.mean += delta / st.count;
      st.value += delta * (f - st.mean);
      return;
    }
    case 'quantile':
      st.values.push(f);
      return;
    default:
      return;
  }
}

/** Direct mean with Kahan summation while the sum stays finite, then an incremental mean (as Prometheus). */
function accumulateAvg(st: GroupState, f: number): void {
  st.count++;
  if (!st.incrementalMean) {
    const [sum, c] = kahanInc(f, st.value, st.c);
    if (Number.isFinite(sum) || Number.isNaN(sum)) {
      st.value = sum;
      st.c = c;
      return;
    }
    st.incrementalMean = true;
    st.mean = st.value / (st.count - 1);
    st.c /= st.count - 1;
  }
  const q = (st.count - 1) / st.count;
  [st.mean, st.c] = kahanInc(f / st.count, q * st.mean, q * st.c);
}

function finish(op: AggregateExpr['op'], st: GroupState, param: number): number {
  switch (op) {
    case 'sum':
      return Number.isFinite(st.value) ? st.value + st.c : st.value;
    case 'avg':
      return st.incrementalMean ? st.mean + st.c : st.value / st.count + st.c / st.count;
    case 'count':
      return st.count;
    case 'stdvar':
      return st.value / st.count;
    case 'stddev':
      return Math.sqrt(st.value / st.count);
    case 'quantile':
      return quantileOf(param, st.values);
    default:
      return st.value;
  }
}

function countValues(ctx: EvalContext, expr: AggregateExpr, range: EvalRange): StepSeries[] {
  const param = expr.param === undefined ? undefined : unwrapParens(expr.param);
  if (param?.kind !== 'StringLiteral')
    return executionError('count_values() needs a label name as its first argument');
  const valueLabel = param.value;
  const grouping = expr.without ? expr.grouping : [...expr.grouping, valueLabel];
  const grouper = new Grouper(expr.without, grouping);
  const input = ctx.evalSteps(expr.expr, range);
  return rangeEval(ctx.guard, range, [input], ([vec = []]) => {
    const counts = new Map<GroupInfo, number>();
    for (const s of vec) {
      const info = grouper.groupForLabels(setLabel(s.head.labels, valueLabel, formatFloatPlain(s.v)));
      counts.set(info, (counts.get(info) ?? 0) + 1);
    }
    return [...counts].map(([info, n]) => ({ head: info.heads[0], v: n }));
  });
}
