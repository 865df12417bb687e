import type { parser as lezerParser } from '@prometheus-io/lezer-promql';
import type { PosRange } from './ast.js';
import { functionSignatures } from './functionSignatures.js';

type SyntaxNode = ReturnType<typeof lezerParser.parse>['topNode'];

const contexts: Record<string, string> = {
  LabelMatchers: ' in label matching',
  UnquotedLabelMatcher: ' in label matching, expected string',
  QuotedLabelMatcher: ' in label matching, expected string',
  GroupingLabels: ' in grouping opts, expected label',
  FunctionCallBody: ' in argument list',
  AggregateExpr: ' in aggregation',
  MatrixSelector: ' in range selector, expected duration',
  SubqueryExpr: ' in subquery selector, expected duration',
  DurationExpr: ', expected duration',
  OffsetExpr: ' in offset, expected duration',
  StepInvariantExpr: ' after "@", expected timestamp',
  BinaryExpr: ' in binary expression',
};

/**
 * Finds the first error node lezer produced and words it the way Prometheus does
 * ("unexpected end of input", "unexpected identifier ..."); null when the text parsed cleanly.
 */
export function describeSyntaxError(
  top: SyntaxNode,
  text: string,
): { message: string; pos: PosRange } | null {
  let found: SyntaxNode | null = null;
  const cursor = top.cursor();
  do {
    if (cursor.type.isError && (found === null || cursor.from < found.from)) found = cursor.node;
  } while (cursor.next());
  if (found === null) return null;
  const errorNode = found;
  const pos = { start: errorNode.from, end: errorNode.to };
  const unknownFunction = unknownFunctionName(errorNode, text);
  if (unknownFunction !== null) {
    const start = errorNode.prevSibling?.from ?? errorNode.from;
    const known = functionSignatures.get(unknownFunction);
    const message =
      known?.supported === false
        ? `function ${JSON.stringify(unknownFunction)} is not supported yet (${known.reason ?? ''})`
        : `unknown function with name ${JSON.stringify(unknownFunction)}`;
    return { message, pos: { start, end: errorNode.to } };
  }
  const rest = text.slice(errorNode.from).trimStart();
  if (rest === '') {
    return {
      message: `unexpected end of input${contextOf(errorNode)}`,
      pos: { start: text.length, end: text.length },
    };
  }
  const token = errorNode.from < errorNode.to ? text.slice(errorNode.from, errorNode.to) : firstToken(rest);
  const unterminated = /^["'`]/.test(token) && !/^(["'`]).*\1$/s.test(token.trim());
  if (unterminated) return { message: 'unterminated quoted string', pos };
  return { message: `unexpected ${describeToken(token.trim())}${contextOf(errorNode)}`, pos };
}

function unknownFunctionName(errorNode: SyntaxNode, text: string): string | null {
  const prev = errorNode.prevSibling;
  if (prev?.name !== 'Identifier') return null;
  if (!text.slice(errorNode.from).trimStart().startsWith('(')) return null;
  return text.slice(prev.from, prev.to);
}

function contextOf(node: SyntaxNode): string {
  for (let p = node.parent; p !== null; p = p.parent) {
    const context = contexts[p.name];
    if (context !== undefined) return context;
  }
  return '';
}

function firstToken(rest: string): string {
  const match =
    /^(?:[A-Za-z_:][\w:]*|\d[\w.]*|"(?:[^"\\]|\\.)*"?|'(?:[^'\\]|\\.)*'?|`[^`]*`?|[=!<>]=|=~|!~|\S)/.exec(
      rest,
    );
  return match?.[0] ?? rest.slice(0, 1);
}

function describeToken(token: string): string {
  if (token === '') return 'end of input';
  if (/^[A-Za-z_:]/.test(token)) return `identifier ${JSON.stringify(token)}`;
  if (/^[\d.]/.test(token)) return `number ${JSON.stringify(token)}`;
  if (/^["'`]/.test(token)) return `string ${token}`;
  const names: Record<string, string> = {
    '(': 'left parenthesis "("',
    ')': 'right parenthesis ")"',
    '{': 'left brace "{"',
    '}': 'right brace "}"',
    '[': 'left bracket "["',
    ']': 'right bracket "]"',
    ',': 'comma ","',
  };
  return names[token] ?? `character ${JSON.stringify(token)}`;
}
