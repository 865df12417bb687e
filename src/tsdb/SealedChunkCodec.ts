/**
 * The columnar encoding of sealed chunks. Heads are appended as Gorilla streams (XorChunk.ts); when a chunk is
 * sealed its samples are all known, so they are transcoded into two columns chosen per chunk:
 *
 * - timestamps: an integer column (below). The series of one scrape target share their timestamps exactly,
 *   so ChunkFiles stores an encoded column once per file and lets later chunks refer to it.
 * - values: when every value (but a few exceptions: NaN staleness markers, ±Inf, -0) is an exact decimal
 *   m / 10^k, the integers m as an integer column; otherwise Gorilla XOR of the raw bits, as in the head.
 *
 * Integer column: first value, then deltas divided by their greatest common divisor, either minus a constant
 * (the chunk's median delta: counters, jittered timestamps) or as deltas of deltas (smooth slopes), whichever
 * is smaller; the residuals are zigzagged and Rice-coded with a per-chunk parameter (a run of all-zero
 * residuals costs nothing). Every integer stays below 2^48 in magnitude so the arithmetic is exact.
 */

const twoTo32 = 4294967296;
/** Integers of a column stay within ±2^48: deltas, deltas of deltas and zigzag then stay below 2^53. */
const maxColumnInt = 2 ** 48;
/** Rice quotients from this many ones on are escaped: the ones, 6 bits of length, then the value itself. */
const riceEscape = 20;
/** Rice parameter meaning "every residual is zero" (no residual bits follow). */
const allZero = 63;
/** Largest k of a decimal column (values m / 10^k). */
const maxDecimalDigits = 15;
/** 2^k for Rice parameters: a table, because `2 ** k` in the decoders made them ~3× slower on Node 20. */
const powersOfTwo = Array.from({ length: 64 }, (_, k) => 2 ** k);
const powersOfTen = Array.from({ length: maxDecimalDigits + 1 }, (_, k) => 10 ** k);

/** Value column kinds (2 bits). */
const valuesDecimal = 0;
const valuesXor = 1;
const valuesBitDeltas = 2;
/** Bit-pattern deltas beyond this send a chunk to XOR (residuals must stay below 2^53 when zigzagged). */
const maxBitDelta = 2 ** 50;

const scratchF64 = new Float64Array(1);
const scratchHalves = new Uint32Array(scratchF64.buffer);
scratchF64[0] = 1;
const HI = scratchHalves[1] === 0x3ff00000 ? 1 : 0;
const LO = 1 - HI;

/** A growable, reusable bit stream writer (most significant bit first). */
export class BitWriter {
  private buf = new Uint8Array(1024);
  bitLength = 0;

  reset(): void {
    this.buf.fill(0, 0, (this.bitLength + 7) >>> 3);
    this.bitLength = 0;
  }

  /** Writes the low `n` bits (0..32) of `value`. */
  write(value: number, n: number): void {
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
      this.write(x >>> 0, n);
    } else {
      const hi = Math.floor(x / twoTo32);
      this.write(hi >>> 0, n - 32);
      this.write((x - hi * twoTo32) >>> 0, 32);
    }
  }

  /** A non-negative integer below 2^53: its bit length in 6 bits, then its bits. */
  writeVar(x: number): void {
    const n = bitLength(x);
    this.write(n, 6);
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
        w.write(0x7fffffff, 31);
        ones -= 31;
      }
      w.write(((1 << (ones + 1)) - 2) >>> 0, ones + 1);
      w.writeLong(zi - q * scale, k);
    } else {
      w.write((1 << riceEscape) - 1, riceEscape);
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
    w.write(0, 1);
    w.writeVar(zigzag(median));
    w.write(kA, 6);
    writeRice(w, residualsA, m, kA);
  } else {
    w.write(1, 1);
    w.writeVar(zigzag(first1));
    w.write(kB, 6);
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
  w.write(scratchHalves[HI] ?? 0, 32);
  w.write(scratchHalves[LO] ?? 0, 32);
}

/** Appends the decimal value column: 4 bits of k, exceptions (index gaps + raw bits), the integers m. */
function writeDecimalValues(w: BitWriter, v: Float64Array, n: number, k: number): void {
  const scale = powersOfTen[k] ?? 1;
  if (mantissas.length < n) mantissas = new Float64Array(2 * n);
  w.write(k, 4);
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
  let leading = -1;
  let trailing = 0;
  for (let i = 1; i < n; i++) {
    scratchF64[0] = v[i] ?? 0;
    const h = scratchHalves[HI] ?? 0;
    const l = scratchHalves[LO] ?? 0;
    const xhi = (h ^ hi) >>> 0;
    const xlo = (l ^ lo) >>> 0;
    hi = h;
    lo = l;
    if (xhi === 0 && xlo === 0) {
      w.write(0, 1);
      continue;
    }
    w.write(1, 1);
    const lead = Math.min(31, xhi !== 0 ? Math.clz32(xhi) : 32 + Math.clz32(xlo));
    const trail = xlo !== 0 ? ctz32(xlo) : 32 + ctz32(xhi);
    if (leading >= 0 && lead >= leading && trail >= trailing) {
      w.write(0, 1);
      writeShifted(w, xhi, xlo, trailing, 64 - leading - trailing);
      continue;
    }
    leading = lead;
    trailing = trail;
    const significant = 64 - lead - trail;
    w.write(1, 1);
    w.write(lead, 5);
    w.write(significant & 63, 6);
    writeShifted(w, xhi, xlo, trail, significant);
  }
}

function ctz32(x: number): number {
  return 31 - Math.clz32(x & -x);
}

function writeShifted(w: BitWriter, hi: number, lo: number, shift: number, n: number): void {
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
    w.write(h, n - 32);
    w.write(l, 32);
  } else {
    w.write(l, n);
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
  w.write(hi, 32);
  w.write(lo, 32);
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
  w.write(k, 6);
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
    w.write(valuesDecimal, 2);
    writeDecimalValues(w, v, n, k);
    return w.bytes();
  }
  w.reset();
  w.write(valuesXor, 2);
  writeXorValues(w, v, n);
  const xor = w.bytes();
  w.reset();
  w.write(valuesBitDeltas, 2);
  return writeBitDeltas(w, v, n) && w.bitLength < xor.length * 8 ? w.bytes() : xor;
}

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
