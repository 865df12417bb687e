import type { Labels } from '../core/index.js';

/** Kinds of query failure, as the Prometheus HTTP API names them. */
export type QueryErrorType = 'bad_data' | 'execution' | 'timeout' | 'canceled';

/** Why a query failed; parse errors carry the position in the query text. */
export interface QueryError {
  readonly errorType: QueryErrorType;
  readonly message: string;
  readonly position?: { line: number; column: number };
}

/** One element of an instant vector result; `t` in milliseconds. */
export interface VectorSample {
  readonly labels: Labels;
  readonly value: number;
  readonly t: number;
}

/** One series of a matrix result; timestamps in milliseconds. */
export interface MatrixSeries {
  readonly labels: Labels;
  readonly points: ReadonlyArray<readonly [t: number, v: number]>;
}

/** A query result in Prometheus's four shapes. */
export type QueryValue =
  | { readonly resultType: 'vector'; readonly result: VectorSample[] }
  | { readonly resultType: 'scalar'; readonly result: readonly [t: number, v: number] }
  | { readonly resultType: 'string'; readonly result: readonly [t: number, v: string] }
  | { readonly resultType: 'matrix'; readonly result: MatrixSeries[] };

/**
 * A query's outcome: a value, with Prometheus's annotations when there are any ("PromQL warning: … (1:5)"),
 * or an error that says what went wrong.
 */
export type QueryOutcome =
  { ok: true; value: QueryValue; warnings?: string[]; infos?: string[] } | { ok: false; error: QueryError };

/** The port through which rules, runbooks and the HTTP API run PromQL, embedded or against a remote Prometheus. */
export interface MetricsQuery {
  /** Evaluates expr at one instant (milliseconds). */
  instant(expr: string, atMs: number): Promise<QueryOutcome>;
  /** Evaluates expr at every step from startMs to endMs (milliseconds). */
  range(expr: string, startMs: number, endMs: number, stepMs: number): Promise<QueryOutcome>;
  /** Names of metrics the expression selects that the store has never seen (for "unknown metric" warnings). */
  unknownMetrics(expr: string): Promise<string[]>;
}
