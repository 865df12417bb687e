import { parser as lezerParser } from '@prometheus-io/lezer-promql';
import { METRIC_NAME_LABEL } from '../core/index.js';
import type { LabelMatcher } from '../tsdb/index.js';
import type { AtModifier, BinaryOp, Expr, PosRange, VectorMatching, VectorSelector } from './ast.js';
import { checkExpr, typeOf } from './checker.js';
import { functionSignatures } from './functionSignatures.js';
import { parseDurationTextMs, parseNumberText, unquoteString } from './literals.js';
import { applyPostfix, toMatrixSelector, toSubquery, withAt, withOffset } from './modifiers.js';
import { fail, ParseFailure, positionAt } from './parseErrors.js';
import type { ParseErrorInfo } from './parseErrors.js';
import {
  aggregateOps,
  binaryOps,
  blankTrailingDots,
  exprNodes,
  maskNewerFunctionNames,
  matchOps,
} from './lezerNodes.js';
import { describeSyntaxError } from './syntaxErrors.js';

type SyntaxNode = ReturnType<typeof lezerParser.parse>['topNode'];

/** The outcome of parsing a PromQL expression. */
export type ParseResult = { ok: true; expr: Expr } | { ok: false; error: ParseErrorInfo };

/** Parses and type-checks a PromQL expression into swas's AST; errors carry a Prometheus-like message and position. */
export function parseExpr(text: string): ParseResult {
  try {
    if (text.trim() === '') return failure(text, 'no expression found in input', { start: 0, end: 0 });
    const tree = lezerParser.parse(maskNewerFunctionNames(blankTrailingDots(text)));
    const syntaxError = describeSyntaxError(tree.topNode, text);
    if (syntaxError !== null) return failure(text, syntaxError.message, syntaxError.pos);
    const top = exprChildren(tree.topNode);
    const first = top[0];
    if (first === undefined || top.length !== 1)
      return failure(text, 'no expression found in input', { start: 0, end: 0 });
    const expr = new Converter(text).expr(first);
    checkExpr(expr);
    return { ok: true, expr };
  } catch (error) {
    if (error instanceof ParseFailure) return failure(text, error.message, error.pos);
    throw error;
  }
}

function failure(text: string, message: string, pos: PosRange): ParseResult {
  return { ok: false, error: { message, position: positionAt(text, pos.start) } };
}

function childNodes(node: SyntaxNode): SyntaxNode[] {
  const out: SyntaxNode[] = [];
  for (let c = node.firstChild; c !== null; c = c.nextSibling) out.push(c);
  return out;
}

function exprChildren(node: SyntaxNode): SyntaxNode[] {
  return childNodes(node).filter((c) => exprNodes.has(c.name));
}

function posOf(node: SyntaxNode): PosRange {
  return { start: node.from, end: node.to };
}

/** Walks the lezer tree and builds the typed AST. */
class Converter {
  constructor(private readonly text: string) {}

  expr(node: SyntaxNode): Expr {
    const pos = posOf(node);
    switch (node.name) {
      case 'NumberDurationLiteral':
        return { kind: 'NumberLiteral', value: this.number(node), pos };
      case 'StringLiteral':
        return { kind: 'StringLiteral', value: this.string(node), raw: this.slice(node), pos };
      case 'VectorSelector':
        return this.vectorSelector(node);
      case 'ParenExpr':
        return { kind: 'ParenExpr', expr: this.expr(this.onlyExpr(node)), pos };
      case 'UnaryExpr':
        return this.unary(node);
      case 'BinaryExpr':
        return this.binary(node);
      case 'AggregateExpr':
        return this.aggregate(node);
      case 'FunctionCall':
        return this.call(node);
      case 'MatrixSelector':
      case 'SubqueryExpr':
      case 'OffsetExpr':
      case 'StepInvariantExpr':
        return this.postfix(node);
      case 'AnchoredExpr':
      case 'SmoothedExpr':
        return fail(
          `the ${node.name === 'AnchoredExpr' ? 'anchored' : 'smoothed'} modifier is not supported yet (it is experimental in Prometheus)`,
          pos,
        );
      default:
        return fail(`unexpected ${JSON.stringify(this.slice(node))}`, pos);
    }
  }

  private slice(node: SyntaxNode): string {
    return this.text.slice(node.from, node.to);
  }

  private onlyExpr(node: SyntaxNode): SyntaxNode {
    const inner = exprChildren(node)[0];
    return inner ?? fail(`expected an expression in ${JSON.stringify(this.slice(node))}`, posOf(node));
  }

  private number(node: SyntaxNode): number {
    const value = parseNumberText(this.slice(node));
    if (value === null) fail(`error parsing number: ${JSON.stringify(this.slice(node))}`, posOf(node));
    return value;
  }

  private string(node: SyntaxNode): string {
    const result = unquoteString(this.slice(node));
    if (!result.ok && result.error === 'unterminated quoted string') fail(result.error, posOf(node));
    if (!result.ok) fail(`error unquoting string ${this.slice(node)}: ${result.error}`, posOf(node));
    return result.value;
  }

  private labelName(node: SyntaxNode): string {
    if (node.name === 'LabelName') return this.slice(node);
    const literal = node.name === 'QuotedLabelName' ? node.firstChild : node;
    if (literal === null) return fail('expected a label name', posOf(node));
    return this.string(literal);
  }

  private vectorSelector(node: SyntaxNode): VectorSelector {
    const pos = posOf(node);
    let name: string | undefined;
    const matchers: LabelMatcher[] = [];
    for (const child of childNodes(node)) {
      if (child.name === 'Identifier') name = this.slice(child);
      else if (child.name === 'LabelMatchers') matchers.push(...this.labelMatchers(child));
    }
    if (name !== undefined) {
      const inBraces = matchers.find((m) => m.name === METRIC_NAME_LABEL);
      if (inBraces)
        fail(
          `metric name must not be set twice: ${JSON.stringify(name)} or ${JSON.stringify(inBraces.value)}`,
          pos,
        );
      matchers.push({ name: METRIC_NAME_LABEL, type: '=', value: name });
      return { kind: 'VectorSelector', name, matchers, offsetMs: 0, pos };
    }
    return { kind: 'VectorSelector', matchers, offsetMs: 0, pos };
  }

  private labelMatchers(node: SyntaxNode): LabelMatcher[] {
    const out: LabelMatcher[] = [];
    let quotedNameSeen = false;
    for (const child of childNodes(node)) {
      if (child.name === 'QuotedLabelName') {
        if (quotedNameSeen) fail('metric name must not be set twice', posOf(child));
        quotedNameSeen = true;
        out.push({ name: METRIC_NAME_LABEL, type: '=', value: this.labelName(child) });
        continue;
      }
      if (child.name !== 'UnquotedLabelMatcher' && child.name !== 'QuotedLabelMatcher') continue;
      const parts = childNodes(child);
      const [nameNode, opNode, valueNode] = parts;
      const opName = opNode?.firstChild?.name ?? '';
      const type = matchOps[opName];
      if (nameNode === undefined || valueNode === undefined || type === undefined) {
        return fail(`unexpected ${JSON.stringify(this.slice(child))} in label matching`, posOf(child));
      }
      out.push({ name: this.labelName(nameNode), type, value: this.string(valueNode) });
    }
    return out;
  }

  private unary(node: SyntaxNode): Expr {
    const opNode = childNodes(node).find((c) => c.name === 'UnaryOp');
    const op = opNode !== undefined && this.slice(opNode) === '-' ? '-' : '+';
    const inner = this.expr(this.onlyExpr(node));
    return { kind: 'UnaryExpr', op, expr: inner, pos: posOf(node) };
  }

  private binary(node: SyntaxNode): Expr {
    const parts = childNodes(node);
    const [lhsNode, rhsNode] = exprChildren(node);
    const opNode = parts.find(
      (c) => binaryOps[c.name] !== undefined || c.name === 'TrimUpper' || c.name === 'TrimLower',
    );
    if (lhsNode === undefined || rhsNode === undefined || opNode === undefined) {
      return fail(`unexpected ${JSON.stringify(this.slice(node))}`, posOf(node));
    }
    const op = binaryOps[opNode.name];
    if (op === undefined)
      return fail(
        `the ${this.slice(opNode)} operator is not supported yet (it is experimental in Prometheus)`,
        posOf(opNode),
      );
    if (parts.some((c) => c.name === 'FillModifier')) {
      return fail(
        'fill modifiers are not supported yet (they are experimental in Prometheus)',
        posOf(opNode),
      );
    }
    const returnBool = parts.some((c) => c.name === 'BoolModifier');
    const clause = parts.find((c) => c.name === 'MatchingModifierClause');
    const lhs = this.expr(lhsNode);
    // `-2 ^ 2` is -(2 ^ 2) in PromQL, but lezer reads a signed literal on the left of ^.
    if (op === '^' && lhs.kind === 'NumberLiteral' && /^\s*[-+]/.test(this.slice(lhsNode))) {
      const negative = /^\s*-/.test(this.slice(lhsNode));
      const base = {
        ...lhs,
        value: Math.abs(lhs.value),
        pos: { start: lhs.pos.start + 1, end: lhs.pos.end },
      };
      const pow = this.buildBinary(op, base, this.expr(rhsNode), returnBool, clause, opNode, node);
      return { kind: 'UnaryExpr', op: negative ? '-' : '+', expr: pow, pos: posOf(node) };
    }
    return this.buildBinary(op, lhs, this.expr(rhsNode), returnBool, clause, opNode, node);
  }

  private buildBinary(
    op: BinaryOp,
    lhs: Expr,
    rhs: Expr,
    returnBool: boolean,
    clause: SyntaxNode | undefined,
    opNode: SyntaxNode,
    node: SyntaxNode,
  ): Expr {
    const base = {
      kind: 'BinaryExpr' as const,
      op,
      lhs,
      rhs,
      returnBool,
      pos: posOf(node),
      opPos: posOf(opNode),
    };
    const matching = this.matching(op, clause);
    if (typeOf(lhs) === 'vector' && typeOf(rhs) === 'vector') return { ...base, matching };
    if (matching.labels.length > 0) {
      fail('vector matching only allowed between instant vectors', posOf(node));
    }
    return base;
  }

  private matching(op: BinaryOp, clause: SyntaxNode | undefined): VectorMatching {
    const setOp = op === 'and' || op === 'or' || op === 'unless';
    if (clause === undefined)
      return { card: setOp ? 'many-to-many' : 'one-to-one', on: false, labels: [], include: [] };
    const parts = childNodes(clause);
    const on = parts.some((c) => c.name === 'On');
    const groupings = parts.filter((c) => c.name === 'GroupingLabels');
    const labels = groupings[0] ? this.groupingLabels(groupings[0]) : [];
    const include = groupings[1] ? this.groupingLabels(groupings[1]) : [];
    let card: VectorMatching['card'] = setOp ? 'many-to-many' : 'one-to-one';
    if (parts.some((c) => c.name === 'GroupLeft')) card = 'many-to-one';
    if (parts.some((c) => c.name === 'GroupRight')) card = 'one-to-many';
    return { card, on, labels, include };
  }

  private groupingLabels(node: SyntaxNode): string[] {
    return childNodes(node)
      .filter((c) => c.name === 'LabelName' || c.name === 'QuotedLabelName' || c.name === 'StringLiteral')
      .map((c) => this.labelName(c));
  }

  private aggregate(node: SyntaxNode): Expr {
    const pos = posOf(node);
    const parts = childNodes(node);
    const opName = parts.find((c) => c.name === 'AggregateOp')?.firstChild?.name ?? '';
    const op = aggregateOps[opName];
    if (op === undefined) return fail(`unknown aggregation ${JSON.stringify(this.slice(node))}`, pos);
    const modifier = parts.find((c) => c.name === 'AggregateModifier');
    const without = modifier !== undefined && childNodes(modifier).some((c) => c.name === 'Without');
    const groupingNode =
      modifier === undefined ? undefined : childNodes(modifier).find((c) => c.name === 'GroupingLabels');
    const grouping = groupingNode === undefined ? [] : this.groupingLabels(groupingNode);
    const body = parts.find((c) => c.name === 'FunctionCallBody');
    const args = body === undefined ? [] : exprChildren(body).map((a) => this.expr(a));
    if (args.length === 0) return fail('no arguments for aggregate expression provided', pos);
    const needsParam = !['sum', 'avg', 'min', 'max', 'count', 'stddev', 'stdvar', 'group'].includes(op);
    const wanted = needsParam ? 2 : 1;
    if (args.length !== wanted) {
      return fail(
        `wrong number of arguments for aggregate expression provided, expected ${wanted}, got ${args.length}`,
        pos,
      );
    }
    const expr = args[wanted - 1] as Expr;
    const base = { kind: 'AggregateExpr' as const, op, expr, grouping, without, pos };
    return needsParam ? { ...base, param: args[0] as Expr } : base;
  }

  private call(node: SyntaxNode): Expr {
    const pos = posOf(node);
    const parts = childNodes(node);
    const ident = parts.find((c) => c.name === 'FunctionIdentifier');
    const name = ident === undefined ? '' : this.slice(ident);
    const signature = functionSignatures.get(name);
    if (signature === undefined) return fail(`unknown function with name ${JSON.stringify(name)}`, pos);
    if (!signature.supported)
      return fail(`function ${JSON.stringify(name)} is not supported yet (${signature.reason ?? ''})`, pos);
    const body = parts.find((c) => c.name === 'FunctionCallBody');
    const args = body === undefined ? [] : exprChildren(body).map((a) => this.expr(a));
    return { kind: 'Call', func: name, args, pos };
  }

  /** Offset, @, range and subquery: convert the operand, then apply the modifier where PromQL binds it. */
  private postfix(node: SyntaxNode): Expr {
    const parts = childNodes(node);
    const baseNode = exprChildren(node)[0];
    if (baseNode === undefined) return fail(`unexpected ${JSON.stringify(this.slice(node))}`, posOf(node));
    const base = this.expr(baseNode);
    const end = node.to;
    switch (node.name) {
      case 'OffsetExpr': {
        const durationNode = parts.find((c) => c.name === 'OffsetDurationExpr');
        const offsetMs = durationNode === undefined ? 0 : this.offsetDuration(durationNode);
        return applyPostfix(base, end, (t) => withOffset(t, offsetMs, end));
      }
      case 'StepInvariantExpr': {
        const at = this.atModifier(parts, node);
        return applyPostfix(base, end, (t) => withAt(t, at, end));
      }
      case 'MatrixSelector': {
        const durationNode = parts.find((c) => c.name === 'DurationExpr');
        const rangeMs = this.positiveDuration(durationNode, node);
        const bracket = { start: baseNode.to, end };
        return applyPostfix(base, end, (t) => toMatrixSelector(t, rangeMs, bracket));
      }
      default: {
        const durations = parts.filter((c) => c.name === 'DurationExpr');
        const rangeMs = this.positiveDuration(durations[0], node);
        const stepMs = durations[1] === undefined ? undefined : this.positiveDuration(durations[1], node);
        return applyPostfix(base, end, (t) => toSubquery(t, rangeMs, stepMs, end));
      }
    }
  }

  private atModifier(parts: SyntaxNode[], node: SyntaxNode): AtModifier {
    const pre = parts.find((c) => c.name === 'AtModifierPreprocessors');
    if (pre !== undefined) return { kind: pre.firstChild?.name === 'AtEnd' ? 'end' : 'start' };
    const literal = parts.find((c) => c.name === 'NumberDurationLiteral');
    if (literal === undefined) return fail('unexpected "@", expected timestamp', posOf(node));
    const seconds = this.number(literal);
    if (!Number.isFinite(seconds) || Math.abs(seconds) >= 9.2e15) {
      fail(`timestamp out of bounds for @ modifier: ${seconds}`, posOf(node));
    }
    return { kind: 'time', ms: Math.round(seconds * 1000) };
  }

  private positiveDuration(node: SyntaxNode | undefined, parent: SyntaxNode): number {
    if (node === undefined) return fail('missing duration in range selector', posOf(parent));
    const ms = this.durationExpr(node);
    if (ms <= 0) fail('duration must be greater than 0', posOf(node));
    return ms;
  }

  /** A duration inside brackets: a literal, optionally negated; arithmetic on durations is experimental. */
  private durationExpr(node: SyntaxNode): number {
    const parts = childNodes(node);
    const literal = parts.find((c) => c.name === 'NumberDurationLiteralInDurationContext');
    if (parts.length === 1 && literal !== undefined) return this.durationLiteral(literal);
    const op = parts[0];
    const inner = parts[1];
    if (parts.length === 2 && op?.name === 'UnaryOp' && inner?.name === 'DurationExpr') {
      const value = this.durationExpr(inner);
      return this.slice(op) === '-' ? -value : value;
    }
    return fail(
      'duration expressions are not supported yet (they are experimental in Prometheus)',
      posOf(node),
    );
  }

  private offsetDuration(node: SyntaxNode): number {
    const parts = childNodes(node);
    const first = parts[0];
    if (first?.name === 'NumberDurationLiteralInDurationContext' && parts.length === 1)
      return this.durationLiteral(first);
    const inner = parts[1];
    if (first?.name === 'UnaryOp' && inner?.name === 'OffsetDurationExpr' && parts.length === 2) {
      const value = this.offsetDuration(inner);
      return this.slice(first) === '-' ? -value : value;
    }
    return fail(
      'duration expressions are not supported yet (they are experimental in Prometheus)',
      posOf(node),
    );
  }

  private durationLiteral(node: SyntaxNode): number {
    const ms = parseDurationTextMs(this.slice(node));
    if (ms === null || Math.abs(ms) > 9.2e15)
      return fail(`invalid duration ${JSON.stringify(this.slice(node))}`, posOf(node));
    return ms;
  }
}
