import type { Labels } from '../core/index.js';

/** How a label matcher compares a label's value: equality, inequality, or a fully anchored regular expression. */
export type MatchType = '=' | '!=' | '=~' | '!~';

/** One label constraint of a selector, e.g. `job=~"api|web"`; a missing label has the value "". */
export interface LabelMatcher {
  readonly name: string;
  readonly type: MatchType;
  readonly value: string;
}

/** The samples of one series within a time range, as views (no copies) over the store's arrays. */
export interface SeriesData {
  readonly labels: Labels;
  /** Sample timestamps in milliseconds, ascending. */
  readonly t: Float64Array;
  /** Sample values; a staleness marker (STALE_NAN) is stored like any sample. */
  readonly v: Float64Array;
}

/** The read side of a metrics store: what the PromQL evaluator and the metadata API need. */
export interface SeriesReader {
  /** Series matching every matcher that have at least one sample in [minT, maxT], sorted by labels. */
  select(matchers: readonly LabelMatcher[], minT: number, maxT: number): SeriesData[];
  /** Label names in use, sorted; only those of matching series when matchers are given. */
  labelNames(matchers?: readonly LabelMatcher[]): string[];
  /** Values of one label, sorted; only those of matching series when matchers are given. */
  labelValues(name: string, matchers?: readonly LabelMatcher[]): string[];
  /** Number of series currently held. */
  seriesCount(): number;
  /** True when the store holds, or has held since it started, a series with this metric name. */
  hasMetric(name: string): boolean;
  /**
   * Runs fn, promising that no array select() returns inside it is used after fn returns, so the store may
   * reuse their memory (a query evaluation). Optional: stores without it just run fn.
   */
  readScope?<T>(fn: () => T): T;
}
