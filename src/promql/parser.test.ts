import { describe, expect, it } from 'vitest';
import type { BinaryExpr, Expr, VectorSelector } from './ast.js';
import { parseExpr } from './parser.js';

function parse(text: string): Expr {
  const r = parseExpr(text);
  if (!r.ok) throw new Error(`${text}: ${r.error.message}`);
  return r.expr;
}

function parseError(text: string): { message: string; line: number; column: number } {
  const r = parseExpr(text);
  if (r.ok) throw new Error(`expected ${text} to fail`);
  return { message: r.error.message, line: r.error.position.line, column: r.error.position.column };
}

describe('parseExpr builds the AST', () => {
  it('converts a selector with all matcher types, offset and @', () => {
    const e = parse(
      'http_requests_total{job="api", code!="200", path=~"/v1/.*", method!~"GET|HEAD"} offset 5m @ 1700000000',
    );
    expect(e).toMatchObject({
      kind: 'VectorSelector',
      name: 'http_requests_total',
      offsetMs: 300_000,
      at: { kind: 'time', ms: 1_700_000_000_000 },
      matchers: [
        { name: 'job', type: '=', value: 'api' },
        { name: 'code', type: '!=', value: '200' },
        { name: 'path', type: '=~', value: '/v1/.*' },
        { name: 'method', type: '!~', value: 'GET|HEAD' },
        { name: '__name__', type: '=', value: 'http_requests_total' },
      ],
    });
  });

  it('converts matrix selectors, subqueries, aggregations and calls', () => {
    expect(parse('rate(x[1h30m])')).toMatchObject({
      kind: 'Call',
      func: 'rate',
      args: [{ kind: 'MatrixSelector', rangeMs: 5_400_000 }],
    });
    expect(parse('max_over_time(rate(x[5m])[1h:1m] offset 1m)')).toMatchObject({
      args: [{ kind: 'SubqueryExpr', rangeMs: 3_600_000, stepMs: 60_000, offsetMs: 60_000 }],
    });
    expect(parse('x[5m:]')).toMatchObject({ kind: 'SubqueryExpr', rangeMs: 300_000 });
    expect(parse('sum without (instance) (x)')).toMatchObject({
      kind: 'AggregateExpr',
      op: 'sum',
      without: true,
      grouping: ['instance'],
    });
    expect(parse('sum(x) by (job, "quoted.label")')).toMatchObject({ grouping: ['job', 'quoted.label'] });
    expect(parse('topk(3, x)')).toMatchObject({ op: 'topk', param: { kind: 'NumberLiteral', value: 3 } });
    expect(parse('x @ start()')).toMatchObject({ at: { kind: 'start' } });
    expect(parse('x[5m] @ end()')).toMatchObject({ selector: { at: { kind: 'end' } } });
  });

  it('parses number and string literals as Prometheus does', () => {
    const value = (t: string) => (parse(t) as { value: number }).value;
    expect(value('0x1f')).toBe(31);
    expect(value('010')).toBe(8);
    expect(value('1e3')).toBe(1000);
    expect(value('.5')).toBe(0.5);
    expect(value('2.')).toBe(2);
    expect(value('-Inf')).toBe(-Infinity);
    expect(value('nan')).toBeNaN();
    expect(value('5m')).toBe(300);
    expect(parse('"a\\n\\"b\\u00e9"')).toMatchObject({ value: 'a\n"bé' });
    expect(parse("'it\\'s'")).toMatchObject({ value: "it's" });
    expect(parse('`raw\\n`')).toMatchObject({ value: 'raw\\n' });
  });

  it('binds offset, @ and ranges tighter than operators', () => {
    const e = parse('a + b offset 1m') as BinaryExpr;
    expect(e.lhs).toMatchObject({ name: 'a', offsetMs: 0 });
    expect(e.rhs).toMatchObject({ name: 'b', offsetMs: 60_000 });
    expect(parse('-a offset 1m')).toMatchObject({ kind: 'UnaryExpr', expr: { name: 'a', offsetMs: 60_000 } });
    expect(parseError('a * b[5m]').message).toBe(
      'binary expression must contain only scalar and instant vector types',
    );
  });

  it('gives unary minus a lower precedence than ^', () => {
    expect(parse('-2^2')).toMatchObject({
      kind: 'UnaryExpr',
      op: '-',
      expr: { kind: 'BinaryExpr', op: '^' },
    });
    expect(parse('2^3^2')).toMatchObject({ op: '^', lhs: { value: 2 }, rhs: { op: '^' } });
  });

  it('reads on/ignoring/group_left/group_right and bool', () => {
    const e = parse('a > bool on(job) group_left(team) b') as BinaryExpr;
    expect(e).toMatchObject({
      op: '>',
      returnBool: true,
      matching: { card: 'many-to-one', on: true, labels: ['job'], include: ['team'] },
    });
    expect(parse('a / ignoring(code) group_right b')).toMatchObject({
      matching: { card: 'one-to-many', on: false, labels: ['code'] },
    });
    expect(parse('a and b')).toMatchObject({ matching: { card: 'many-to-many' } });
    expect((parse('a + 1') as BinaryExpr).matching).toBeUndefined();
  });

  it('accepts the metric name as a quoted label inside braces', () => {
    const e = parse('{"my.metric", job="x"}') as VectorSelector;
    expect(e.matchers).toContainEqual({ name: '__name__', type: '=', value: 'my.metric' });
  });
});

describe('parseExpr reports errors with position', () => {
  it('points at the end of truncated input', () => {
    expect(parseError('sum(rate(x[5m])')).toMatchObject({ line: 1, column: 16 });
    expect(parseError('1 +')).toMatchObject({
      message: 'unexpected end of input in binary expression',
      line: 1,
      column: 4,
    });
  });

  it('counts lines and columns in multi-line queries', () => {
    expect(parseError('sum(\n  rate(x[5m])\n) by (job) +')).toMatchObject({ line: 3, column: 13 });
    expect(parseError('foo{a=b}')).toEqual({
      message: 'unexpected identifier "b" in label matching, expected string',
      line: 1,
      column: 7,
    });
  });

  it('names unknown functions and unsupported ones', () => {
    expect(parseError('rte(x[5m])').message).toBe('unknown function with name "rte"');
    expect(parseError('histogram_count(x)').message).toMatch(
      /function "histogram_count" is not supported yet/,
    );
    expect(parseError('info(x)').message).toMatch(/not supported yet \(it is experimental/);
    expect(parseError('rate(x[5m] anchored)').message).toMatch(/anchored modifier is not supported yet/);
    expect(parseError('min_of(1)').message).toBe('expected 2 argument(s) in call to "min_of", got 1');
    expect(parseError('x[5m+1m]').message).toMatch(/duration expressions are not supported yet/);
  });

  it('checks types like Prometheus', () => {
    expect(parseError('rate(x)')).toMatchObject({
      message: 'expected type range vector in call to function "rate", got instant vector',
      column: 6,
    });
    expect(parseError('1 > 2').message).toBe('comparisons between scalars must use BOOL modifier');
    expect(parseError('a + bool b').message).toBe('bool modifier can only be used on comparison operators');
    expect(parseError('x[5m] + 1').message).toBe(
      'binary expression must contain only scalar and instant vector types',
    );
    expect(parseError('sum(x[5m])').message).toBe(
      'expected type instant vector in aggregation expression, got range vector',
    );
    expect(parseError('topk("3", x)').message).toBe(
      'expected type scalar in aggregation parameter, got string',
    );
    expect(parseError('count_values(3, x)').message).toBe(
      'expected type string in aggregation parameter, got scalar',
    );
    expect(parseError('a and 1').message).toBe('set operator "and" not allowed in binary scalar expression');
    expect(parseError('a and on(x) group_left b').message).toBe('no grouping allowed for "and" operation');
    expect(parseError('-x[5m]').message).toMatch(
      /unary expression only allowed on expressions of type scalar or instant vector/,
    );
    expect(parseError('x[5m][5m:]').message).toBe(
      'subquery is only allowed on instant vector, got matrix instead',
    );
    expect(parseError('round(x, 1, 2)').message).toBe(
      'expected at most 2 argument(s) in call to "round", got 3',
    );
    expect(parseError('label_join(x)').message).toBe(
      'expected at least 3 argument(s) in call to "label_join", got 1',
    );
    expect(parseError('time(1)').message).toBe('expected 0 argument(s) in call to "time", got 1');
  });

  it('checks selectors and modifiers', () => {
    expect(parseError('{}').message).toBe('vector selector must contain at least one non-empty matcher');
    expect(parseError('{job=~".*"}').message).toBe(
      'vector selector must contain at least one non-empty matcher',
    );
    expect(parseError('x{__name__="y"}').message).toBe('metric name must not be set twice: "x" or "y"');
    expect(parseError('x{a=~"(b"}').message).toMatch(/^error parsing regexp/);
    expect(parseError('x offset 1m offset 2m').message).toBe('offset may not be set multiple times');
    expect(parseError('x @ 1 @ 2').message).toBe('@ <timestamp> may not be set multiple times');
    expect(parseError('sum(x) offset 1m').message).toMatch(/^offset modifier must be preceded by/);
    expect(parseError('x offset 1m [5m]').message).toBe('no offset modifiers allowed before range');
    expect(parseError('rate(x[0s])').message).toBe('duration must be greater than 0');
    expect(parseError('label_replace(x, "a", "$1", "b", "(")').message).toBe(
      'invalid regular expression in label_replace(): (',
    );
    expect(parseError('count_values("", x)').message).toBe('invalid label name ""');
    expect(parseError('').message).toBe('no expression found in input');
    expect(parseError('1 + on(a) 2').message).toBe('vector matching only allowed between instant vectors');
    expect(parseError('"unterminated').message).toBe('unterminated quoted string');
  });
});
