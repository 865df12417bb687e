import type { SeriesReader } from '../tsdb/index.js';
import { evalAggregate } from './aggregations.js';
import type { AnnotationKind, Annotations } from './annotations.js';
import type { Expr, PosRange } from './ast.js';
import { evalBinary } from './binaryOps.js';
import { evalCall } from './calls.js';
import { typeOf } from './checker.js';
import type { EvalContext, RangeSource } from './evalContext.js';
import { executionError } from './QueryGuard.js';
import type { QueryGuard } from './QueryGuard.js';
import { evalVectorSelector, matrixSource, subquerySource, windowBounds } from './selectors.js';
import { isStepInvariant } from './stepInvariance.js';
import { pointCount } from './stepEval.js';
import { stepCount } from './values.js';
import type { EvalRange, EvalValue, RangeSeries, SeriesHead, StepSeries } from './values.js';

/** Settings of one query evaluation. */
export interface EvaluatorOptions {
  readonly reader: SeriesReader;
  readonly guard: QueryGuard;
  /** How far back an instant selector looks for a sample. */
  readonly lookbackMs: number;
  /** Step of subqueries written without one. */
  readonly subqueryStepMs: number;
  readonly queryStart: number;
  readonly queryEnd: number;
  /** Step of the whole query; 0 for an instant query. */
  readonly queryStep: number;
  /** Where the query's warnings and infos go. */
  readonly annotations: Annotations;
}

const scalarHead: SeriesHead = { labels: {}, dropName: false };

/** Evaluates a checked AST over a SeriesReader, one query at a time (Prometheus's range-oriented engine). */
export class Evaluator implements EvalContext {
  readonly reader: SeriesReader;
  readonly guard: QueryGuard;
  readonly lookbackMs: number;
  readonly subqueryStepMs: number;
  readonly queryStart: number;
  readonly queryEnd: number;
  readonly queryStep: number;
  private readonly annotations: Annotations;

  constructor(options: EvaluatorOptions) {
    this.reader = options.reader;
    this.guard = options.guard;
    this.lookbackMs = options.lookbackMs;
    this.subqueryStepMs = options.subqueryStepMs;
    this.queryStart = options.queryStart;
    this.queryEnd = options.queryEnd;
    this.queryStep = options.queryStep;
    this.annotations = options.annotations;
  }

  annotate(kind: AnnotationKind, message: string, pos: PosRange): void {
    this.annotations.add(kind, message, pos);
  }

  /** Evaluates the top-level expression: strings and range vectors as themselves, everything else per step. */
  evaluate(expr: Expr, range: EvalRange): EvalValue {
    this.guard.checkNow();
    switch (typeOf(expr)) {
      case 'string':
        return { kind: 'string', value: stringValue(expr) };
      case 'matrix':
        return { kind: 'range', series: this.rangeAt(expr, range.end) };
      default:
        return { kind: 'steps', series: this.evalSteps(expr, range) };
    }
  }

  evalSteps(expr: Expr, range: EvalRange): StepSeries[] {
    this.guard.check();
    if (range.end < range.start) return [];
    const held = this.guard.heldSamples();
    const result = this.compute(expr, range);
    // Once a node is done, only its output stays in memory.
    this.guard.releaseSamples(this.guard.heldSamples() - held);
    this.guard.addSamples(pointCount(result));
    return result;
  }

  rangeSource(expr: Expr, range: EvalRange): RangeSource {
    if (expr.kind === 'MatrixSelector') return matrixSource(this, expr, range);
    if (expr.kind === 'SubqueryExpr') return subquerySource(this, expr, range);
    if (expr.kind === 'ParenExpr') return this.rangeSource(expr.expr, range);
    return executionError(`expected a range vector, got ${expr.kind}`);
  }

  private compute(expr: Expr, range: EvalRange): StepSeries[] {
    const steps = stepCount(range);
    if (steps > 1 && expr.kind !== 'NumberLiteral' && isStepInvariant(expr)) {
      return replicate(this.compute(expr, { ...range, end: range.start }), range, steps);
    }
    switch (expr.kind) {
      case 'NumberLiteral':
        return [constant(expr.value, range, steps)];
      case 'VectorSelector':
        return evalVectorSelector(this, expr, range);
      case 'ParenExpr':
        return this.evalSteps(expr.expr, range);
      case 'UnaryExpr':
        return expr.op === '-' ? negate(this.evalSteps(expr.expr, range)) : this.evalSteps(expr.expr, range);
      case 'BinaryExpr':
        return evalBinary(this, expr, range);
      case 'AggregateExpr':
        return evalAggregate(this, expr, range);
      case 'Call':
        return evalCall(this, expr, range);
      default:
        return executionError(`cannot evaluate a ${typeOf(expr)} expression at each step: ${expr.kind}`);
    }
  }

  /** A range vector as the result of an instant query: each series' samples in the window ending at ts. */
  private rangeAt(expr: Expr, ts: number): RangeSeries[] {
    const source = this.rangeSource(expr, { start: ts, end: ts, step: 1 });
    const end = source.refTime(ts);
    const out: RangeSeries[] = [];
    for (const s of source.series) {
      const bounds = { from: 0, to: 0 };
      windowBounds(s.t, end, source.rangeMs, bounds);
      if (bounds.to <= bounds.from) continue;
      out.push({
        head: s.head,
        t: copyRange(s.t, bounds.from, bounds.to),
        v: copyRange(s.v, bounds.from, bounds.to),
      });
    }
    return out;
  }
}

function copyRange(values: ArrayLike<number>, from: number, to: number): number[] {
  const out: number[] = [];
  for (let i = from; i < to; i++) out.push(values[i] ?? NaN);
  return out;
}

function stringValue(expr: Expr): string {
  if (expr.kind === 'StringLiteral') return expr.value;
  if (expr.kind === 'ParenExpr') return stringValue(expr.expr);
  return executionError('expected a string literal');
}

function constant(value: number, range: EvalRange, steps: number): StepSeries {
  const ts: number[] = [];
  const vs: number[] = [];
  for (let i = 0; i < steps; i++) {
    ts.push(range.start + i * range.step);
    vs.push(value);
  }
  return { head: scalarHead, ts, vs };
}

function negate(input: StepSeries[]): StepSeries[] {
  return input.map((s) => ({
    head: { labels: s.head.labels, dropName: true },
    ts: s.ts,
    vs: s.vs.map((v) => -v),
  }));
}

/** Copies a step-invariant result (evaluated once at the first step) to every step. */
function replicate(once: StepSeries[], range: EvalRange, steps: number): StepSeries[] {
  return once.map((s) => {
    const value = s.vs[0] ?? NaN;
    const ts: number[] = [];
    const vs: number[] = [];
    for (let i = 0; i < steps; i++) {
      ts.push(range.start + i * range.step);
      vs.push(value);
    }
    return { head: s.head, ts, vs };
  });
}
