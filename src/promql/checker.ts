import { compileAnchoredRegex } from '../tsdb/index.js';
import type { AggregateExpr, BinaryExpr, Call, Expr, ValueType, VectorSelector } from './ast.js';
import { unwrapParens } from './ast.js';
import { functionSignatures } from './functionSignatures.js';
import { isValidUtf8LabelName } from './literals.js';
import { fail } from './parseErrors.js';

/** The static type of an expression. */
export function typeOf(expr: Expr): ValueType {
  switch (expr.kind) {
    case 'NumberLiteral':
      return 'scalar';
    case 'StringLiteral':
      return 'string';
    case 'VectorSelector':
    case 'AggregateExpr':
      return 'vector';
    case 'MatrixSelector':
    case 'SubqueryExpr':
      return 'matrix';
    case 'ParenExpr':
    case 'UnaryExpr':
      return typeOf(expr.expr);
    case 'BinaryExpr':
      return typeOf(expr.lhs) === 'scalar' && typeOf(expr.rhs) === 'scalar' ? 'scalar' : 'vector';
    case 'Call':
      return functionSignatures.get(expr.func)?.returnType ?? 'vector';
  }
}

/** How Prometheus names value types in messages. */
export function documentedType(type: ValueType): string {
  switch (type) {
    case 'vector':
      return 'instant vector';
    case 'matrix':
      return 'range vector';
    default:
      return type;
  }
}

const comparisonOps = new Set(['==', '!=', '>', '<', '>=', '<=']);
const setOps = new Set(['and', 'or', 'unless']);

/** Type-checks an expression tree as Prometheus's parser does; throws ParseFailure on the first problem. */
export function checkExpr(expr: Expr): void {
  switch (expr.kind) {
    case 'AggregateExpr':
      return checkAggregate(expr);
    case 'BinaryExpr':
      return checkBinary(expr);
    case 'Call':
      return checkCall(expr);
    case 'ParenExpr':
      return checkExpr(expr.expr);
    case 'UnaryExpr': {
      checkExpr(expr.expr);
      const t = typeOf(expr.expr);
      if (t !== 'scalar' && t !== 'vector') {
        fail(
          `unary expression only allowed on expressions of type scalar or instant vector, got "${documentedType(t)}"`,
          expr.pos,
        );
      }
      return;
    }
    case 'SubqueryExpr': {
      checkExpr(expr.expr);
      const t = typeOf(expr.expr);
      if (t !== 'vector') fail(`subquery is only allowed on instant vector, got ${t} instead`, expr.pos);
      return;
    }
    case 'MatrixSelector':
      return checkSelector(expr.selector);
    case 'VectorSelector':
      return checkSelector(expr);
    default:
      return;
  }
}

function expectType(expr: Expr, want: ValueType, context: string): void {
  checkExpr(expr);
  const t = typeOf(expr);
  if (t !== want)
    fail(`expected type ${documentedType(want)} in ${context}, got ${documentedType(t)}`, expr.pos);
}

function checkAggregate(expr: AggregateExpr): void {
  expectType(expr.expr, 'vector', 'aggregation expression');
  if (expr.param === undefined) return;
  if (expr.op === 'count_values') {
    expectType(expr.param, 'string', 'aggregation parameter');
    const label = unwrapParens(expr.param);
    if (label.kind === 'StringLiteral' && !isValidUtf8LabelName(label.value)) {
      // The raw literal shows bytes that are not valid UTF-8 as written (e.g. "a\xc5z").
      fail(`invalid label name ${label.raw}`, expr.param.pos);
    }
    return;
  }
  expectType(expr.param, 'scalar', 'aggregation parameter');
}

function checkBinary(expr: BinaryExpr): void {
  checkExpr(expr.lhs);
  checkExpr(expr.rhs);
  const lt = typeOf(expr.lhs);
  const rt = typeOf(expr.rhs);
  const isComparison = comparisonOps.has(expr.op);
  const isSet = setOps.has(expr.op);
  if (expr.returnBool && !isComparison)
    fail('bool modifier can only be used on comparison operators', expr.opPos);
  if (isComparison && !expr.returnBool && lt === 'scalar' && rt === 'scalar') {
    fail('comparisons between scalars must use BOOL modifier', expr.opPos);
  }
  const matching = expr.matching;
  if (matching?.on) {
    const clash = matching.labels.find((l) => matching.include.includes(l));
    if (clash !== undefined)
      fail(`label ${JSON.stringify(clash)} must not occur in ON and GROUP clause at once`, expr.opPos);
  }
  if (lt !== 'scalar' && lt !== 'vector') {
    fail('binary expression must contain only scalar and instant vector types', expr.lhs.pos);
  }
  if (rt !== 'scalar' && rt !== 'vector') {
    fail('binary expression must contain only scalar and instant vector types', expr.rhs.pos);
  }
  if (isSet && matching !== undefined) {
    if (matching.card === 'many-to-one' || matching.card === 'one-to-many') {
      fail(`no grouping allowed for "${expr.op}" operation`, expr.pos);
    }
  }
  if ((lt === 'scalar' || rt === 'scalar') && isSet) {
    fail(`set operator "${expr.op}" not allowed in binary scalar expression`, expr.pos);
  }
}

function checkCall(expr: Call): void {
  const sig = functionSignatures.get(expr.func);
  if (sig === undefined) return fail(`unknown function with name ${JSON.stringify(expr.func)}`, expr.pos);
  const nargs = sig.argTypes.length;
  const name = JSON.stringify(sig.name);
  if (sig.variadic === 0) {
    if (nargs !== expr.args.length) {
      fail(`expected ${nargs} argument(s) in call to ${name}, got ${expr.args.length}`, expr.pos);
    }
  } else {
    const min = nargs - 1;
    if (min > expr.args.length)
      fail(`expected at least ${min} argument(s) in call to ${name}, got ${expr.args.length}`, expr.pos);
    const max = min + sig.variadic;
    if (sig.variadic > 0 && max < expr.args.length) {
      fail(`expected at most ${max} argument(s) in call to ${name}, got ${expr.args.length}`, expr.pos);
    }
  }
  expr.args.forEach((arg, i) => {
    const want = sig.argTypes[Math.min(i, nargs - 1)];
    if (want === undefined) return;
    checkExpr(arg);
    const t = typeOf(arg);
    if (t !== want)
      fail(
        `expected type ${documentedType(want)} in call to function ${name}, got ${documentedType(t)}`,
        arg.pos,
      );
  });
  if (expr.func === 'label_replace') checkLabelReplace(expr);
  if (expr.func === 'label_join') checkLabelJoin(expr);
}

function stringArg(expr: Call, i: number): string | undefined {
  const arg = expr.args[i];
  if (arg === undefined) return undefined;
  const inner = unwrapParens(arg);
  return inner.kind === 'StringLiteral' ? inner.value : undefined;
}

function checkLabelReplace(expr: Call): void {
  const dst = stringArg(expr, 1);
  const regex = stringArg(expr, 4);
  if (regex !== undefined && !compileAnchoredRegex(regex).ok) {
    fail(`invalid regular expression in label_replace(): ${regex}`, (expr.args[4] ?? expr).pos);
  }
  if (dst !== undefined && !isValidUtf8LabelName(dst)) {
    fail(`invalid destination label name in label_replace(): ${dst}`, (expr.args[1] ?? expr).pos);
  }
}

function checkLabelJoin(expr: Call): void {
  const dst = stringArg(expr, 1);
  if (dst !== undefined && !isValidUtf8LabelName(dst)) {
    fail(`invalid destination label name in label_join(): ${dst}`, (expr.args[1] ?? expr).pos);
  }
  for (let i = 3; i < expr.args.length; i++) {
    const src = stringArg(expr, i);
    if (src !== undefined && !isValidUtf8LabelName(src)) {
      fail(`invalid source label name in label_join(): ${src}`, (expr.args[i] ?? expr).pos);
    }
  }
}

function checkSelector(sel: VectorSelector): void {
  for (const m of sel.matchers) {
    if (m.type !== '=~' && m.type !== '!~') continue;
    const compiled = compileAnchoredRegex(m.value);
    if (!compiled.ok) fail(compiled.error, sel.pos);
  }
  if (sel.name !== undefined) return;
  const nonEmpty = sel.matchers.some((m) => !matchesEmpty(m.type, m.value));
  if (!nonEmpty) fail('vector selector must contain at least one non-empty matcher', sel.pos);
}

function matchesEmpty(type: string, value: string): boolean {
  switch (type) {
    case '=':
      return value === '';
    case '!=':
      return value !== '';
    default: {
      const compiled = compileAnchoredRegex(value);
      const matches = compiled.ok && compiled.regex.test('');
      return type === '=~' ? matches : !matches;
    }
  }
}
