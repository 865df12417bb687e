import type { Registry } from 'prom-client';
import type { AppendRejection, Labels, SampleAppender } from '../core/index.js';
import type { MetricMetadata } from './exposition.js';
import type { ScrapeCache, TargetSeries } from './scrapeCache.js';
import type { ScrapeTarget, TargetHealth, TargetStatus } from './scrapeTarget.js';

/** The slice of a pino logger the scrape manager uses. */
export interface ScrapeLogger {
  warn(obj: object, msg: string): void;
  debug?(obj: object, msg: string): void;
  /** As pino's: lets the manager skip building debug entries nobody will see. */
  isLevelEnabled?(level: string): boolean;
}

/** Options for {@link ScrapeManager.create}. */
export interface ScrapeManagerOptions {
  readonly appender: SampleAppender;
  /** The clock for sample timestamps and scheduling. @default Date.now */
  readonly now?: () => number;
  readonly logger?: ScrapeLogger;
  /**
   * Scrapes that start within this many milliseconds (at most 1% of the interval) of their scheduled
   * time are stored at that time, as Prometheus's `--scrape.timestamp-tolerance`; 0 turns it off.
   * @default 2
   */
  readonly timestampToleranceMs?: number;
  /** Where the `swas_scrape_*_limit_exceeded_total` counters are registered; none when absent. */
  readonly registry?: Registry;
}

/** Error code for a target that cannot be scraped as configured. */
export const INVALID_TARGET_CODE = 'SWAS-INGEST-001';

/** The series swas adds for every scrape, as Prometheus does. */
export const SCRAPE_REPORT_SERIES = [
  'up',
  'scrape_duration_seconds',
  'scrape_samples_scraped',
  'scrape_series_added',
] as const;

/**
 * A list of series kept from scrape to scrape and refilled, rather than a fresh array per scrape: that array
 * (thousands of entries) lived until the next scrape, so the GC copied it into the old generation each time.
 */
export class SeriesList {
  private items: TargetSeries[] = [];
  length = 0;

  push(series: TargetSeries): void {
    this.items[this.length++] = series;
  }

  at(index: number): TargetSeries {
    return this.items[index] as TargetSeries;
  }

  /** Empties the list, keeping its storage unless it has become much larger than what it held. */
  clear(): void {
    // Entries past `length` still reference series; a list that shrank a lot lets go of them.
    if (this.items.length > 2 * this.length + 1024) this.items = [];
    this.length = 0;
  }
}

/** What the scrape manager keeps per target between scrapes. */
export interface TargetState {
  target: ScrapeTarget;
  readonly identity: string;
  readonly labels: Labels;
  /** up, scrape_duration_seconds, scrape_samples_scraped, scrape_series_added of this target. */
  readonly reportSeries: readonly TargetSeries[];
  health: TargetHealth;
  lastError: string | null;
  lastScrapeMs: number | null;
  lastDurationMs: number | null;
  samplesScraped: number;
  readonly rejected: Record<AppendRejection, number>;
  /** Series text → stored series, so known series skip label work. */
  readonly cache: ScrapeCache;
  /** The cache's number of the last successful scrape (0: none since the last failure), to count new series. */
  lastOkScrape: number;
  /** The series of the last successful scrape that get a staleness marker when they disappear. */
  staleCandidates: SeriesList;
  /** The list the next successful scrape fills (the one before last, emptied), swapped with staleCandidates. */
  spareStale: SeriesList;
  /** HELP/TYPE/UNIT of the last successful scrape, for /api/v1/metadata. */
  metadata: ReadonlyMap<string, MetricMetadata>;
  inFlight: Promise<unknown> | null;
  /** true while `setTargets` wants this target scraped on its interval. */
  looped: boolean;
  timer: NodeJS.Timeout | null;
  nextTickMs: number | null;
}

/** The public view of a target's state. */
export function statusOf(state: TargetState): TargetStatus {
  return {
    job: state.target.job,
    url: state.target.url,
    labels: state.labels,
    health: state.health,
    lastError: state.lastError,
    lastScrapeMs: state.lastScrapeMs,
    lastDurationMs: state.lastDurationMs,
    samplesScraped: state.samplesScraped,
    rejectedSamples: {
      outOfOrder: state.rejected.out_of_order,
      duplicate: state.rejected.duplicate,
      invalidLabels: state.rejected.invalid_labels,
    },
  };
}
