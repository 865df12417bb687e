import type { LabelMatcher } from '../tsdb/index.js';

/** A span of the query text: [start, end) as character offsets. */
export interface PosRange {
  readonly start: number;
  readonly end: number;
}

/** The four PromQL value types. */
export type ValueType = 'scalar' | 'vector' | 'matrix' | 'string';

/** Where an `@` modifier pins evaluation: a fixed time, or the query's start or end. */
export type AtModifier = { readonly kind: 'time'; readonly ms: number } | { readonly kind: 'start' | 'end' };

/** A number literal such as `1`, `1e3`, `0x1f`, `Inf`, or a duration used as seconds (`5m`). */
export interface NumberLiteral {
  readonly kind: 'NumberLiteral';
  readonly value: number;
  readonly pos: PosRange;
}

/** A string literal, already unquoted; `raw` is the literal as written, quotes included. */
export interface StringLiteral {
  readonly kind: 'StringLiteral';
  readonly value: string;
  readonly raw: string;
  readonly pos: PosRange;
}

/** An instant vector selector such as `http_requests_total{job="api"} offset 5m @ 1700000000`. */
export interface VectorSelector {
  readonly kind: 'VectorSelector';
  /** The metric name written before the braces, if any. */
  readonly name?: string;
  /** All matchers, including one for `__name__` when a name was written before the braces. */
  readonly matchers: readonly LabelMatcher[];
  readonly offsetMs: number;
  readonly at?: AtModifier;
  readonly pos: PosRange;
}

/** A range vector selector: `selector[5m]`. */
export interface MatrixSelector {
  readonly kind: 'MatrixSelector';
  readonly selector: VectorSelector;
  readonly rangeMs: number;
  readonly pos: PosRange;
}

/** A subquery: `expr[range:step]`, with its own offset and `@`. */
export interface SubqueryExpr {
  readonly kind: 'SubqueryExpr';
  readonly expr: Expr;
  readonly rangeMs: number;
  /** Absent when written as `[range:]`: the engine's default subquery step applies. */
  readonly stepMs?: number;
  readonly offsetMs: number;
  readonly at?: AtModifier;
  readonly pos: PosRange;
}

/** A parenthesized expression. */
export interface ParenExpr {
  readonly kind: 'ParenExpr';
  readonly expr: Expr;
  readonly pos: PosRange;
}

/** Unary plus or minus. */
export interface UnaryExpr {
  readonly kind: 'UnaryExpr';
  readonly op: '+' | '-';
  readonly expr: Expr;
  readonly pos: PosRange;
}

/** Arithmetic operators. */
export type ArithmeticOp = '+' | '-' | '*' | '/' | '%' | '^' | 'atan2';
/** Comparison operators. */
export type ComparisonOp = '==' | '!=' | '>' | '<' | '>=' | '<=';
/** Set operators. */
export type SetOp = 'and' | 'or' | 'unless';
/** Every binary operator. */
export type BinaryOp = ArithmeticOp | ComparisonOp | SetOp;

/** How the two sides of a vector/vector operation are paired. */
export interface VectorMatching {
  readonly card: 'one-to-one' | 'many-to-one' | 'one-to-many' | 'many-to-many';
  /** True for `on(...)`, false for `ignoring(...)` (and for no clause, which ignores nothing). */
  readonly on: boolean;
  readonly labels: readonly string[];
  /** Labels copied from the "one" side by `group_left(...)`/`group_right(...)`. */
  readonly include: readonly string[];
}

/** A binary operation. */
export interface BinaryExpr {
  readonly kind: 'BinaryExpr';
  readonly op: BinaryOp;
  readonly lhs: Expr;
  readonly rhs: Expr;
  readonly returnBool: boolean;
  /** Present only when both sides are instant vectors. */
  readonly matching?: VectorMatching;
  readonly pos: PosRange;
  /** Where the operator itself is written, for error messages. */
  readonly opPos: PosRange;
}

/** Aggregation operators. */
export type AggregateOp =
  | 'sum'
  | 'avg'
  | 'min'
  | 'max'
  | 'count'
  | 'stddev'
  | 'stdvar'
  | 'group'
  | 'topk'
  | 'bottomk'
  | 'quantile'
  | 'count_values'
  | 'limitk'
  | 'limit_ratio';

/** An aggregation: `sum by (job) (expr)`, `topk(3, expr)`. */
export interface AggregateExpr {
  readonly kind: 'AggregateExpr';
  readonly op: AggregateOp;
  readonly expr: Expr;
  /** k for topk/bottomk/limitk, the ratio for limit_ratio, φ for quantile, the label name for count_values. */
  readonly param?: Expr;
  readonly grouping: readonly string[];
  readonly without: boolean;
  readonly pos: PosRange;
}

/** A function call. */
export interface Call {
  readonly kind: 'Call';
  readonly func: string;
  readonly args: readonly Expr[];
  readonly pos: PosRange;
}

/** Any PromQL expression. */
export type Expr =
  | NumberLiteral
  | StringLiteral
  | VectorSelector
  | MatrixSelector
  | SubqueryExpr
  | ParenExpr
  | UnaryExpr
  | BinaryExpr
  | AggregateExpr
  | Call;

/** Removes any number of enclosing parentheses. */
export function unwrapParens(expr: Expr): Expr {
  let e = expr;
  while (e.kind === 'ParenExpr') e = e.expr;
  return e;
}

/** Calls visit on expr and every sub-expression, parents first. */
export function walkExpr(expr: Expr, visit: (e: Expr) => void): void {
  visit(expr);
  for (const child of childrenOf(expr)) walkExpr(child, visit);
}

/** The direct sub-expressions of expr. */
export function childrenOf(expr: Expr): readonly Expr[] {
  switch (expr.kind) {
    case 'MatrixSelector':
      return [expr.selector];
    case 'SubqueryExpr':
    case 'ParenExpr':
    case 'UnaryExpr':
      return [expr.expr];
    case 'BinaryExpr':
      return [expr.lhs, expr.rhs];
    case 'AggregateExpr':
      return expr.param === undefined ? [expr.expr] : [expr.param, expr.expr];
    case 'Call':
      return expr.args;
    default:
      return [];
  }
}
