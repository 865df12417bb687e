import type { Expr } from './ast.js';
import { unwrapParens } from './ast.js';

// Functions whose result depends on the evaluation time even when their inputs are pinned with @.
const timeDependentFunctions = new Set([
  'days_in_month',
  'day_of_month',
  'day_of_week',
  'day_of_year',
  'hour',
  'minute',
  'month',
  'year',
  'predict_linear',
  'time',
  'timestamp',
]);

/**
 * True when an expression yields the same value at every step, because every selector in it is pinned
 * with @ (Prometheus's StepInvariantExpr). Such a subtree is evaluated once and copied to every step.
 */
export function isStepInvariant(expr: Expr): boolean {
  switch (expr.kind) {
    case 'NumberLiteral':
    case 'StringLiteral':
      return true;
    case 'VectorSelector':
      return expr.at !== undefined;
    case 'MatrixSelector':
      return expr.selector.at !== undefined;
    case 'SubqueryExpr':
      return expr.at !== undefined;
    case 'ParenExpr':
    case 'UnaryExpr':
      return isStepInvariant(expr.expr);
    case 'BinaryExpr':
      return isStepInvariant(expr.lhs) && isStepInvariant(expr.rhs);
    case 'AggregateExpr':
      return isStepInvariant(expr.expr) && (expr.param === undefined || isStepInvariant(expr.param));
    case 'Call': {
      const first = expr.args[0] === undefined ? undefined : unwrapParens(expr.args[0]);
      // timestamp(selector @ t) is the timestamp of a pinned sample, the same at every step.
      if (expr.func === 'timestamp' && first?.kind === 'VectorSelector') return first.at !== undefined;
      return !timeDependentFunctions.has(expr.func) && expr.args.every(isStepInvariant);
    }
  }
}
