import type { Labels } from '../core/index.js';

/** One sample from an exposition body; `labels` include `__name__`, labels with empty values are dropped. */
export interface ParsedSample {
  readonly labels: Labels;
  readonly value: number;
  /** The sample's own timestamp in milliseconds, when the body gave one. */
  readonly timestampMs?: number;
  /** The series cache's entry for this sample's series text, when parsed with a `seriesCache`. */
  readonly cached?: CachedSeriesText;
}

/** What a series cache remembers of one raw series text (metric name and label block as written). */
export interface CachedSeriesText {
  /** The series text itself. */
  readonly raw: string;
  readonly labels: Labels;
  /** The metric name, `labels.__name__`. */
  readonly name: string;
  /** The parser's order-independent hash of `labels`, for duplicate detection within a body. */
  readonly hash: number;
  /** The entry of the sample line that followed this one in the last body, set by the parser. */
  next: CachedSeriesText | undefined;
  /**
   * false only when no other entry of the cache has this `hash`, so none can have equal labels and the
   * parser checks duplicates by `parsedIn` alone; a cache that does not track hashes says true.
   */
  readonly mayAlias: boolean;
  /** The last parse that had this text, set by the parser. */
  parsedIn: number;
}

/**
 * Lets the parser skip label parsing for series text it parsed before, as Prometheus's scrape cache does:
 * equal text always parses to equal labels, so a hit reuses the labels parsed the first time.
 */
export interface ExpositionSeriesCache {
  /** The entry for exactly this text (metric name through the closing brace), if known. */
  get(raw: string): CachedSeriesText | undefined;
  /** Remembers the labels a text parsed to; returns the entry samples will carry. */
  add(raw: string, labels: Labels, hash: number): CachedSeriesText;
  /** The entry of the first sample line of the last body, set by the parser; the start of the `next` chain. */
  first: CachedSeriesText | undefined;
}

/** Metric types of the Prometheus text format and OpenMetrics. */
export type MetricType =
  | 'counter'
  | 'gauge'
  | 'histogram'
  | 'gaugehistogram'
  | 'summary'
  | 'info'
  | 'stateset'
  | 'unknown'
  | 'untyped';

/** What `# TYPE`, `# HELP` and `# UNIT` lines said about one metric family. */
export interface MetricMetadata {
  readonly type: MetricType;
  readonly help: string;
  readonly unit: string;
}

/** Where and why a body was rejected; `message` starts with `line L, column C:` so it stands on its own. */
export interface ExpositionError {
  readonly line: number;
  readonly column: number;
  readonly message: string;
}

/** `prometheus`: text format 0.0.4 (integer ms timestamps); `openmetrics`: float-second timestamps, exemplars. */
export type ExpositionFormat = 'prometheus' | 'openmetrics';

/** Options for {@link parseExposition}. */
export interface ParseExpositionOptions {
  /** @default 'prometheus' */
  readonly format?: ExpositionFormat;
  /** Longest accepted line, in characters. @default DEFAULT_MAX_LINE_LENGTH */
  readonly maxLineLength?: number;
  /** Series text seen in earlier bodies; samples then carry `cached`. */
  readonly seriesCache?: ExpositionSeriesCache;
  /**
   * With a series cache: where samples go instead of `samples` (which is then empty), one column each.
   * Cleared at the start of the parse.
   */
  readonly columns?: SampleColumnSink;
}

/** Where a parse puts samples column by column (SampleColumns is the one the scrape loop uses). */
export interface SampleColumnSink {
  /** Samples held. */
  readonly length: number;
  /** Each sample's series cache entry, for samples 0 to length - 1. */
  readonly entries: readonly CachedSeriesText[];
  clear(): void;
  push(entry: CachedSeriesText, value: number, timestampMs: number | undefined): void;
  /** Called at the end of a body. */
  trim(): void;
}

/** The outcome of parsing one body. */
export type ExpositionResult =
  | { ok: true; samples: ParsedSample[]; metadata: Map<string, MetricMetadata> }
  | { ok: false; error: ExpositionError };
