import { describe, expect, it } from 'vitest';
import { compareLabelSets, compileAnchoredRegex, compileMatcher } from './labelMatchers.js';
import { translateRe2 } from '../core/index.js';

const matches = (pattern: string, value: string): boolean => {
  const r = compileAnchoredRegex(pattern);
  if (!r.ok) throw new Error(r.error);
  return r.regex.test(value);
};

describe('RE2 regular expressions', () => {
  it('are anchored at both ends and let . match newlines', () => {
    expect(matches('api', 'api')).toBe(true);
    expect(matches('api', 'api-1')).toBe(false);
    expect(matches('a|b', 'a')).toBe(true);
    expect(matches('a|b', 'ab')).toBe(false);
    expect(matches('.*', 'line1\nline2')).toBe(true);
  });

  it('support case-insensitive groups and leading flags', () => {
    expect(matches('(?i)prod', 'PROD')).toBe(true);
    expect(matches('(?i:PRO).*', 'production')).toBe(true);
    expect(matches('(?i:PRO)duction', 'proDUCTION')).toBe(false);
    expect(matches('((?i)pr)od', 'PRod')).toBe(true);
    expect(matches('((?i)pr)od', 'PROD')).toBe(false);
    expect(matches('(?i)[a-c]x', 'BX')).toBe(true);
  });

  it('support named groups, POSIX classes and \\A \\z', () => {
    expect(translateRe2('(?P<host>[^:]+)')).toEqual({ ok: true, source: '(?<host>[^:]+)' });
    expect(matches('[[:digit:]]+', '123')).toBe(true);
    expect(matches('\\Aab\\z', 'ab')).toBe(true);
  });

  it('report invalid patterns instead of throwing', () => {
    const r = compileAnchoredRegex('(unclosed');
    expect(r.ok).toBe(false);
    expect(r.ok ? '' : r.error).toMatch(/error parsing regexp/);
    expect(compileAnchoredRegex('(?U)a').ok).toBe(false);
  });
});

describe('compileMatcher', () => {
  it('treats a missing label as the empty value', () => {
    expect(compileMatcher({ name: 'x', type: '=', value: '' }).matches('')).toBe(true);
    expect(compileMatcher({ name: 'x', type: '!~', value: 'a' }).matches('')).toBe(true);
  });
});

describe('compareLabelSets', () => {
  it('orders by sorted label names, then values, shorter first', () => {
    expect(compareLabelSets({ a: '1' }, { a: '2' })).toBeLessThan(0);
    expect(compareLabelSets({ a: '1', b: '1' }, { a: '1' })).toBeGreaterThan(0);
    expect(compareLabelSets({ b: '1' }, { a: '1', c: '1' })).toBeGreaterThan(0);
    expect(compareLabelSets({ x: 'y' }, { x: 'y' })).toBe(0);
  });
});
