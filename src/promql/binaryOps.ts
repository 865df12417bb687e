import { labelsKey, METRIC_NAME_LABEL } from '../core/index.js';
import type { Labels } from '../core/index.js';
import type { BinaryExpr, BinaryOp, VectorMatching } from './ast.js';
import { typeOf } from './checker.js';
import type { EvalContext } from './evalContext.js';
import { formatLabelsGo, matchLabels, signatureOf } from './labelOps.js';
import { executionError } from './QueryGuard.js';
import { rangeEval } from './stepEval.js';
import { headKey } from './values.js';
import type { EvalRange, Sample, SeriesHead, StepSeries, Vector } from './values.js';

const scalarHead: SeriesHead = { labels: {}, dropName: false };
const comparisonOps = new Set<BinaryOp>(['==', '!=', '>', '<', '>=', '<=']);
const arithmeticOps = new Set<BinaryOp>(['+', '-', '*', '/', '%', '^', 'atan2']);

/** x ^ y with Go's math.Pow special cases where JavaScript differs (1 ^ NaN and (-1) ^ ±Inf are 1). */
function pow(x: number, y: number): number {
  if (x === 1 || y === 0) return 1;
  if (x === -1 && !Number.isFinite(y) && !Number.isNaN(y)) return 1;
  return x ** y;
}

/** Applies op to two floats: [result, keep]; comparisons keep the left value when true. */
export function elementBinop(op: BinaryOp, l: number, r: number): [number, boolean] {
  switch (op) {
    case '+':
      return [l + r, true];
    case '-':
      return [l - r, true];
    case '*':
      return [l * r, true];
    case '/':
      return [l / r, true];
    case '%':
      return [l % r, true];
    case '^':
      return [pow(l, r), true];
    case 'atan2':
      return [Math.atan2(l, r), true];
    case '==':
      return [l, l === r];
    case '!=':
      return [l, l !== r];
    case '>':
      return [l, l > r];
    case '<':
      return [l, l < r];
    case '>=':
      return [l, l >= r];
    case '<=':
      return [l, l <= r];
    default:
      return executionError(`operator ${JSON.stringify(op)} not allowed between numbers`);
  }
}

/** Evaluates a binary expression over the steps of range. */
export function evalBinary(ctx: EvalContext, expr: BinaryExpr, range: EvalRange): StepSeries[] {
  const lhsScalar = typeOf(expr.lhs) === 'scalar';
  const rhsScalar = typeOf(expr.rhs) === 'scalar';
  const lhs = ctx.evalSteps(expr.lhs, range);
  const rhs = ctx.evalSteps(expr.rhs, range);
  const { op } = expr;
  if (lhsScalar && rhsScalar) {
    return rangeEval(ctx.guard, range, [lhs, rhs], ([l, r]) => {
      const [value, keep] = elementBinop(op, l?.[0]?.v ?? NaN, r?.[0]?.v ?? NaN);
      return [{ head: scalarHead, v: comparisonOps.has(op) ? Number(keep) : value }];
    });
  }
  if (lhsScalar || rhsScalar) {
    const dropped = new WeakMap<SeriesHead, SeriesHead>();
    return rangeEval(ctx.guard, range, [lhs, rhs], ([l = [], r = []]) =>
      lhsScalar
        ? vectorScalar(expr, r, l[0]?.v ?? NaN, true, dropped)
        : vectorScalar(expr, l, r[0]?.v ?? NaN, false, dropped),
    );
  }
  const matching = expr.matching ?? { card: 'one-to-one', on: false, labels: [], include: [] };
  const state = new MatchState(matching, expr);
  return rangeEval(ctx.guard, range, [lhs, rhs], ([l = [], r = []]) => state.apply(l, r));
}

function vectorScalar(
  expr: BinaryExpr,
  vec: Vector,
  scalar: number,
  scalarOnLeft: boolean,
  dropped: WeakMap<SeriesHead, SeriesHead>,
): Vector {
  const out: Vector = [];
  const dropsName = arithmeticOps.has(expr.op) || expr.returnBool;
  for (const s of vec) {
    const [l, r] = scalarOnLeft ? [scalar, s.v] : [s.v, scalar];
    let [value, keep] = elementBinop(expr.op, l, r);
    // A comparison always returns the vector's value, whichever side it is on.
    if (comparisonOps.has(expr.op) && scalarOnLeft) value = r;
    if (expr.returnBool) {
      value = Number(keep);
      keep = true;
    }
    if (!keep) continue;
    let head = s.head;
    if (dropsName && !head.dropName) {
      let d = dropped.get(head);
      if (d === undefined) dropped.set(head, (d = { labels: head.labels, dropName: true }));
      head = d;
    }
    out.push({ head, v: value });
  }
  return out;
}

/** Vector/vector matching state kept across steps: signatures and result label sets are computed once. */
class MatchState {
  private readonly signatures = new WeakMap<SeriesHead, string>();
  private readonly results = new WeakMap<SeriesHead, WeakMap<SeriesHead, SeriesHead>>();

  constructor(
    private readonly matching: VectorMatching,
    private readonly expr: BinaryExpr,
  ) {}

  apply(lhs: Vector, rhs: Vector): Vector {
    switch (this.expr.op) {
      case 'and':
        if (lhs.length === 0 || rhs.length === 0) return [];
        return this.filter(lhs, rhs, true);
      case 'unless':
        if (lhs.length === 0 || rhs.length === 0) return lhs;
        return this.filter(lhs, rhs, false);
      case 'or': {
        const seen = new Set(lhs.map((s) => this.sig(s.head)));
        return [...lhs, ...rhs.filter((s) => !seen.has(this.sig(s.head)))];
      }
      default:
        return this.binop(lhs, rhs);
    }
  }

  private sig(head: SeriesHead): string {
    let sig = this.signatures.get(head);
    if (sig === undefined) {
      sig = signatureOf(head.labels, this.matching.on, this.matching.labels);
      this.signatures.set(head, sig);
    }
    return sig;
  }

  private filter(lhs: Vector, rhs: Vector, keepMatching: boolean): Vector {
    const present = new Set(rhs.map((s) => this.sig(s.head)));
    return lhs.filter((s) => present.has(this.sig(s.head)) === keepMatching);
  }

  private binop(lhs: Vector, rhs: Vector): Vector {
    if (lhs.length === 0 || rhs.length === 0) return [];
    const { card } = this.matching;
    const [many, one] = card === 'one-to-many' ? [rhs, lhs] : [lhs, rhs];
    const oneBySig = new Map<string, Sample>();
    for (const s of one) {
      const sig = this.sig(s.head);
      const dup = oneBySig.get(sig);
      if (dup !== undefined) this.duplicateError(s, dup);
      oneBySig.set(sig, s);
    }
    const matchedOne = new Set<string>();
    const matchedMany = new Map<string, Set<string>>();
    const out: Vector = [];
    for (const ms of many) {
      const sig = this.sig(ms.head);
      const os = oneBySig.get(sig);
      if (os === undefined) continue;
      const [l, r] = card === 'one-to-many' ? [os.v, ms.v] : [ms.v, os.v];
      const [value, keep] = elementBinop(this.expr.op, l, r);
      const head = this.resultHead(ms.head, os.head);
      if (card === 'one-to-one') {
        if (matchedOne.has(sig))
          executionError(
            'multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)',
          );
        matchedOne.add(sig);
      } else {
        let inserted = matchedMany.get(sig);
        if (inserted === undefined) matchedMany.set(sig, (inserted = new Set()));
        const key = headKey(head);
        if (inserted.has(key))
          executionError('multiple matches for labels: grouping labels must ensure unique matches');
        inserted.add(key);
      }
      if (this.expr.returnBool) out.push({ head, v: Number(keep) });
      else if (keep) out.push({ head, v: value });
    }
    return out;
  }

  private duplicateError(a: Sample, b: Sample): never {
    const side = this.matching.card === 'one-to-many' ? 'left' : 'right';
    const group = formatLabelsGo(matchLabels(a.head.labels, this.matching.on, this.matching.labels));
    const [first, second] = [formatLabelsGo(a.head.labels), formatLabelsGo(b.head.labels)].sort();
    return executionError(
      `found duplicate series for the match group ${group} on the ${side} hand-side of the operation: [${first}, ${second}]` +
        ';many-to-many matching not allowed: matching labels must be unique on one side',
    );
  }

  /** The result's labels: from the "many" side, narrowed for one-to-one, plus group_x labels from the "one" side. */
  private resultHead(many: SeriesHead, one: SeriesHead): SeriesHead {
    let byOne = this.results.get(many);
    if (byOne === undefined) this.results.set(many, (byOne = new WeakMap()));
    const cached = byOne.get(one);
    if (cached !== undefined) return cached;
    let labels: Record<string, string> = { ...many.labels };
    if (arithmeticOps.has(this.expr.op)) delete labels[METRIC_NAME_LABEL];
    if (this.matching.card === 'one-to-one') {
      labels = this.matching.on
        ? keepOnly(labels, this.matching.labels)
        : dropAll(labels, this.matching.labels);
    }
    for (const name of this.matching.include) {
      const v = one.labels[name];
      if (v !== undefined && v !== '') labels[name] = v;
      else delete labels[name];
    }
    const head: SeriesHead = { labels, dropName: this.expr.returnBool || many.dropName };
    head.key = labelsKey(labels);
    byOne.set(one, head);
    return head;
  }
}

function keepOnly(labels: Labels, names: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const n of names) {
    const v = labels[n];
    if (v !== undefined) out[n] = v;
  }
  return out;
}

function dropAll(labels: Labels, names: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) if (!names.includes(k)) out[k] = v;
  return out;
}
