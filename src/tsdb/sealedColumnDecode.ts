/** Reading sealed chunks' columns (the format: sealedColumnFormat.ts). */
import {
  twoTo32,
  riceEscape,
  allZero,
  powersOfTwo,
  powersOfTen,
  valuesDecimal,
  valuesXor,
  valuesBitDeltas,
  HI,
  LO,
} from './sealedColumnFormat.js';

// Decoding. Reads past the end land in zero padding; bounds are checked after each value.
const paddingBytes = 64;
let padded = new Uint8Array(4096);
let paddedView = new DataView(padded.buffer);

function paddedCopy(bytes: Uint8Array): DataView {
  if (padded.length < bytes.length + paddingBytes) {
    padded = new Uint8Array(2 * (bytes.length + paddingBytes));
    paddedView = new DataView(padded.buffer);
  }
  padded.set(bytes);
  padded.fill(0, bytes.length, bytes.length + paddingBytes);
  return paddedView;
}

function peek32(b: DataView, pos: number): number {
  const i = pos >>> 3;
  const shift = pos & 7;
  const word = b.getInt32(i);
  return shift === 0 ? word : (word << shift) | (b.getUint8(i + 4) >>> (8 - shift));
}

/** Reads n (0..53) bits at pos as a non-negative integer. */
function readLong(b: DataView, pos: number, n: number): number {
  if (n === 0) return 0;
  if (n <= 32) return peek32(b, pos) >>> (32 - n);
  return (peek32(b, pos) >>> (64 - n)) * twoTo32 + (peek32(b, pos + n - 32) >>> 0);
}

/** Inverse of zigzag for z < 2^53 (no `%`: a floating-point remainder is slow). */
function unzigzag(z: number): number {
  const half = Math.floor(z / 2);
  return z === 2 * half ? half : -half - 1;
}

function ended(): RangeError {
  return new RangeError('chunk data ended before its last sample');
}

/**
 * Decodes integers of a column of n, up to `limit` of them and stopping after the first one above
 * `stopAbove`; returns how many it decoded. Integer i (from `first` on) is written divided by `divisor` to
 * out[outAt + i - first].
 */
function readIntColumn(
  b: DataView,
  start: number,
  bitEnd: number,
  n: number,
  limit: number,
  stopAbove: number,
  out: Float64Array,
  outAt = 0,
  first = 0,
  divisor = 1,
): number {
  const shift = outAt - first;
  let pos = start;
  let len = peek32(b, pos) >>> 26;
  let x = unzigzag(readLong(b, pos + 6, len));
  pos += 6 + len;
  if (first === 0) out[shift] = divisor === 1 ? x : x / divisor;
  if (n === 1 || limit <= 1 || x > stopAbove) {
    if (pos > bitEnd) throw ended();
    return 1;
  }
  len = peek32(b, pos) >>> 26;
  const g = readLong(b, pos + 6, len);
  pos += 6 + len;
  const dod = peek32(b, pos) < 0;
  pos += 1;
  len = peek32(b, pos) >>> 26;
  const constant = unzigzag(readLong(b, pos + 6, len));
  pos += 6 + len;
  const k = peek32(b, pos) >>> 26;
  pos += 6;
  if (pos > bitEnd || g === 0) throw ended();
  const scale = powersOfTwo[k] ?? 1;
  // Residuals of up to 31 bits are decoded with int32 arithmetic; longer ones through doubles.
  const small = k + Math.ceil(Math.log2(riceEscape)) <= 31;
  let e = constant;
  let i = 1;
  if (dod) {
    x += e * g;
    if (first <= 1) out[1 + shift] = divisor === 1 ? x : x / divisor;
    i = 2;
    if (x > stopAbove) return 2;
  }
  for (; i < limit; i++) {
    let r = 0;
    if (k !== allZero) {
      const w = peek32(b, pos);
      const q = Math.clz32(~w);
      if (q < riceEscape && small) {
        const used = q + 1;
        let z = q << k;
        if (k > 0) z |= (used + k <= 32 ? w << used : peek32(b, pos + used)) >>> (32 - k);
        pos += used + k;
        r = (z >>> 1) ^ -(z & 1);
      } else if (q < riceEscape) {
        pos += q + 1;
        r = unzigzag(q * scale + readLong(b, pos, k));
        pos += k;
      } else {
        pos += riceEscape;
        const width = peek32(b, pos) >>> 26;
        r = unzigzag(readLong(b, pos + 6, width));
        pos += 6 + width;
      }
      if (pos > bitEnd) throw ended();
    }
    if (dod) e += r;
    else e = constant + r;
    x += e * g;
    if (i >= first) out[i + shift] = divisor === 1 ? x : x / divisor;
    if (x > stopAbove) return i + 1;
  }
  return i;
}

/** Samples decoded into flat arrays; `bits` views `v`'s bytes so values are written as raw IEEE-754 halves. */
export interface ColumnSink {
  readonly t: Float64Array;
  readonly v: Float64Array;
  readonly bits: Int32Array;
}

let exceptionAt = new Int32Array(16);
let exceptionHi = new Int32Array(16);
let exceptionLo = new Int32Array(16);

/** A decoded timestamp column, kept for the next chunks that share it. */
interface TimesEntry {
  from: ArrayBufferLike | null;
  offset: number;
  length: number;
  count: number;
  /** How many of `t` are decoded: all, or up to the first one past the toT of the read that decoded it. */
  decoded: number;
  t: Float64Array;
}

/**
 * Recently decoded timestamp columns. A query reads series in label order, which interleaves the series of a
 * few targets; each target's column is decoded once for all of them.
 */
const timesCache: TimesEntry[] = Array.from({ length: 32 }, () => ({
  from: null,
  offset: 0,
  length: 0,
  count: 0,
  decoded: 0,
  t: new Float64Array(0),
}));
let timesNext = 0;

/** The timestamps of a column of n, decoded at least up to the first one above toT. */
function decodeTimesUpTo(bytes: Uint8Array, n: number, toT: number): TimesEntry {
  const buffer = bytes.buffer;
  for (const entry of timesCache) {
    if (
      entry.from === buffer &&
      entry.offset === bytes.byteOffset &&
      entry.length === bytes.length &&
      entry.count === n &&
      (entry.decoded === n || (entry.t[entry.decoded - 1] ?? Infinity) > toT)
    ) {
      return entry;
    }
  }
  const entry = timesCache[timesNext] ?? {
    from: null,
    offset: 0,
    length: 0,
    count: 0,
    decoded: 0,
    t: new Float64Array(0),
  };
  timesNext = (timesNext + 1) % timesCache.length;
  if (entry.t.length < n) entry.t = new Float64Array(Math.max(n, 128));
  entry.from = null; // a throw below leaves nothing cached
  entry.decoded = readIntColumn(paddedCopy(bytes), 0, bytes.length * 8, n, n, toT, entry.t);
  entry.from = buffer;
  entry.offset = bytes.byteOffset;
  entry.length = bytes.length;
  entry.count = n;
  return entry;
}

/**
 * Decodes the samples with fromT <= t <= toT of a columnar chunk (its timestamp and value columns) into
 * `sink` from index `at`; returns how many. Values past the last one in range are not decoded. A damaged
 * column throws RangeError. The column bytes must not change afterwards: recently decoded timestamp columns
 * are reused when the same bytes (same buffer and offset) come again, as chunks sharing one do.
 */
export function decodeColumnarRange(
  timeBytes: Uint8Array,
  valueBytes: Uint8Array,
  count: number,
  fromT: number,
  toT: number,
  sink: ColumnSink,
  at: number,
): number {
  if (count === 0) return 0;
  const { decoded, t } = decodeTimesUpTo(timeBytes, count, toT);
  let first = 0;
  while (first < decoded && (t[first] ?? 0) < fromT) first++;
  let end = first;
  while (end < decoded && (t[end] ?? 0) <= toT) end++;
  if (end === first) return 0;
  const outT = sink.t;
  const outBits = sink.bits;
  if (at + end - first > outT.length) throw new RangeError(`output arrays hold ${outT.length} samples`);
  for (let i = first; i < end; i++) outT[at + i - first] = t[i] ?? 0;
  const b = paddedCopy(valueBytes);
  const bitEnd = valueBytes.length * 8;
  if (bitEnd < 2) throw ended();
  const kind = peek32(b, 0) >>> 30;
  if (kind === valuesXor) readXorValues(b, 2, bitEnd, end, first, outBits, at);
  else if (kind === valuesDecimal) readDecimalValues(b, 2, bitEnd, count, end, first, sink, at);
  else if (kind === valuesBitDeltas) readBitDeltas(b, 2, bitEnd, end, first, outBits, at);
  else throw new RangeError(`unknown value column kind ${kind}`);
  return end - first;
}

function readDecimalValues(
  b: DataView,
  start: number,
  bitEnd: number,
  n: number,
  end: number,
  first: number,
  sink: ColumnSink,
  at: number,
): void {
  let pos = start;
  const k = peek32(b, pos) >>> 28;
  pos += 4;
  let len = peek32(b, pos) >>> 26;
  const exceptions = readLong(b, pos + 6, len);
  pos += 6 + len;
  if (exceptions > n) throw new RangeError(`value column claims ${exceptions} exceptions in ${n} samples`);
  if (exceptionAt.length < exceptions + 1) {
    exceptionAt = new Int32Array(2 * exceptions + 1);
    exceptionHi = new Int32Array(2 * exceptions + 1);
    exceptionLo = new Int32Array(2 * exceptions + 1);
  }
  let index = -1;
  for (let j = 0; j < exceptions; j++) {
    len = peek32(b, pos) >>> 26;
    index += readLong(b, pos + 6, len) + 1;
    pos += 6 + len;
    exceptionAt[j] = index;
    exceptionHi[j] = peek32(b, pos);
    exceptionLo[j] = peek32(b, pos + 32);
    pos += 64;
    if (pos > bitEnd) throw ended();
  }
  readIntColumn(b, pos, bitEnd, n, end, Infinity, sink.v, at, first, powersOfTen[k] ?? 1);
  // Exceptions overwrite the integers decoded in their place.
  const outBits = sink.bits;
  for (let j = 0; j < exceptions; j++) {
    const i = exceptionAt[j] ?? 0;
    if (i < first) continue;
    if (i >= end) break;
    const o = at + i - first;
    outBits[2 * o + HI] = exceptionHi[j] ?? 0;
    outBits[2 * o + LO] = exceptionLo[j] ?? 0;
  }
}

function readBitDeltas(
  b: DataView,
  start: number,
  bitEnd: number,
  end: number,
  first: number,
  outBits: Int32Array,
  at: number,
): void {
  let pos = start;
  let hi = peek32(b, pos) >>> 0;
  let lo = peek32(b, pos + 32) >>> 0;
  pos += 64;
  let median = 0;
  let k = allZero;
  if (end > 1) {
    const len = peek32(b, pos) >>> 26;
    median = unzigzag(readLong(b, pos + 6, len));
    pos += 6 + len;
    k = peek32(b, pos) >>> 26;
    pos += 6;
  }
  if (pos > bitEnd) throw ended();
  const scale = powersOfTwo[k] ?? 1;
  for (let i = 0; ;) {
    if (i >= first) {
      const o = at + i - first;
      outBits[2 * o + HI] = hi;
      outBits[2 * o + LO] = lo;
    }
    if (++i >= end) break;
    let r = 0;
    if (k !== allZero) {
      const q = Math.clz32(~peek32(b, pos));
      if (q < riceEscape) {
        pos += q + 1;
        r = unzigzag(q * scale + readLong(b, pos, k));
        pos += k;
      } else {
        pos += riceEscape;
        const width = peek32(b, pos) >>> 26;
        r = unzigzag(readLong(b, pos + 6, width));
        pos += 6 + width;
      }
      if (pos > bitEnd) throw ended();
    }
    // (hi, lo) += median + r, as a 64-bit integer: |median + r| < 2^51, so lo + it stays exact.
    const sum = lo + median + r;
    const carry = Math.floor(sum / twoTo32);
    lo = sum - carry * twoTo32;
    hi = (hi + carry) >>> 0;
  }
}

function readXorValues(
  b: DataView,
  start: number,
  bitEnd: number,
  end: number,
  first: number,
  outBits: Int32Array,
  at: number,
): void {
  let pos = start;
  let hi = peek32(b, pos);
  let lo = peek32(b, pos + 32);
  pos += 64;
  if (pos > bitEnd) throw ended();
  let leading = 0;
  let trailing = 0;
  for (let i = 0; ;) {
    if (i >= first) {
      const o = at + i - first;
      outBits[2 * o + HI] = hi;
      outBits[2 * o + LO] = lo;
    }
    if (++i >= end) break;
    const c = peek32(b, pos);
    if (c >= 0) {
      pos += 1;
    } else {
      if ((c & 0x40000000) !== 0) {
        leading = (c >>> 25) & 31;
        trailing = 64 - leading - ((c >>> 19) & 63 || 64);
        pos += 13;
      } else {
        pos += 2;
      }
      const n = 64 - leading - trailing;
      let xh = 0;
      let xl: number;
      if (n > 32) {
        xh = peek32(b, pos) >>> (64 - n);
        xl = peek32(b, pos + n - 32);
      } else {
        xl = peek32(b, pos) >>> (32 - n);
      }
      pos += n;
      if (trailing >= 32) {
        xh = xl << (trailing - 32);
        xl = 0;
      } else if (trailing > 0) {
        xh = (xh << trailing) | (xl >>> (32 - trailing));
        xl = xl << trailing;
      }
      hi ^= xh;
      lo ^= xl;
    }
    if (pos > bitEnd) throw ended();
  }
}
