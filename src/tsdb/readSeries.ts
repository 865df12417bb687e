import type { ChunkFiles, StoredChunk } from './ChunkFiles.js';
import type { HeadChunks } from './HeadChunks.js';
import { decodeColumnarRange } from './sealedColumnDecode.js';
import { chunkMetaSize } from './SeriesIndex.js';
import type { TsdbSeries } from './SeriesIndex.js';
import type { SeriesData } from './SeriesReader.js';
import { TsdbCorruptionError } from './tsdbErrors.js';
import { decodeXorRange } from './XorChunk.js';
import type { SampleSink } from './XorChunk.js';

/** Samples per shared output buffer: big enough that a query makes few allocations, small enough to free. */
const slabSamples = 1 << 19;

/** Output arrays shared by many series of one select(); each series gets views of its part. */
export class Slab implements SampleSink {
  readonly t: Float64Array;
  readonly v: Float64Array;
  readonly bits: Int32Array;
  used = 0;
  constructor(readonly capacity: number) {
    this.t = new Float64Array(capacity);
    this.v = new Float64Array(capacity);
    this.bits = new Int32Array(this.v.buffer);
  }
}

/**
 * Decodes the samples in [minT, maxT] of each series (sealed chunks read through `chunks`, then the head
 * chunk) into a few shared typed arrays and returns views of them, in the order given; series with nothing
 * in range are left out. Chunks outside the range are not read, and decoding stops at maxT.
 */
export function readSeriesBatch(
  found: readonly TsdbSeries[],
  chunks: ChunkFiles,
  heads: HeadChunks,
  minT: number,
  maxT: number,
  slabs: SlabSource = freshSlab,
): SeriesData[] {
  const out: SeriesData[] = [];
  let slab: Slab | null = null;
  for (const series of found) {
    const bound = samplesBound(series, heads, minT, maxT);
    if (bound === 0) continue;
    if (slab === null || slab.capacity - slab.used < bound) slab = slabs(Math.max(bound, slabSamples));
    const from = slab.used;
    const to = decodeSeries(series, chunks, heads, minT, maxT, slab, from);
    if (to === from) continue;
    slab.used = to;
    out.push({ labels: series.labels, t: slab.t.subarray(from, to), v: slab.v.subarray(from, to) });
  }
  return out;
}

/** Hands out a slab with room for at least `capacity` samples and nothing used. */
export type SlabSource = (capacity: number) => Slab;

const freshSlab: SlabSource = (capacity) => new Slab(capacity);

/**
 * Slabs lent to reads inside a scope and taken back when it ends. Each query decodes tens of MB of samples;
 * fresh typed arrays for every query are memory outside V8's heap, and that much of it makes V8 run full
 * garbage collections over the whole store. Reuse is safe only where nothing keeps the arrays past the
 * scope, which the caller of SeriesReader.readScope() promises.
 */
export class SlabPool {
  private readonly free: Slab[] = [];
  private readonly lent: Slab[] = [];
  private depth = 0;

  constructor(private readonly keepSamples: number) {}

  /** Runs fn with reads drawing on the pool; their arrays are reused once the outermost scope ends. */
  scope<T>(fn: () => T): T {
    this.depth++;
    try {
      return fn();
    } finally {
      if (--this.depth === 0) this.reclaim();
    }
  }

  /** The slab source for a read now: pooled inside a scope, fresh outside. */
  source(): SlabSource {
    return this.depth > 0 ? this.take : freshSlab;
  }

  private readonly take = (capacity: number): Slab => {
    const index = this.free.findIndex((s) => s.capacity >= capacity);
    const slab = index >= 0 ? (this.free.splice(index, 1)[0] ?? new Slab(capacity)) : new Slab(capacity);
    slab.used = 0;
    this.lent.push(slab);
    return slab;
  };

  private reclaim(): void {
    let kept = this.free.reduce((n, s) => n + s.capacity, 0);
    for (const slab of this.lent) {
      if (kept + slab.capacity > this.keepSamples) continue;
      this.free.push(slab);
      kept += slab.capacity;
    }
    this.lent.length = 0;
  }
}

/** At most how many samples of the series fall in [minT, maxT] (whole chunks that overlap it). */
function samplesBound(series: TsdbSeries, heads: HeadChunks, minT: number, maxT: number): number {
  const metas = series.chunks;
  let total = 0;
  for (let i = 0; i < metas.length; i += chunkMetaSize) {
    if ((metas[i + 4] ?? 0) < minT || (metas[i + 3] ?? 0) > maxT) continue;
    total += metas[i + 5] ?? 0;
  }
  if (headInRange(heads, series.slot, minT, maxT)) total += heads.count(series.slot);
  return total;
}

/** Decodes one series' samples in range into the slab from `at`; returns the index after the last one. */
function decodeSeries(
  series: TsdbSeries,
  chunks: ChunkFiles,
  heads: HeadChunks,
  minT: number,
  maxT: number,
  slab: Slab,
  at: number,
): number {
  const metas = series.chunks;
  let end = at;
  for (let i = 0; i < metas.length; i += chunkMetaSize) {
    if ((metas[i + 4] ?? 0) < minT || (metas[i + 3] ?? 0) > maxT) continue;
    const seq = metas[i] ?? 0;
    const offset = metas[i + 1] ?? 0;
    const chunk = chunks.read(seq, offset, metas[i + 2] ?? 0);
    end += decodeStored(chunk, minT, maxT, slab, end, () => chunks.describe(seq, offset));
  }
  const slot = series.slot;
  if (headInRange(heads, slot, minT, maxT)) {
    const where = (): string => 'a head chunk in memory';
    end += decode(heads.view(slot), heads.count(slot), heads.minT(slot), minT, maxT, slab, end, where);
  }
  return end;
}

function headInRange(heads: HeadChunks, slot: number, minT: number, maxT: number): boolean {
  return heads.count(slot) > 0 && heads.maxT(slot) >= minT && heads.minT(slot) <= maxT;
}

function decodeStored(
  chunk: StoredChunk,
  minT: number,
  maxT: number,
  slab: Slab,
  at: number,
  where: () => string,
): number {
  if (chunk.codec === 'xor') return decode(chunk.data, chunk.count, chunk.minT, minT, maxT, slab, at, where);
  try {
    return decodeColumnarRange(chunk.times, chunk.values, chunk.count, minT, maxT, slab, at);
  } catch (error) {
    throw damaged(where, error);
  }
}

function damaged(where: () => string, error: unknown): TsdbCorruptionError {
  return new TsdbCorruptionError(
    'SWAS-TSDB-103',
    `cannot decode ${where()}: ${String(error)}; the chunk is damaged (restore its file or delete it)`,
    { cause: error },
  );
}

// `where` is computed only on failure.
function decode(
  data: Uint8Array,
  count: number,
  chunkMinT: number,
  minT: number,
  maxT: number,
  sink: SampleSink,
  at: number,
  where: () => string,
): number {
  try {
    return decodeXorRange(data, count, chunkMinT, minT, maxT, sink, at);
  } catch (error) {
    throw damaged(where, error);
  }
}
