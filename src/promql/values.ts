import { labelsKey } from '../core/index.js';
import type { Labels } from '../core/index.js';

/**
 * A series' identity during evaluation. `dropName` defers dropping `__name__` to the end of the query
 * (Prometheus's delayed name removal), so label functions can still read and keep it.
 */
export interface SeriesHead {
  readonly labels: Labels;
  readonly dropName: boolean;
  /** labelsKey(labels), computed once on first use. */
  key?: string;
}

/** The key of a head's labels, cached on the head. */
export function headKey(head: SeriesHead): string {
  head.key ??= labelsKey(head.labels);
  return head.key;
}

/** An instant vector or scalar evaluated over the steps of a range: points at step timestamps. */
export interface StepSeries {
  readonly head: SeriesHead;
  readonly ts: number[];
  readonly vs: number[];
}

/** One element of an instant vector at one step. */
export interface Sample {
  readonly head: SeriesHead;
  readonly v: number;
}

/** An instant vector at one step. */
export type Vector = Sample[];

/** Raw samples of one series for range functions: ascending timestamps, no staleness markers. */
export interface RangeSeries {
  readonly head: SeriesHead;
  readonly t: ArrayLike<number>;
  readonly v: ArrayLike<number>;
}

/** The steps of an evaluation: start, start+step, …, up to end. */
export interface EvalRange {
  readonly start: number;
  readonly end: number;
  readonly step: number;
}

/** Number of steps in a range. */
export function stepCount(range: EvalRange): number {
  return Math.floor((range.end - range.start) / range.step) + 1;
}

/** What evaluating an expression yields. */
export type EvalValue =
  | { readonly kind: 'steps'; readonly series: StepSeries[] }
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'range'; readonly series: RangeSeries[] };

const staleView = new DataView(new ArrayBuffer(8));

/** Fast check for Prometheus's staleness marker, without allocating. */
export function isStaleMarker(v: number): boolean {
  if (v === v) return false;
  staleView.setFloat64(0, v);
  return staleView.getUint32(0) === 0x7ff00000 && staleView.getUint32(4) === 0x00000002;
}
