/** Counters describing what the TSDB holds. */
export interface TsdbStats {
  readonly series: number;
  readonly headChunks: number;
  readonly headSamples: number;
  readonly sealedChunks: number;
  readonly sealedSamples: number;
  /** Encoded sample bytes in sealed chunks, without per-chunk headers. */
  readonly sealedDataBytes: number;
  readonly chunkFileBytes: number;
  readonly walBytes: number;
  readonly outOfOrderSamples: number;
  readonly duplicateSamples: number;
  readonly invalidLabelSamples: number;
}

/** What a retention pass removed. */
export interface RetentionResult {
  readonly filesDeleted: number;
  readonly bytesDeleted: number;
  readonly seriesRemoved: number;
}

/** Rounds a sample timestamp to whole milliseconds; a non-finite one is a caller bug. */
export function roundTimestamp(timestamp: number): number {
  if (!Number.isFinite(timestamp)) {
    throw new RangeError(`sample timestamp must be a finite number of milliseconds, got ${timestamp}`);
  }
  return Math.round(timestamp);
}
