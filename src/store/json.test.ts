import { describe, expect, it } from 'vitest';
import { canonicalJson, fromJson, toJson } from './json.js';

describe('canonicalJson', () => {
  it('sorts keys at every depth so equal values give equal text', () => {
    const a = { b: 1, a: { d: [3, { z: 1, y: 2 }], c: 'x' } };
    const b = { a: { c: 'x', d: [3, { y: 2, z: 1 }] }, b: 1 };
    expect(canonicalJson(a)).toBe('{"a":{"c":"x","d":[3,{"y":2,"z":1}]},"b":1}');
    expect(canonicalJson(b)).toBe(canonicalJson(a));
  });

  it('maps values the way JSON.stringify does, and is stable when parsed and re-encoded', () => {
    const value = {
      u: undefined,
      n: null,
      nan: Number.NaN,
      inf: Infinity,
      arr: [undefined, 1.5e-7],
      d: new Date(0),
    };
    const text = canonicalJson(value);
    expect(text).toBe('{"arr":[null,1.5e-7],"d":"1970-01-01T00:00:00.000Z","inf":null,"n":null,"nan":null}');
    expect(canonicalJson(JSON.parse(text))).toBe(text);
    expect(canonicalJson(undefined)).toBe('null');
    expect(canonicalJson(10n)).toBe('"10"');
    expect(canonicalJson('é"\n')).toBe(JSON.stringify('é"\n'));
  });
});

describe('toJson / fromJson', () => {
  it('round-trips and stores undefined as null', () => {
    expect(fromJson(toJson({ a: [1, 'b'] }))).toEqual({ a: [1, 'b'] });
    expect(toJson(undefined)).toBe('null');
  });
});
