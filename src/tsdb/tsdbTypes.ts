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

/** Adds up what two retention passes removed. */
export function addRetention(a: RetentionResult, b: RetentionResult): RetentionResult {
  return {
    filesDeleted: a.filesDeleted + b.filesDeleted,
    bytesDeleted: a.bytesDeleted + b.bytesDeleted,
    seriesRemoved: a.seriesRemoved + b.seriesRemoved,
  };
}

/** Runs async tasks one at a time in call order; a failed task does not stop the ones after it. */
export class SerialQueue {
  private tail: Promise<void> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task);
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}

/** A retention pass that removed nothing. */
export const NONE_DROPPED: RetentionResult = Object.freeze({
  filesDeleted: 0,
  bytesDeleted: 0,
  seriesRemoved: 0,
});

/** Chunk record bytes that are not sample data (record and payload headers). */
export const CHUNK_OVERHEAD_BYTES = 32;
