import type { MatchType } from '../tsdb/index.js';
import type { AggregateOp, BinaryOp } from './ast.js';

/** Lezer node names that are expressions. */
export const exprNodes = new Set([
  'AggregateExpr',
  'BinaryExpr',
  'FunctionCall',
  'MatrixSelector',
  'NumberDurationLiteral',
  'OffsetExpr',
  'AnchoredExpr',
  'SmoothedExpr',
  'ParenExpr',
  'StringLiteral',
  'SubqueryExpr',
  'UnaryExpr',
  'VectorSelector',
  'StepInvariantExpr',
]);

/** Lezer operator node names → PromQL binary operators. */
export const binaryOps: Record<string, BinaryOp> = {
  Pow: '^',
  Mul: '*',
  Div: '/',
  Mod: '%',
  Atan2: 'atan2',
  Add: '+',
  Sub: '-',
  Eql: '==',
  Neq: '!=',
  Gtr: '>',
  Lss: '<',
  Gte: '>=',
  Lte: '<=',
  And: 'and',
  Or: 'or',
  Unless: 'unless',
};

/** Lezer aggregation node names → PromQL aggregation operators. */
export const aggregateOps: Record<string, AggregateOp> = {
  Sum: 'sum',
  Avg: 'avg',
  Min: 'min',
  Max: 'max',
  Count: 'count',
  Stddev: 'stddev',
  Stdvar: 'stdvar',
  Group: 'group',
  Topk: 'topk',
  Bottomk: 'bottomk',
  Quantile: 'quantile',
  CountValues: 'count_values',
  LimitK: 'limitk',
  LimitRatio: 'limit_ratio',
};

/** Lezer match-operator node names → matcher types. */
export const matchOps: Record<string, MatchType> = {
  EqlSingle: '=',
  Neq: '!=',
  EqlRegex: '=~',
  NeqRegex: '!~',
};

/**
 * PromQL accepts numbers with a trailing dot (`1.`, `5./6.`), the lezer grammar does not. The dot is replaced
 * by a space, which keeps every offset (and so every error position) unchanged.
 */
export function blankTrailingDots(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i] ?? '';
    if (c === '"' || c === "'" || c === '`') {
      let j = i + 1;
      while (j < text.length && text[j] !== c && text[j] !== '\n') j += text[j] === '\\' && c !== '`' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    if (c === '#') {
      const end = text.indexOf('\n', i);
      const stop = end < 0 ? text.length : end;
      out += text.slice(i, stop);
      i = stop;
      continue;
    }
    const startsNumber = /[0-9]/.test(c) && !/[\w:.]/.test(text[i - 1] ?? ' ');
    if (!startsNumber) {
      out += c;
      i++;
      continue;
    }
    let j = i;
    while (/[0-9]/.test(text[j] ?? '')) j++;
    out += text.slice(i, j);
    i = j;
    if (text[i] === '.' && !/[\w]/.test(text[i + 1] ?? ' ')) {
      out += ' ';
      i++;
    }
  }
  return out;
}

/** Functions newer than the lezer grammar, each with a known name of the same length for lezer to read. */
const newerFunctions: Readonly<Record<string, string>> = { min_of: 'minute', max_of: 'minute' };

const newerFunctionPattern =
  /("(?:[^"\\\n]|\\.)*"?|'(?:[^'\\\n]|\\.)*'?|`[^`]*`?|#[^\n]*)|(?<![\w:])(min_of|max_of)(?=\s*\()/g;

/**
 * Lets lezer parse calls to functions its grammar does not list yet (Prometheus's min_of and max_of): in
 * PromQL an identifier followed by "(" is always a function call, so outside strings and comments the name
 * is swapped for a known one of the same length. Offsets stay the same, and the AST converter reads the real
 * name from the original text.
 */
export function maskNewerFunctionNames(text: string): string {
  return text.replace(newerFunctionPattern, (match, skipped: string | undefined, name: string | undefined) =>
    skipped === undefined && name !== undefined ? (newerFunctions[name] ?? match) : match,
  );
}
