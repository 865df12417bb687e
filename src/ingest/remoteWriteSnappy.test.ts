import { describe, expect, it } from 'vitest';
import { RemoteWriteDecodeError, RemoteWriteTooLargeError } from './remoteWriteErrors.js';
import {
  snappyDecode,
  snappyDecodedLength,
  snappyEncode,
  snappyMaxEncodedLength,
} from './remoteWriteSnappy.js';

// A small deterministic generator so fuzz failures reproduce.
function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x100000000;
  };
}

function randomBytes(next: () => number, n: number, alphabet = 256): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(next() * alphabet);
  return out;
}

const text = (s: string) => new TextEncoder().encode(s);

function decodeError(input: Uint8Array, max?: number): RemoteWriteDecodeError {
  try {
    snappyDecode(input, max);
  } catch (error) {
    if (error instanceof RemoteWriteDecodeError) return error;
    throw error;
  }
  throw new Error('expected a RemoteWriteDecodeError, but the input decoded');
}

describe('snappyDecode', () => {
  it('decodes literals and overlapping 1-byte-offset copies', () => {
    const input = Uint8Array.from([9, 0x08, 97, 98, 99, 0x09, 0x03]);
    expect(new TextDecoder().decode(snappyDecode(input))).toBe('abcabcabc');
  });

  it('decodes 2- and 4-byte-offset copies', () => {
    const copy2 = Uint8Array.from([6, 0x04, 120, 121, ((4 - 1) << 2) | 2, 2, 0]);
    expect(new TextDecoder().decode(snappyDecode(copy2))).toBe('xyxyxy');
    const copy4 = Uint8Array.from([5, 0x00, 97, ((4 - 1) << 2) | 3, 1, 0, 0, 0]);
    expect(new TextDecoder().decode(snappyDecode(copy4))).toBe('aaaaa');
  });

  it('decodes a literal with a 2-byte length', () => {
    const payload = randomBytes(prng(7), 300);
    const input = Uint8Array.from([0xac, 0x02, 61 << 2, (300 - 1) & 0xff, (300 - 1) >> 8, ...payload]);
    expect(snappyDecode(input)).toEqual(payload);
  });

  it('decodes the empty block', () => {
    expect(snappyDecode(Uint8Array.from([0]))).toEqual(new Uint8Array(0));
  });

  it.each([
    ['empty input', [], 0, 'ends inside the uncompressed-length header'],
    ['an unterminated header', [0x80, 0x80], 2, 'ends inside the uncompressed-length header'],
    ['a 6-byte header', [0x80, 0x80, 0x80, 0x80, 0x80, 0x01], 0, 'longer than 5 bytes'],
    ['a length over 2^32-1', [0xff, 0xff, 0xff, 0xff, 0x7f], 0, 'over 2^32-1'],
    ['a copy with offset 0', [4, 0x00, 97, 0x01, 0x00], 3, 'refers 0 bytes back'],
    ['a copy before the start', [5, 0x00, 97, 0x01, 0x02], 3, 'refers 2 bytes back but only 1'],
    ['a literal past the input', [5, 0x10, 97], 1, 'runs past the end of the input'],
    ['a literal over the declared length', [1, 0x04, 97, 98], 1, 'overflows the declared length 1'],
    ['a copy over the declared length', [4, 0x00, 97, 0x01, 0x01], 3, 'overflows the declared length 4'],
    ['a truncated copy', [5, 0x00, 97, 0x02, 0x01], 3, 'ends inside a 2-byte-offset copy'],
    ['a truncated literal length', [70, 0xf0], 1, "ends inside a literal's 1-byte length"],
    ['output shorter than declared', [3, 0x00, 97], 3, 'after 1 of the declared 3 bytes'],
  ])('rejects %s with the byte offset', (_name, bytes, offset, detail) => {
    const error = decodeError(Uint8Array.from(bytes));
    expect(error.offset).toBe(offset);
    expect(error.code).toBe('SWAS-RW-001');
    expect(error.message).toContain(detail);
    expect(error.message).toContain(`at byte ${offset}`);
  });

  it('refuses a declared length over the limit before allocating', () => {
    // Declares 2^32-1 bytes: allocating that would fail; the limit answers first.
    const input = Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0x0f]);
    expect(() => snappyDecode(input, 1024)).toThrow(RemoteWriteTooLargeError);
    expect(() => snappyDecode(input, 1024)).toThrow(
      /decompresses to 4294967295 bytes, over the limit of 1024/,
    );
  });
});

describe('snappyEncode', () => {
  const cases: [string, Uint8Array][] = [
    ['empty', new Uint8Array(0)],
    ['one byte', Uint8Array.from([42])],
    ['short text', text('hello, hello, hello, snappy!')],
    ['a long run', new Uint8Array(200_000).fill(7)],
    ['repeated text over 64 KiB', text('up{job="node",instance="web-1:9100"} 1\n'.repeat(3000))],
    ['incompressible bytes', randomBytes(prng(1), 100_000)],
    ['a small alphabet', randomBytes(prng(2), 70_000, 4)],
    ['a literal of exactly 61 bytes', randomBytes(prng(3), 61)],
  ];

  it.each(cases)('round-trips %s', (_name, input) => {
    const compressed = snappyEncode(input);
    expect(compressed.length).toBeLessThanOrEqual(snappyMaxEncodedLength(input.length));
    expect(snappyDecodedLength(compressed).length).toBe(input.length);
    expect(snappyDecode(compressed)).toEqual(input);
  });

  it('compresses repetitive data', () => {
    const input = text('node_cpu_seconds_total{cpu="0",mode="idle"} '.repeat(1000));
    expect(snappyEncode(input).length).toBeLessThan(input.length / 10);
  });

  it('uses 2-byte-offset copies for far matches', () => {
    const block = randomBytes(prng(4), 3000);
    const input = new Uint8Array(6000);
    input.set(block, 0);
    input.set(block, 3000);
    const compressed = snappyEncode(input);
    expect(compressed.length).toBeLessThan(3200);
    expect(snappyDecode(compressed)).toEqual(input);
  });
});

describe('snappy fuzzing', () => {
  it('random bytes decode or fail with a RemoteWriteDecodeError, never anything else', () => {
    const next = prng(11);
    let errors = 0;
    for (let i = 0; i < 3000; i++) {
      const input = randomBytes(next, Math.floor(next() * 64));
      try {
        const out = snappyDecode(input, 1 << 20);
        expect(out.length).toBe(snappyDecodedLength(input).length);
      } catch (error) {
        if (!(error instanceof RemoteWriteDecodeError) && !(error instanceof RemoteWriteTooLargeError))
          throw error;
        errors++;
      }
    }
    expect(errors).toBeGreaterThan(0);
  });

  it('every truncation of a valid block fails cleanly', () => {
    const compressed = snappyEncode(text('abcdefgh'.repeat(50) + 'the end'));
    for (let cut = 0; cut < compressed.length; cut++) {
      expect(decodeError(compressed.subarray(0, cut))).toBeInstanceOf(RemoteWriteDecodeError);
    }
  });

  it('bit flips in a valid block decode to the declared length or fail cleanly', () => {
    const next = prng(12);
    const compressed = snappyEncode(text('rate(http_requests_total[5m]) '.repeat(40)));
    for (let i = 0; i < 2000; i++) {
      const mutated = compressed.slice();
      const at = Math.floor(next() * mutated.length);
      mutated[at] = (mutated[at] as number) ^ (1 << Math.floor(next() * 8));
      try {
        expect(snappyDecode(mutated, 1 << 20).length).toBe(snappyDecodedLength(mutated).length);
      } catch (error) {
        if (!(error instanceof RemoteWriteDecodeError) && !(error instanceof RemoteWriteTooLargeError))
          throw error;
      }
    }
  });
});
