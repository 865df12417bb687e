import type { Labels } from '../core/index.js';
import type { HeadChunks } from './HeadChunks.js';
import { chunkMetaSize, noChunks } from './SeriesIndex.js';
import type { SeriesIndex, TsdbSeries } from './SeriesIndex.js';
import { decodeAnySamples, decodeHeadChunk, decodeSeries, WalRecordType } from './walRecords.js';
import { decodeXorChunk } from './XorChunk.js';

/** Applies checkpoint and WAL records at open; samples already held (in chunk files) are skipped. */
export class WalReplayer {
  /** Samples whose series was never declared (its record was lost with a damaged segment). */
  unknownRefs = 0;
  /** Refs that name a series already known under another ref (re-created after retention). */
  private readonly aliases = new Map<number, TsdbSeries>();

  constructor(
    private readonly index: SeriesIndex,
    private readonly heads: HeadChunks,
    /** Sealed chunks found in chunk files, by series ref; entries are taken as their series appear. */
    private readonly found: Map<number, number[]>,
    /** Creates and indexes a series under `ref` (canonical labels, a head slot). */
    private readonly addSeries: (ref: number, labels: Labels) => TsdbSeries,
    private readonly appendSample: (series: TsdbSeries, t: number, v: number) => void,
  ) {}

  /** Applies one record's payload; an undecodable one throws (the caller truncates the log there). */
  record(payload: Buffer): void {
    const type = payload[0];
    if (type === WalRecordType.Series) this.series(payload);
    else if (type === WalRecordType.Samples || type === WalRecordType.DeltaSamples) {
      const { refs, ts, vs } = decodeAnySamples(payload);
      for (let i = 0; i < refs.length; i++) this.sample(refs[i] ?? 0, ts[i] ?? 0, vs[i] ?? 0);
    } else if (type === WalRecordType.HeadChunk) {
      const { ref, minT, count, data } = decodeHeadChunk(payload);
      const ts = new Float64Array(count);
      const vs = new Float64Array(count);
      decodeXorChunk(data, count, minT, ts, vs, 0);
      for (let i = 0; i < count; i++) this.sample(ref, ts[i] ?? 0, vs[i] ?? 0);
    } else {
      throw new RangeError(`unknown record type ${String(type)}`);
    }
  }

  private series(payload: Buffer): void {
    const { ref, labels } = decodeSeries(payload);
    if (this.index.byReference(ref) !== undefined) return;
    let series = this.index.get(labels);
    if (series !== undefined) this.aliases.set(ref, series);
    else series = this.addSeries(ref, labels);
    const metas = this.found.get(ref);
    if (metas === undefined) return;
    this.found.delete(ref);
    series.chunks = sortChunkMetas(series.chunks === noChunks ? metas : series.chunks.concat(metas));
    // The last chunk's maxT: replayed samples at or before it are already in the chunk files.
    const lastSealed = series.chunks[series.chunks.length - 2] ?? -Infinity;
    if (lastSealed > this.heads.lastT(series.slot)) this.heads.setLastT(series.slot, lastSealed);
  }

  private sample(ref: number, t: number, v: number): void {
    const series = this.index.byReference(ref) ?? this.aliases.get(ref);
    if (series === undefined) this.unknownRefs++;
    else if (t > this.heads.lastT(series.slot)) this.appendSample(series, t, v);
  }
}

function sortChunkMetas(metas: number[]): number[] {
  const order: number[] = [];
  for (let i = 0; i < metas.length; i += chunkMetaSize) order.push(i);
  order.sort((a, b) => (metas[a + 3] ?? 0) - (metas[b + 3] ?? 0));
  return order.flatMap((i) => metas.slice(i, i + chunkMetaSize));
}
