import { BitReader, BitWriter } from './bitStream.js';

// Values are handled as two 32-bit halves of their IEEE-754 bits so NaN payloads (the staleness marker)
// survive bit-exactly; which half is the high one depends on the platform's byte order.
const scratch = new Float64Array(1);
const scratchHalves = new Uint32Array(scratch.buffer);
scratch[0] = 1; // 0x3ff0000000000000: only the high half is non-zero
const HI = scratchHalves[1] === 0x3ff00000 ? 1 : 0;
const LO = 1 - HI;
const twoTo32 = 4294967296;

/**
 * The head of a Gorilla chunk being appended to: delta-of-delta timestamps and XOR-encoded values in a bit
 * stream. The first timestamp is kept beside the stream (minT), not in it.
 */
export class XorEncoder {
  readonly bits: BitWriter;
  count = 0;
  minT = 0;
  maxT = 0;
  private delta = 0;
  private hi = 0;
  private lo = 0;
  private leading = -1;
  private trailing = 0;

  constructor(capacity = 32) {
    this.bits = new BitWriter(capacity);
  }

  /** Appends a sample; the caller guarantees t > maxT and integer milliseconds. */
  append(t: number, v: number): void {
    scratch[0] = v;
    const hi = scratchHalves[HI] ?? 0;
    const lo = scratchHalves[LO] ?? 0;
    if (this.count === 0) {
      this.minT = t;
      this.bits.writeBits(hi, 32);
      this.bits.writeBits(lo, 32);
    } else {
      const delta = t - this.maxT;
      writeDeltaOfDelta(this.bits, delta - this.delta);
      this.delta = delta;
      this.writeXor(hi ^ this.hi, lo ^ this.lo);
    }
    this.hi = hi;
    this.lo = lo;
    this.maxT = t;
    this.count++;
  }

  private writeXor(xhi: number, xlo: number): void {
    const bits = this.bits;
    if (xhi === 0 && xlo === 0) {
      bits.writeBits(0, 1);
      return;
    }
    bits.writeBits(1, 1);
    // Five bits hold the leading-zero count, so it is capped at 31 as in Prometheus.
    const leading = Math.min(31, xhi !== 0 ? Math.clz32(xhi) : 32 + Math.clz32(xlo));
    const trailing = xlo !== 0 ? ctz32(xlo) : 32 + ctz32(xhi);
    if (this.leading >= 0 && leading >= this.leading && trailing >= this.trailing) {
      bits.writeBits(0, 1);
      writeShifted(bits, xhi, xlo, this.trailing, 64 - this.leading - this.trailing);
      return;
    }
    this.leading = leading;
    this.trailing = trailing;
    const significant = 64 - leading - trailing;
    bits.writeBits(1, 1);
    bits.writeBits(leading, 5);
    bits.writeBits(significant & 63, 6); // 64 significant bits are written as 0
    writeShifted(bits, xhi, xlo, trailing, significant);
  }
}

function ctz32(x: number): number {
  return 31 - Math.clz32(x & -x);
}

/** Writes `n` bits of the 64-bit value (hi, lo) shifted right by `shift`. */
function writeShifted(bits: BitWriter, hi: number, lo: number, shift: number, n: number): void {
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

function writeDeltaOfDelta(bits: BitWriter, dod: number): void {
  if (dod === 0) {
    bits.writeBits(0, 1);
    return;
  }
  for (let ones = 1; ones < escapeOnes; ones++) {
    const width = dodWidths[ones] ?? 0;
    const half = 2 ** (width - 1);
    if (dod > -half && dod <= half) {
      bits.writeBits(((1 << (ones + 1)) - 2) >>> 0, ones + 1); // `ones` ones then a zero
      bits.writeBits(dod & (2 ** width - 1), width);
      return;
    }
  }
  bits.writeBits(0b11111, escapeOnes);
  const hi = Math.floor(dod / twoTo32);
  bits.writeBits(hi >>> 0, 32);
  bits.writeBits((dod - hi * twoTo32) >>> 0, 32);
}

function readDeltaOfDelta(reader: BitReader): number {
  let ones = 0;
  while (ones < escapeOnes && reader.readBit() === 1) ones++;
  if (ones === 0) return 0;
  if (ones === escapeOnes) {
    const hi = reader.readBits(32) | 0;
    return hi * twoTo32 + reader.readBits(32);
  }
  const width = dodWidths[ones] ?? 0;
  const raw = reader.readBits(width);
  return raw > 2 ** (width - 1) ? raw - 2 ** width : raw;
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
  const reader = new BitReader(bytes);
  const halves = new Uint32Array(outV.buffer, outV.byteOffset + at * 8, count * 2);
  let t = minT;
  let delta = 0;
  let hi = reader.readBits(32);
  let lo = reader.readBits(32);
  let leading = 0;
  let trailing = 0;
  outT[at] = t;
  halves[HI] = hi;
  halves[LO] = lo;
  for (let i = 1; i < count; i++) {
    delta += readDeltaOfDelta(reader);
    t += delta;
    if (reader.readBit() === 1) {
      if (reader.readBit() === 1) {
        leading = reader.readBits(5);
        const significant = reader.readBits(6) || 64;
        trailing = 64 - leading - significant;
      }
      const n = 64 - leading - trailing;
      let xh = n > 32 ? reader.readBits(n - 32) : 0;
      let xl = reader.readBits(n > 32 ? 32 : n);
      if (trailing >= 32) {
        xh = xl << (trailing - 32);
        xl = 0;
      } else if (trailing > 0) {
        xh = (xh << trailing) | (xl >>> (32 - trailing));
        xl = xl << trailing;
      }
      hi = (hi ^ xh) >>> 0;
      lo = (lo ^ xl) >>> 0;
    }
    outT[at + i] = t;
    halves[2 * i + HI] = hi;
    halves[2 * i + LO] = lo;
  }
}
