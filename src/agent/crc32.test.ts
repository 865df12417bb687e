import { randomBytes } from 'node:crypto';
import * as zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { crc32, crc32Table } from './crc32.js';

describe('crc32', () => {
  it('matches the standard CRC-32 check value', () => {
    const check = Buffer.from('123456789');
    expect(crc32Table(check)).toBe(0xcbf43926);
    expect(crc32(check)).toBe(0xcbf43926);
    expect(crc32Table(Buffer.alloc(0))).toBe(0);
  });

  it('continues from a previous value like one pass over the whole input', () => {
    const data = randomBytes(10_000);
    const whole = crc32Table(data);
    expect(crc32Table(data.subarray(4321), crc32Table(data.subarray(0, 4321)))).toBe(whole);
    expect(crc32(data.subarray(4321), crc32(data.subarray(0, 4321)))).toBe(whole);
  });

  it('agrees with zlib on random inputs when this Node has zlib.crc32', () => {
    const native = (zlib as { crc32?: (data: Uint8Array) => number }).crc32;
    if (typeof native !== 'function') return expect(crc32).toBe(crc32Table);
    for (let n = 0; n < 50; n++) {
      const data = randomBytes(n * 37);
      expect(crc32Table(data)).toBe(native(data));
    }
  });
});
