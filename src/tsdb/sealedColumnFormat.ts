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

export const twoTo32 = 4294967296;
/** Integers of a column stay within ±2^48: deltas, deltas of deltas and zigzag then stay below 2^53. */
export const maxColumnInt = 2 ** 48;
/** Rice quotients from this many ones on are escaped: the ones, 6 bits of length, then the value itself. */
export const riceEscape = 20;
/** Rice parameter meaning "every residual is zero" (no residual bits follow). */
export const allZero = 63;
/** Largest k of a decimal column (values m / 10^k). */
export const maxDecimalDigits = 15;
/** 2^k for Rice parameters: a table, because `2 ** k` in the decoders made them ~3× slower on Node 20. */
export const powersOfTwo = Array.from({ length: 64 }, (_, k) => 2 ** k);
export const powersOfTen = Array.from({ length: maxDecimalDigits + 1 }, (_, k) => 10 ** k);

/** Value column kinds (2 bits). */
export const valuesDecimal = 0;
export const valuesXor = 1;
export const valuesBitDeltas = 2;
/** Bit-pattern deltas beyond this send a chunk to XOR (residuals must stay below 2^53 when zigzagged). */
export const maxBitDelta = 2 ** 50;

export const scratchF64 = new Float64Array(1);
export const scratchHalves = new Uint32Array(scratchF64.buffer);
scratchF64[0] = 1;
export const HI = scratchHalves[1] === 0x3ff00000 ? 1 : 0;
export const LO = 1 - HI;
