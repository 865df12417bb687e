// Values are handled as two 32-bit halves of their IEEE-754 bits so NaN payloads (the staleness marker)
// survive bit-exactly; which half is the high one (index into an Int32Array over a Float64Array) depends on
// the platform's byte order.
const probe = new Float64Array([1]); // 0x3ff0000000000000: only the high half is non-zero
export const HI = new Int32Array(probe.buffer)[1] === 0x3ff00000 ? 1 : 0;
export const LO = 1 - HI;
const twoTo32 = 4294967296;

function ctz32(x: number): number {
  return 31 - Math.clz32(x & -x);
}

/** Where the bits go: the head's arena writer or a sealed column's writer. */
export interface BitSink {
  writeBits(value: number, n: number): void;
}

/** The window (leading and trailing zero bits) the last XOR written used; leading -1 before the first. */
export interface XorWindow {
  leading: number;
  trailing: number;
}

/**
 * Writes the XOR of a value with the previous one as Gorilla does: '0' when equal; '10' + the bits within the
 * previous window when they fit; else '11', 5 bits of leading zeros (capped at 31, as in Prometheus), 6 bits
 * of significant-bit count (64 written as 0), then the bits.
 */
export function writeXorBits(bits: BitSink, window: XorWindow, xhi: number, xlo: number): void {
  if (xhi === 0 && xlo === 0) {
    bits.writeBits(0, 1);
    return;
  }
  bits.writeBits(1, 1);
  const leading = Math.min(31, xhi !== 0 ? Math.clz32(xhi) : 32 + Math.clz32(xlo));
  const trailing = xlo !== 0 ? ctz32(xlo) : 32 + ctz32(xhi);
  if (window.leading >= 0 && leading >= window.leading && trailing >= window.trailing) {
    bits.writeBits(0, 1);
    writeShifted(bits, xhi, xlo, window.trailing, 64 - window.leading - window.trailing);
    return;
  }
  window.leading = leading;
  window.trailing = trailing;
  const significant = 64 - leading - trailing;
  bits.writeBits(1, 1);
  bits.writeBits(leading, 5);
  bits.writeBits(significant & 63, 6);
  writeShifted(bits, xhi, xlo, trailing, significant);
}

/** Writes `n` bits of the 64-bit value (hi, lo) shifted right by `shift`. */
function writeShifted(bits: BitSink, hi: number, lo: number, shift: number, n: number): void {
  let h = hi >>> 0;
  let l = lo >>> 0;
  if (shift >= 32) {
    l = h >>> (shift - 32);
    h = 0;
  } else if (shift > 0) {
    l = ((l >>> shift) | (h << (32 - shift))) >>> 0;
    h = h >>> shift;
  }
  if (n > 32) {
    bits.writeBits(h, n - 32);
    bits.writeBits(l, 32);
  } else {
    bits.writeBits(l, n);
  }
}

/**
 * Bucketed like Prometheus's, with narrower first buckets because a few ms of scrape jitter is the common
 * case: 0 → '0'; 4, 10, 14, 20 bits → '10', '110', '1110', '11110'; anything else → '11111' + 64 bits.
 */
const dodWidths = [0, 4, 10, 14, 20];
const escapeOnes = dodWidths.length;
// Tables rather than `2 ** width` in the loop: V8 (Node 20) compiled that into a slow path on every append.
const dodHalves = dodWidths.map((width) => 2 ** (width - 1));
const dodMasks = dodWidths.map((width) => 2 ** width - 1);

/** Writes a timestamp's delta-of-delta in the buckets above. */
export function writeDeltaOfDelta(bits: BitSink, dod: number): void {
  if (dod === 0) {
    bits.writeBits(0, 1);
    return;
  }
  for (let ones = 1; ones < escapeOnes; ones++) {
    const half = dodHalves[ones] ?? 0;
    if (dod > -half && dod <= half) {
      bits.writeBits(((1 << (ones + 1)) - 2) >>> 0, ones + 1); // `ones` ones then a zero
      bits.writeBits(dod & (dodMasks[ones] ?? 0), dodWidths[ones] ?? 0);
      return;
    }
  }
  bits.writeBits(0b11111, escapeOnes);
  const hi = Math.floor(dod / twoTo32);
  bits.writeBits(hi >>> 0, 32);
  bits.writeBits((dod - hi * twoTo32) >>> 0, 32);
}

/** Samples decoded into flat arrays; `bits` views `v`'s bytes so values are written as raw IEEE-754 halves. */
export interface SampleSink {
  readonly t: Float64Array;
  readonly bits: Int32Array;
}

/**
 * Decodes `count` samples of a chunk into outT/outV starting at index `at`. Values are written as raw bits,
 * so NaN payloads come back exactly. A damaged stream throws RangeError.
 */
export function decodeXorChunk(
  bytes: Uint8Array,
  count: number,
  minT: number,
  outT: Float64Array,
  outV: Float64Array,
  at: number,
): void {
  if (count === 0) return;
  if (at + count > outT.length || at + count > outV.length)
    throw new RangeError(`output arrays hold ${outT.length} samples, need ${at + count}`);
  const sink = { t: outT, bits: new Int32Array(outV.buffer, outV.byteOffset, outV.length * 2) };
  const got = decodeXorRange(bytes, count, minT, -Infinity, Infinity, sink, at);
  if (got !== count) throw new RangeError(`chunk decoded to ${got} samples, expected ${count}`);
}

// Reads past the end of a chunk land in zero padding; the length check after each sample turns them into a
// RangeError. One sample uses at most 146 bits, plus a 5-byte peek: 32 bytes of padding are plenty.
const paddingBytes = 32;
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

/** The 32 bits starting at bit `pos`, most significant first, as an int32 (the sign bit is the first). */
function peek32(b: DataView, pos: number): number {
  const i = pos >>> 3;
  const shift = pos & 7;
  const word = b.getInt32(i);
  return shift === 0 ? word : (word << shift) | (b.getUint8(i + 4) >>> (8 - shift));
}

/**
 * Decodes a chunk, keeping only samples with fromT <= t <= toT (it stops at the first one past toT), into
 * `sink` from index `at`; returns how many it wrote. Works on 32-bit peeks rather than single bits: this
 * loop is where queries spend their time. A damaged stream throws RangeError.
 */
export function decodeXorRange(
  bytes: Uint8Array,
  count: number,
  minT: number,
  fromT: number,
  toT: number,
  sink: SampleSink,
  at: number,
): number {
  if (count === 0 || minT > toT) return 0;
  const b = paddedCopy(bytes);
  const bitLength = bytes.length * 8;
  if (bitLength < 64) throw new RangeError('chunk data ended before its last sample');
  const outT = sink.t;
  const outBits = sink.bits;
  let pos = 64;
  let t = minT;
  let delta = 0;
  let hi = peek32(b, 0);
  let lo = peek32(b, 32);
  let leading = 0;
  let trailing = 0;
  let k = at;
  for (let i = 0; ;) {
    if (t >= fromT) {
      outT[k] = t;
      outBits[2 * k + HI] = hi;
      outBits[2 * k + LO] = lo;
      k++;
    }
    if (++i >= count) break;
    // Delta of delta: '0', or 1..4 ones, a zero and a 4/10/14/20-bit value, or '11111' and 64 bits.
    const w = peek32(b, pos);
    if (w >= 0) {
      pos += 1;
    } else {
      const ones = Math.min(escapeOnes, Math.clz32(~w));
      if (ones < escapeOnes) {
        const width = dodWidths[ones] ?? 0;
        const raw = (w << (ones + 1)) >>> (32 - width);
        delta += raw > 1 << (width - 1) ? raw - (1 << width) : raw;
        pos += ones + 1 + width;
      } else {
        delta += peek32(b, pos + 5) * twoTo32 + (peek32(b, pos + 37) >>> 0);
        pos += 69;
      }
    }
    t += delta;
    // Value: '0' repeats it; '10' reuses the previous window; '11', 5 + 6 bits of window, then the bits.
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
    if (pos > bitLength) throw new RangeError('chunk data ended before its last sample');
    if (t > toT) break;
  }
  return k - at;
}
