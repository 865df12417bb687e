import { describe, expect, it } from 'vitest';
import { parseDurationTextMs, parseNumberText, unquoteString } from './literals.js';
import { formatFloatPlain } from './mathUtil.js';

describe('PromQL literals', () => {
  it('unquote Go escapes', () => {
    expect(unquoteString('"\\x41\\101\\u00e9\\U0001F600\\t"')).toEqual({ ok: true, value: 'AAé😀\t' });
    expect(unquoteString('"bad \\q"')).toEqual({ ok: false, error: 'invalid escape sequence \\q' });
    expect(unquoteString('"open')).toEqual({ ok: false, error: 'unterminated quoted string' });
  });

  it('parse numbers and durations', () => {
    expect(parseNumberText('- 1')).toBe(-1);
    expect(parseNumberText('0b101')).toBe(5);
    expect(parseNumberText('1h30m')).toBe(5400);
    expect(parseNumberText('1.2.3')).toBeNull();
    expect(parseDurationTextMs('1.5')).toBe(1500);
    expect(parseDurationTextMs('1d')).toBe(86_400_000);
  });
});

describe('formatFloatPlain', () => {
  it('never uses exponent notation', () => {
    expect(formatFloatPlain(1e21)).toBe('1000000000000000000000');
    expect(formatFloatPlain(1.5e-7)).toBe('0.00000015');
    expect(formatFloatPlain(-2.5)).toBe('-2.5');
    expect(formatFloatPlain(Infinity)).toBe('+Inf');
  });
});
