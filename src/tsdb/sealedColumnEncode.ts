/** Writing sealed chunks' columns (the format: sealedColumnFormat.ts). */
import {
  twoTo32,
  maxColumnInt,
  riceEscape,
  allZero,
  maxDecimalDigits,
  powersOfTwo,
  powersOfTen,
  valuesDecimal,
  valuesXor,
  valuesBitDeltas,
  maxBitDelta,
  scratchF64,
  scratchHalves,
  HI,
  LO,
} from './sealedColumnFormat.js';
import { writeXorBits, type XorWindow } from './XorChunk.js';

/** A growable, reusable bit stream writer (most significant bit first). */
export class BitWriter {
  private buf = new Uint8Array(1024);
  bitLength = 0;

  reset(): void {
    this.buf.fill(0, 0, (this.bitLength + 7) >>> 3);
    this.bitLength = 0;
  }

  /** Writes the low `n` bits (0..32) of `value`. */
  writeBits(value: number, n: number): void {
    if (n === 0) return;
    const at = this.bitLength >>> 3;
    if (at + 5 > this.buf.length) this.grow();
    // The bits land in a 40-bit window of five bytes from `at` (bytes past the end are zero; OR keeps them).
    const bits = n === 32 ? value >>> 0 : (value & ((1 << n) - 1)) >>> 0;
    const window = bits * (powersOfTwo[40 - (this.bitLength & 7) - n] ?? 1);
    const top = Math.floor(window / twoTo32);
    const low = (window - top * twoTo32) >>> 0;
    const buf = this.buf;
    buf[at] = (buf[at] ?? 0) | top;
    buf[at + 1] = (buf[at + 1] ?? 0) | (low >>> 24);
    buf[at + 2] = (buf[at + 2] ?? 0) | ((low >>> 16) & 255);
    buf[at + 3] = (buf[at + 3] ?? 0) | ((low >>> 8) & 255);
    buf[at + 4] = (buf[at + 4] ?? 0) | (low & 255);
    this.bitLength += n;
  }

  /** Writes the low `n` bits (0..53) of the non-negative integer `x`. */
  writeLong(x: number, n: number): void {
    if (n <= 32) {
      this.writeBits(x >>> 0, n);
    } else {
      const hi = Math.floor(x / twoTo32);
      this.writeBits(hi >>> 0, n - 32);
      this.writeBits((x - hi * twoTo32) >>> 0, 32);
    }
  }

  /** A non-negative integer below 2^53: its bit length in 6 bits, then its bits. */
  writeVar(x: number): void {
    const n = bitLength(x);
    this.writeBits(n, 6);
    this.writeLong(x, n);
  }

  /** A copy of the bytes written (the last one zero-padded). */
  bytes(): Uint8Array {
    return this.buf.slice(0, (this.bitLength + 7) >>> 3);
  }

  private grow(): void {
    const next = new Uint8Array(this.buf.length * 2);
    next.set(this.buf);
    this.buf = next;
  }
}

/** Bits needed for the non-negative integer x (< 2^53); 0 for 0. */
function bitLength(x: number): number {
  if (x < twoTo32) return 32 - Math.clz32(x);
  return 64 - Math.clz32(Math.floor(x / twoTo32));
}

const zigzag = (r: number): number => (r >= 0 ? 2 * r : -2 * r - 1);

function gcd(a: number, b: number): number {
  while (b !== 0) {
    const t = a % b;
    a = b;
    b = t;
  }
  return a;
}

/** Residual scratch space, reused between chunks. */
let residualsA = new Float64Array(256);
let residualsB = new Float64Array(256);
let sorted = new Float64Array(256);

/** Bits of the Rice code of `z[0..n)` with parameter k (allZero: nothing). */
function riceBits(z: Float64Array, n: number, k: number): number {
  if (k === allZero) return 0;
  const scale = powersOfTwo[k] ?? 1;
  let bits = 0;
  for (let i = 0; i < n; i++) {
    const zi = z[i] ?? 0;
    const q = Math.floor(zi / scale);
    bits += q < riceEscape ? q + 1 + k : riceEscape + 6 + bitLength(zi);
  }
  return bits;
}

/** The best Rice parameter for z[0..n) and its cost in bits. */
function bestRice(z: Float64Array, n: number): [number, number] {
  let sum = 0;
  for (let i = 0; i < n; i++) sum += z[i] ?? 0;
  if (sum === 0) return [allZero, 0];
  const mean = sum / n;
  const guess = mean < 1 ? 0 : Math.floor(Math.log2(mean));
  let best = 0;
  let bestCost = Infinity;
  for (let k = Math.max(0, guess - 2); k <= Math.min(52, guess + 1); k++) {
    const cost = riceBits(z, n, k);
    if (cost < bestCost) {
      bestCost = cost;
      best = k;
    }
  }
  return [best, bestCost];
}

/** The k-th smallest of a[0..n) (quickselect; reorders a). */
function select(a: Float64Array, n: number, k: number): number {
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >>> 1] ?? 0;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while ((a[i] ?? 0) < pivot) i++;
      while ((a[j] ?? 0) > pivot) j--;
      if (i <= j) {
        const t = a[i] ?? 0;
        a[i++] = a[j] ?? 0;
        a[j--] = t;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else break;
  }
  return a[k] ?? 0;
}

function writeRice(w: BitWriter, z: Float64Array, n: number, k: number): void {
  if (k === allZero) return;
  const scale = powersOfTwo[k] ?? 1;
  for (let i = 0; i < n; i++) {
    const zi = z[i] ?? 0;
    const q = Math.floor(zi / scale);
    if (q < riceEscape) {
      // q ones and a zero, then the k low bits.
      let ones = q;
      while (ones >= 31) {
        w.writeBits(0x7fffffff, 31);
        ones -= 31;
      }
      w.writeBits(((1 << (ones + 1)) - 2) >>> 0, ones + 1);
      w.writeLong(zi - q * scale, k);
    } else {
      w.writeBits((1 << riceEscape) - 1, riceEscape);
      w.writeVar(zi);
    }
  }
}

/** True when every x[0..n) is an integer within ±2^48 (so an integer column holds them exactly). */
export function fitsIntColumn(x: Float64Array, n: number): boolean {
  for (let i = 0; i < n; i++) {
    const v = x[i] ?? NaN;
    if (!Number.isInteger(v) || v > maxColumnInt || v < -maxColumnInt) return false;
  }
  return true;
}

/** Appends the integer column x[0..n) (n ≥ 1, fitsIntColumn) to w. */
export function writeIntColumn(w: BitWriter, x: Float64Array, n: number): void {
  const first = x[0] ?? 0;
  w.writeVar(zigzag(first));
  if (n === 1) return;
  const m = n - 1;
  if (residualsA.length < m) {
    residualsA = new Float64Array(2 * m);
    residualsB = new Float64Array(2 * m);
    sorted = new Float64Array(2 * m);
  }
  let g = 0;
  for (let i = 1; i < n && g !== 1; i++) g = gcd(g, Math.abs((x[i] ?? 0) - (x[i - 1] ?? 0)));
  if (g === 0) g = 1;
  // Deltas over g, then residuals of both transforms.
  const e = sorted;
  for (let i = 1; i < n; i++) e[i - 1] = ((x[i] ?? 0) - (x[i - 1] ?? 0)) / g;
  const first1 = e[0] ?? 0;
  // Mode 1 (deltas of deltas): the first delta is the constant, then m - 1 residuals.
  for (let i = 1; i < m; i++) residualsB[i - 1] = zigzag((e[i] ?? 0) - (e[i - 1] ?? 0));
  const [kB, costB] = bestRice(residualsB, m - 1);
  // Mode 0 (deltas minus their median): m residuals.
  const median = select(e, m, m >>> 1);
  for (let i = 1; i < n; i++) residualsA[i - 1] = zigzag(((x[i] ?? 0) - (x[i - 1] ?? 0)) / g - median);
  const [kA, costA] = bestRice(residualsA, m);
  w.writeVar(g);
  if (costA + bitLength(zigzag(median)) <= costB + bitLength(zigzag(first1))) {
    w.writeBits(0, 1);
    w.writeVar(zigzag(median));
    w.writeBits(kA, 6);
    writeRice(w, residualsA, m, kA);
  } else {
    w.writeBits(1, 1);
    w.writeVar(zigzag(first1));
    w.writeBits(kB, 6);
    writeRice(w, residualsB, m - 1, kB);
  }
}

/** Encodes a timestamp column (integer ms within ±2^48); null when they do not fit one. */
export function encodeTimestamps(t: Float64Array, n: number): Uint8Array | null {
  if (n === 0 || !fitsIntColumn(t, n)) return null;
  const w = writer;
  w.reset();
  writeIntColumn(w, t, n);
  return w.bytes();
}

const writer = new BitWriter();
let mantissas = new Float64Array(256);
const exceptionLimit = (n: number): number => Math.floor(n / 16);

/** The smallest k such that all but at most exceptionLimit(n) values are exact decimals m / 10^k; -1 if none. */
function decimalDigits(v: Float64Array, n: number): number {
  const limit = exceptionLimit(n);
  for (let k = 0; k <= maxDecimalDigits; k++) {
    const scale = powersOfTen[k] ?? 1;
    let misses = 0;
    let hits = 0;
    for (let i = 0; i < n && misses <= limit; i++) {
      const x = v[i] ?? 0;
      if (isDecimal(x, scale)) hits++;
      else misses++;
    }
    if (misses <= limit && hits > 0) return k;
  }
  return -1;
}

function isDecimal(x: number, scale: number): boolean {
  if (x === 0) return !Object.is(x, -0);
  const m = Math.round(x * scale);
  return m <= maxColumnInt && m >= -maxColumnInt && Object.is(m / scale, x);
}

function writeRawBits(w: BitWriter, x: number): void {
  scratchF64[0] = x;
  w.writeBits(scratchHalves[HI] ?? 0, 32);
  w.writeBits(scratchHalves[LO] ?? 0, 32);
}

/** Appends the decimal value column: 4 bits of k, exceptions (index gaps + raw bits), the integers m. */
function writeDecimalValues(w: BitWriter, v: Float64Array, n: number, k: number): void {
  const scale = powersOfTen[k] ?? 1;
  if (mantissas.length < n) mantissas = new Float64Array(2 * n);
  w.writeBits(k, 4);
  // Exceptions are NaN in `mantissas` for now (no decimal is).
  let exceptions = 0;
  for (let i = 0; i < n; i++) {
    const x = v[i] ?? 0;
    if (isDecimal(x, scale)) {
      mantissas[i] = Math.round(x * scale);
    } else {
      mantissas[i] = NaN;
      exceptions++;
    }
  }
  w.writeVar(exceptions);
  let previous = -1;
  let m = NaN;
  for (let i = 0; i < n; i++) {
    if (!Number.isNaN(mantissas[i])) {
      m = mantissas[i] ?? 0;
      continue;
    }
    w.writeVar(i - previous - 1);
    writeRawBits(w, v[i] ?? 0);
    previous = i;
    mantissas[i] = m; // repeats the previous integer (NaN before the first: filled below)
  }
  // Exceptions before the first decimal take its integer, so they cost no residual bits.
  let firstM = 0;
  for (let i = 0; i < n; i++) {
    if (!Number.isNaN(mantissas[i])) {
      firstM = mantissas[i] ?? 0;
      break;
    }
  }
  for (let i = 0; i < n && Number.isNaN(mantissas[i]); i++) mantissas[i] = firstM;
  writeIntColumn(w, mantissas, n);
}

/** Appends values as Gorilla XOR of their raw bits (the head chunk's value encoding). */
function writeXorValues(w: BitWriter, v: Float64Array, n: number): void {
  writeRawBits(w, v[0] ?? 0);
  let hi = scratchHalves[HI] ?? 0;
  let lo = scratchHalves[LO] ?? 0;
  const window: XorWindow = { leading: -1, trailing: 0 };
  for (let i = 1; i < n; i++) {
    scratchF64[0] = v[i] ?? 0;
    const h = scratchHalves[HI] ?? 0;
    const l = scratchHalves[LO] ?? 0;
    writeXorBits(w, window, (h ^ hi) >>> 0, (l ^ lo) >>> 0);
    hi = h;
    lo = l;
  }
}

/**
 * Appends values as deltas of their IEEE-754 bit patterns read as integers, minus the median delta, Rice
 * coded: a slowly moving double changes by a small number of units in the last place, where XOR pays for
 * every bit below the highest one that flipped. Returns false (leaving w dirty) when a delta exceeds 2^50
 * (values of mixed sign, NaN, far jumps).
 */
function writeBitDeltas(w: BitWriter, v: Float64Array, n: number): boolean {
  if (residualsA.length < n) {
    residualsA = new Float64Array(2 * n);
    residualsB = new Float64Array(2 * n);
    sorted = new Float64Array(2 * n);
  }
  scratchF64[0] = v[0] ?? 0;
  let hi = scratchHalves[HI] ?? 0;
  let lo = scratchHalves[LO] ?? 0;
  w.writeBits(hi, 32);
  w.writeBits(lo, 32);
  const m = n - 1;
  for (let i = 1; i < n; i++) {
    scratchF64[0] = v[i] ?? 0;
    const h = scratchHalves[HI] ?? 0;
    const l = scratchHalves[LO] ?? 0;
    const delta = (h - hi) * twoTo32 + (l - lo);
    if (!(delta <= maxBitDelta && delta >= -maxBitDelta)) return false;
    sorted[i - 1] = residualsB[i - 1] = delta;
    hi = h;
    lo = l;
  }
  if (m === 0) return true;
  const median = select(sorted, m, m >>> 1);
  for (let i = 0; i < m; i++) residualsA[i] = zigzag((residualsB[i] ?? 0) - median);
  const [k] = bestRice(residualsA, m);
  w.writeVar(zigzag(median));
  w.writeBits(k, 6);
  writeRice(w, residualsA, m, k);
  return true;
}

/**
 * Encodes a value column (n ≥ 1), the smallest of: decimal integers (when all but a few values are exact
 * decimals), bit-pattern deltas, Gorilla XOR.
 */
export function encodeValues(v: Float64Array, n: number): Uint8Array {
  const w = writer;
  const k = decimalDigits(v, n);
  if (k >= 0) {
    // Integers need fewer bits than XOR or bit-pattern deltas of the same values (those pay for the
    // mantissa bits below the decimal point), so the other encodings are not tried: sealing stays cheap.
    w.reset();
    w.writeBits(valuesDecimal, 2);
    writeDecimalValues(w, v, n, k);
    return w.bytes();
  }
  w.reset();
  w.writeBits(valuesXor, 2);
  writeXorValues(w, v, n);
  const xor = w.bytes();
  w.reset();
  w.writeBits(valuesBitDeltas, 2);
  return writeBitDeltas(w, v, n) && w.bitLength < xor.length * 8 ? w.bytes() : xor;
}
