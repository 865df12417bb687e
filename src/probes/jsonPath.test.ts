import { describe, expect, it } from 'vitest';
import { lookupJsonPath, parseJsonPath } from './jsonPath.js';

function lookup(path: string, document: unknown) {
  const parsed = parseJsonPath(path);
  if (!parsed.ok) throw new Error(parsed.error);
  return lookupJsonPath(document, parsed.segments);
}

describe('parseJsonPath', () => {
  it('reads $, .key, [n] and quoted keys', () => {
    expect(parseJsonPath('$.a[\'b c\'][2].d["e"]')).toEqual({
      ok: true,
      segments: [{ key: 'a' }, { key: 'b c' }, { index: 2 }, { key: 'd' }, { key: 'e' }],
    });
    expect(parseJsonPath('$')).toEqual({ ok: true, segments: [] });
  });

  it.each([
    ['a.b', 'must start with $'],
    ['$.a[*]', 'is not understood at position 3 ("[*]")'],
    ['$..a', 'is not understood at position 1 ("..a")'],
    ['$.a[-1]', 'is not understood at position 3'],
    ["$['open]", 'is not understood at position 1'],
  ])('rejects %s and says how to write it', (path, message) => {
    const parsed = parseJsonPath(path);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) {
      expect(parsed.error).toContain(message);
      expect(parsed.error).toContain('write it like $.status');
    }
  });
});

describe('lookupJsonPath', () => {
  const doc = { a: { list: [10, { x: null }] }, 'b c': false };
  it('finds values, including null and false', () => {
    expect(lookup('$.a.list[0]', doc)).toEqual({ found: true, value: 10 });
    expect(lookup('$.a.list[1].x', doc)).toEqual({ found: true, value: null });
    expect(lookup("$['b c']", doc)).toEqual({ found: true, value: false });
    expect(lookup('$', doc)).toEqual({ found: true, value: doc });
  });

  it('reports missing keys, indexes out of range and type mismatches as not found', () => {
    expect(lookup('$.a.list[2]', doc)).toEqual({ found: false });
    expect(lookup('$.a.nope', doc)).toEqual({ found: false });
    expect(lookup('$.a[0]', doc)).toEqual({ found: false });
    expect(lookup('$.a.list.length', doc)).toEqual({ found: false });
    expect(lookup('$.toString', doc)).toEqual({ found: false });
  });
});
