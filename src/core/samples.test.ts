import { describe, expect, it } from 'vitest';
import { isStaleNaN, STALE_NAN } from './samples.js';

describe('isStaleNaN', () => {
  it('recognises the marker, also after V8 quieted it in a plain array', () => {
    const values: number[] = [1.5, STALE_NAN];
    values.push(STALE_NAN);
    expect(isStaleNaN(STALE_NAN)).toBe(true);
    expect(values.slice(1).every(isStaleNaN)).toBe(true);
    expect(isStaleNaN(Number.NaN)).toBe(false);
    expect(isStaleNaN(0)).toBe(false);
    expect(isStaleNaN(Number.POSITIVE_INFINITY)).toBe(false);
  });
});
