// Snappy block format (https://github.com/google/snappy/blob/main/format_description.txt), the compression
// remote write 1.0 uses. Hand-written so swas needs no native module; every read is bounds-checked so a
// hostile body fails with an offset instead of crashing or looping.
import { RemoteWriteDecodeError, RemoteWriteTooLargeError } from './remoteWriteErrors.js';

const TAG_LITERAL = 0;
const TAG_COPY_1 = 1;
const TAG_COPY_2 = 2;
const MAX_UINT32 = 0xffffffff;

function fail(offset: number, detail: string): never {
  throw new RemoteWriteDecodeError('snappy', offset, detail);
}

/** Reads the uncompressed length that starts every snappy block; returns it and the header's size. */
export function snappyDecodedLength(input: Uint8Array): { length: number; headerBytes: number } {
  let value = 0;
  for (let i = 0; i < 5; i++) {
    if (i >= input.length) fail(i, 'the input ends inside the uncompressed-length header');
    const b = input[i] as number;
    value += (b & 0x7f) * 2 ** (7 * i);
    if (b < 0x80) {
      if (value > MAX_UINT32) fail(0, `the uncompressed length ${value} is over 2^32-1`);
      return { length: value, headerBytes: i + 1 };
    }
  }
  return fail(0, 'the uncompressed-length header is longer than 5 bytes');
}

/** Little-endian unsigned integer of `count` bytes at `at` (the caller has checked the bounds). */
function readLE(src: Uint8Array, at: number, count: number): number {
  let value = 0;
  for (let i = count - 1; i >= 0; i--) value = value * 256 + (src[at + i] as number);
  return value;
}

/**
 * Decompresses a snappy block. The declared length is checked against `maxLength` before anything is
 * allocated (RemoteWriteTooLargeError); malformed input throws RemoteWriteDecodeError with the byte offset.
 */
export function snappyDecode(input: Uint8Array, maxLength = Number.POSITIVE_INFINITY): Uint8Array {
  const { length, headerBytes } = snappyDecodedLength(input);
  if (length > maxLength) throw new RemoteWriteTooLargeError(length, maxLength);
  const dst = new Uint8Array(length);
  const n = input.length;
  let s = headerBytes;
  let d = 0;
  while (s < n) {
    const at = s;
    const tag = input[s] as number;
    let len: number;
    let offset: number;
    const kind = tag & 3;
    if (kind === TAG_LITERAL) {
      len = tag >>> 2;
      if (len < 60) {
        s += 1;
      } else {
        const extra = len - 59;
        if (s + 1 + extra > n) fail(at, `the input ends inside a literal's ${extra}-byte length`);
        len = readLE(input, s + 1, extra);
        s += 1 + extra;
      }
      len += 1;
      if (len > n - s) fail(at, `a literal of ${len} bytes runs past the end of the input (${n - s} left)`);
      if (len > length - d) fail(at, `a literal of ${len} bytes overflows the declared length ${length}`);
      dst.set(input.subarray(s, s + len), d);
      s += len;
      d += len;
      continue;
    }
    if (kind === TAG_COPY_1) {
      if (s + 2 > n) fail(at, 'the input ends inside a 1-byte-offset copy');
      len = 4 + ((tag >>> 2) & 7);
      offset = ((tag & 0xe0) << 3) | (input[s + 1] as number);
      s += 2;
    } else if (kind === TAG_COPY_2) {
      if (s + 3 > n) fail(at, 'the input ends inside a 2-byte-offset copy');
      len = 1 + (tag >>> 2);
      offset = readLE(input, s + 1, 2);
      s += 3;
    } else {
      if (s + 5 > n) fail(at, 'the input ends inside a 4-byte-offset copy');
      len = 1 + (tag >>> 2);
      offset = readLE(input, s + 1, 4);
      s += 5;
    }
    if (offset === 0 || offset > d) {
      fail(at, `a copy refers ${offset} bytes back but only ${d} bytes are decoded so far`);
    }
    if (len > length - d) fail(at, `a copy of ${len} bytes overflows the declared length ${length}`);
    copyBack(dst, d, offset, len);
    d += len;
  }
  if (d !== length) fail(n, `the input ends after ${d} of the declared ${length} bytes`);
  return dst;
}

function copyBack(dst: Uint8Array, d: number, offset: number, len: number): void {
  const from = d - offset;
  if (offset >= len && len > 16) {
    dst.copyWithin(d, from, from + len);
    return;
  }
  // Overlapping copies repeat the last `offset` bytes, so they must go byte by byte.
  for (let i = 0; i < len; i++) dst[d + i] = dst[from + i] as number;
}

/** The largest output {@link snappyEncode} can produce for `n` input bytes. */
export function snappyMaxEncodedLength(n: number): number {
  return 32 + n + Math.floor(n / 6);
}

const HASH_BITS = 14;
const MIN_MATCH = 4;
// No match may start in the last bytes: the matcher reads 4 bytes ahead.
const INPUT_MARGIN = 15;
const MAX_OFFSET = 65535;

function load32(src: Uint8Array, i: number): number {
  return (
    ((src[i] as number) |
      ((src[i + 1] as number) << 8) |
      ((src[i + 2] as number) << 16) |
      ((src[i + 3] as number) << 24)) >>>
    0
  );
}

function hash(x: number): number {
  return Math.imul(x, 0x1e35a7bd) >>> (32 - HASH_BITS);
}

/**
 * Compresses bytes into a snappy block: a greedy 4-byte hash matcher emitting literals and 1- or 2-byte-offset
 * copies, which every snappy decoder accepts.
 */
export function snappyEncode(input: Uint8Array): Uint8Array<ArrayBuffer> {
  const n = input.length;
  if (n > MAX_UINT32) throw new RangeError(`snappy cannot encode ${n} bytes (at most 2^32-1)`);
  const out = new Uint8Array(snappyMaxEncodedLength(n));
  let d = writeUvarint(out, 0, n);
  if (n === 0) return out.subarray(0, d);
  if (n < MIN_MATCH + INPUT_MARGIN) return out.subarray(0, emitLiteral(out, d, input, 0, n));
  // Positions + 1, so 0 means "no candidate yet".
  const table = new Int32Array(1 << HASH_BITS);
  const limit = n - INPUT_MARGIN;
  let nextEmit = 0;
  let s = 0;
  let misses = 0;
  while (s <= limit) {
    const word = load32(input, s);
    const h = hash(word);
    const candidate = (table[h] as number) - 1;
    table[h] = s + 1;
    if (candidate < 0 || s - candidate > MAX_OFFSET || load32(input, candidate) !== word) {
      // Skip faster through incompressible data, as the reference encoder does.
      s += 1 + (misses++ >>> 5);
      continue;
    }
    misses = 0;
    let end = s + MIN_MATCH;
    let from = candidate + MIN_MATCH;
    while (end < n && input[end] === input[from]) {
      end++;
      from++;
    }
    if (nextEmit < s) d = emitLiteral(out, d, input, nextEmit, s);
    d = emitCopy(out, d, s - candidate, end - s);
    s = end;
    nextEmit = end;
  }
  if (nextEmit < n) d = emitLiteral(out, d, input, nextEmit, n);
  return out.subarray(0, d);
}

function writeUvarint(out: Uint8Array, d: number, value: number): number {
  let v = value;
  while (v >= 0x80) {
    out[d++] = (v % 0x80) | 0x80;
    v = Math.floor(v / 0x80);
  }
  out[d++] = v;
  return d;
}

function emitLiteral(out: Uint8Array, d: number, src: Uint8Array, start: number, end: number): number {
  const len = end - start;
  const n = len - 1;
  if (n < 60) {
    out[d++] = n << 2;
  } else {
    const extra = n < 0x100 ? 1 : n < 0x10000 ? 2 : n < 0x1000000 ? 3 : 4;
    out[d++] = (59 + extra) << 2;
    let v = n;
    for (let i = 0; i < extra; i++) {
      out[d++] = v & 0xff;
      v = Math.floor(v / 256);
    }
  }
  out.set(src.subarray(start, end), d);
  return d + len;
}

function emitCopy2(out: Uint8Array, d: number, offset: number, len: number): number {
  out[d] = ((len - 1) << 2) | TAG_COPY_2;
  out[d + 1] = offset & 0xff;
  out[d + 2] = offset >>> 8;
  return d + 3;
}

function emitCopy(out: Uint8Array, d: number, offset: number, length: number): number {
  let len = length;
  let p = d;
  while (len >= 68) {
    p = emitCopy2(out, p, offset, 64);
    len -= 64;
  }
  if (len > 64) {
    p = emitCopy2(out, p, offset, 60);
    len -= 60;
  }
  if (len >= 12 || offset >= 2048) return emitCopy2(out, p, offset, len);
  out[p] = ((offset >>> 8) << 5) | ((len - 4) << 2) | TAG_COPY_1;
  out[p + 1] = offset & 0xff;
  return p + 2;
}
