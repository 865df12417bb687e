import { describe, expect, it } from 'vitest';
import { compileAnchoredRegex } from '../tsdb/index.js';
import { compileAnchoredRe2 } from './index.js';

const matches = (pattern: string, value: string): boolean => {
  const r = compileAnchoredRe2(pattern);
  if (!r.ok) throw new Error(r.error);
  return r.regex.test(value);
};

describe('compileAnchoredRe2', () => {
  it('anchors at both ends and lets . match newlines', () => {
    expect(matches('api', 'api')).toBe(true);
    expect(matches('api', 'api-1')).toBe(false);
    expect(matches('a|b', 'ab')).toBe(false);
    expect(matches('(?i)web-.*', 'WEB-1\n')).toBe(true);
  });

  it('words errors as Prometheus does, and as the TSDB matchers do', () => {
    for (const bad of ['(unclosed', '(?U)a', 'a{2,1}']) {
      const r = compileAnchoredRe2(bad);
      expect(r.ok, bad).toBe(false);
      expect(r.ok ? '' : r.error).toMatch(/^error parsing regexp: /);
      expect(r).toEqual(compileAnchoredRegex(bad));
    }
  });
});
