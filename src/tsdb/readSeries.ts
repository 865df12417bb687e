import type { ChunkFiles } from './ChunkFiles.js';
import { chunkMetaSize } from './SeriesIndex.js';
import type { TsdbSeries } from './SeriesIndex.js';
import type { SeriesData } from './SeriesReader.js';
import { TsdbCorruptionError } from './tsdbErrors.js';
import { decodeXorChunk } from './XorChunk.js';

/**
 * Decodes the sealed chunks (read from disk) and head chunk of one series that overlap [minT, maxT] into
 * fresh typed arrays and returns views narrowed to the range; null when nothing falls inside.
 */
export function readSeries(
  series: TsdbSeries,
  chunks: ChunkFiles,
  minT: number,
  maxT: number,
): SeriesData | null {
  const metas = series.chunks;
  const picked: number[] = [];
  let total = 0;
  for (let i = 0; i < metas.length; i += chunkMetaSize) {
    if ((metas[i + 4] ?? 0) < minT || (metas[i + 3] ?? 0) > maxT) continue;
    picked.push(i);
    total += metas[i + 5] ?? 0;
  }
  const head = series.head;
  const useHead = head !== null && head.maxT >= minT && head.minT <= maxT;
  if (useHead) total += head.count;
  if (total === 0) return null;
  const t = new Float64Array(total);
  const v = new Float64Array(total);
  let at = 0;
  for (const i of picked) {
    const seq = metas[i] ?? 0;
    const offset = metas[i + 1] ?? 0;
    const chunk = chunks.read(seq, offset, metas[i + 2] ?? 0);
    decode(chunk.data, chunk.count, chunk.minT, t, v, at, () => chunks.describe(seq, offset));
    at += chunk.count;
  }
  if (useHead) decode(head.bits.view(), head.count, head.minT, t, v, at, () => 'a head chunk in memory');
  const from = lowerBound(t, minT);
  const to = lowerBound(t, maxT + 1);
  if (to <= from) return null;
  return { labels: series.labels, t: t.subarray(from, to), v: v.subarray(from, to) };
}

// The sample arrays and their write position travel together; `where` is computed only on failure.
function decode(
  data: Uint8Array,
  count: number,
  minT: number,
  t: Float64Array,
  v: Float64Array,
  at: number,
  where: () => string,
): void {
  try {
    decodeXorChunk(data, count, minT, t, v, at);
  } catch (error) {
    throw new TsdbCorruptionError(
      'SWAS-TSDB-103',
      `cannot decode ${where()}: ${String(error)}; the chunk is damaged (restore its file or delete it)`,
      { cause: error },
    );
  }
}

function lowerBound(t: Float64Array, value: number): number {
  let lo = 0;
  let hi = t.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((t[mid] ?? Infinity) < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
