import type { Labels } from './labels.js';

/** One float value at a millisecond timestamp. */
export interface Sample {
  readonly t: number;
  readonly v: number;
}

// Prometheus marks a series that disappeared with this exact NaN bit pattern (value.StaleNaN).
const staleBits = new DataView(new ArrayBuffer(8));
staleBits.setUint32(0, 0x7ff00000);
staleBits.setUint32(4, 0x00000002);

/** The staleness marker: a NaN with Prometheus's reserved bit pattern. */
export const STALE_NAN: number = staleBits.getFloat64(0);

/**
 * True when `v` is the staleness marker (an ordinary NaN is not). V8 sets the quiet bit when a NaN is stored in
 * a plain array (0x7ff0…02 becomes 0x7ff8…02), so the quieted pattern counts too; no real value carries it.
 */
export function isStaleNaN(v: number): boolean {
  if (!Number.isNaN(v)) return false;
  bits.setFloat64(0, v);
  const high = bits.getUint32(0);
  return (high === 0x7ff00000 || high === 0x7ff80000) && bits.getUint32(4) === 0x00000002;
}

const bits = new DataView(new ArrayBuffer(8));

/** Why the store refused a sample. */
export type AppendRejection = 'out_of_order' | 'duplicate' | 'invalid_labels';

/** The outcome of appending one sample. */
export type AppendResult = { ok: true } | { ok: false; reason: AppendRejection };

/** Where ingest puts samples: the metrics store's write side. */
export interface SampleAppender {
  /** Appends one sample to the series named by `labels` (which include `__name__`). */
  append(labels: Labels, t: number, v: number): AppendResult;
}
