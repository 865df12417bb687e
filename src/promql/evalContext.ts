import type { SeriesReader } from '../tsdb/index.js';
import type { AnnotationKind } from './annotations.js';
import type { AtModifier, Expr, PosRange } from './ast.js';
import type { QueryGuard } from './QueryGuard.js';
import type { EvalRange, RangeSeries, StepSeries } from './values.js';

/** Raw samples for a range function plus how each step maps to its window (refTime - rangeMs, refTime]. */
export interface RangeSource {
  readonly series: RangeSeries[];
  readonly rangeMs: number;
  /** The end of the window for an evaluation step (the step time, or the `@` time, minus the offset). */
  refTime(stepTs: number): number;
}

/** What the per-concern evaluation modules need from the evaluator, without depending on it. */
export interface EvalContext {
  readonly reader: SeriesReader;
  readonly guard: QueryGuard;
  readonly lookbackMs: number;
  /** Step of a subquery written without one (`[5m:]`). */
  readonly subqueryStepMs: number;
  /** Start and end of the whole query, for `@ start()` and `@ end()`. */
  readonly queryStart: number;
  readonly queryEnd: number;
  /** Step of the whole query; 0 for an instant query (Prometheus's step() and range()). */
  readonly queryStep: number;
  /** Records a warning or info about the expression at pos (Prometheus's annotations). */
  annotate(kind: AnnotationKind, message: string, pos: PosRange): void;
  /** Evaluates an instant-vector or scalar expression at every step of range. */
  evalSteps(expr: Expr, range: EvalRange): StepSeries[];
  /** Prepares a range-vector expression (matrix selector or subquery) for a range function. */
  rangeSource(expr: Expr, range: EvalRange): RangeSource;
}

/** The timestamp an `@` modifier pins to, or undefined without one. */
export function resolveAt(ctx: EvalContext, at: AtModifier | undefined): number | undefined {
  if (at === undefined) return undefined;
  if (at.kind === 'time') return at.ms;
  return at.kind === 'start' ? ctx.queryStart : ctx.queryEnd;
}
