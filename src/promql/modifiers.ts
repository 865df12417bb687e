import type { AtModifier, Expr, MatrixSelector, PosRange, SubqueryExpr, VectorSelector } from './ast.js';
import { fail } from './parseErrors.js';

// The lezer grammar gives postfix modifiers (offset, @, [range], [range:step]) the lowest precedence, so
// `a + b offset 5m` arrives as (a + b) offset 5m. In PromQL they bind tightest, so each modifier is pushed
// down into the right-most operand of unparenthesized binary and unary expressions before it is applied.

/** Applies a postfix modifier to the operand it binds to in PromQL, rebuilding the enclosing operators. */
export function applyPostfix(base: Expr, end: number, apply: (target: Expr) => Expr): Expr {
  if (base.kind === 'BinaryExpr') {
    const rhs = applyPostfix(base.rhs, end, apply);
    return { ...base, rhs, pos: { start: base.pos.start, end } };
  }
  if (base.kind === 'UnaryExpr') {
    const inner = applyPostfix(base.expr, end, apply);
    return { ...base, expr: inner, pos: { start: base.pos.start, end } };
  }
  return apply(base);
}

/** `expr offset d`: sets the offset of a selector or subquery. */
export function withOffset(target: Expr, offsetMs: number, end: number): Expr {
  const pos = { start: target.pos.start, end };
  const already = 'offset may not be set multiple times';
  switch (target.kind) {
    case 'VectorSelector':
      if (target.offsetMs !== 0) fail(already, pos);
      return { ...target, offsetMs, pos };
    case 'MatrixSelector':
      if (target.selector.offsetMs !== 0) fail(already, pos);
      return { ...target, selector: { ...target.selector, offsetMs }, pos };
    case 'SubqueryExpr':
      if (target.offsetMs !== 0) fail(already, pos);
      return { ...target, offsetMs, pos };
    default:
      return fail(
        'offset modifier must be preceded by an instant vector selector or range vector selector or a subquery',
        target.pos,
      );
  }
}

/** `expr @ t`: pins a selector or subquery to a time. */
export function withAt(target: Expr, at: AtModifier, end: number): Expr {
  const pos = { start: target.pos.start, end };
  const already = '@ <timestamp> may not be set multiple times';
  switch (target.kind) {
    case 'VectorSelector':
      if (target.at !== undefined) fail(already, pos);
      return { ...target, at, pos };
    case 'MatrixSelector':
      if (target.selector.at !== undefined) fail(already, pos);
      return { ...target, selector: { ...target.selector, at }, pos };
    case 'SubqueryExpr':
      if (target.at !== undefined) fail(already, pos);
      return { ...target, at, pos };
    default:
      return fail(
        '@ modifier must be preceded by an instant vector selector or range vector selector or a subquery',
        target.pos,
      );
  }
}

/** `selector[range]`: only a plain vector selector may take a range. */
export function toMatrixSelector(target: Expr, rangeMs: number, bracket: PosRange): MatrixSelector {
  if (target.kind !== 'VectorSelector') return fail('ranges only allowed for vector selectors', bracket);
  const selector: VectorSelector = target;
  if (selector.offsetMs !== 0) fail('no offset modifiers allowed before range', bracket);
  if (selector.at !== undefined) fail('no @ modifiers allowed before range', bracket);
  return { kind: 'MatrixSelector', selector, rangeMs, pos: { start: target.pos.start, end: bracket.end } };
}

/** `expr[range:step]`. */
export function toSubquery(
  target: Expr,
  rangeMs: number,
  stepMs: number | undefined,
  end: number,
): SubqueryExpr {
  const pos = { start: target.pos.start, end };
  return stepMs === undefined
    ? { kind: 'SubqueryExpr', expr: target, rangeMs, offsetMs: 0, pos }
    : { kind: 'SubqueryExpr', expr: target, rangeMs, stepMs, offsetMs: 0, pos };
}
