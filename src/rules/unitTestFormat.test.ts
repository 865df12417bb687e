import { describe, expect, it } from 'vitest';
import { compareLabels, goFloatE, promLabelsString, withinOneUlp } from './unitTestFormat.js';

describe('promtool formatting', () => {
  it('prints floats as Go FormatFloat(v, E, -1)', () => {
    expect([1, 0, 9218880000, 0.5, 1e-7, -2.5e300, NaN, Infinity, -Infinity].map(goFloatE)).toEqual([
      '1E+00',
      '0E+00',
      '9.21888E+09',
      '5E-01',
      '1E-07',
      '-2.5E+300',
      'NaN',
      '+Inf',
      '-Inf',
    ]);
  });

  it('prints and orders label sets as Prometheus', () => {
    expect(promLabelsString({ job: 'a"b', __name__: 'up', Zone: 'x' })).toBe(
      '{Zone="x", __name__="up", job="a\\"b"}',
    );
    expect(compareLabels({ a: '1' }, { a: '1', b: '2' })).toBeLessThan(0);
    expect(compareLabels({ a: '2' }, { a: '1', b: '2' })).toBeGreaterThan(0);
    expect(compareLabels({ a: '1' }, { a: '1' })).toBe(0);
  });

  it('accepts only neighbouring floats as fuzzy-equal', () => {
    expect(withinOneUlp(0.3, 0.30000000000000004)).toBe(true);
    expect(withinOneUlp(-0.3, -0.30000000000000004)).toBe(true);
    expect(withinOneUlp(0.3, 0.3000000000000001)).toBe(false);
    expect(withinOneUlp(NaN, NaN)).toBe(false);
    expect(withinOneUlp(0, Number.MIN_VALUE)).toBe(true);
  });
});
