import { formatSeries, labelsKey, METRIC_NAME_LABEL, type Labels } from '../core/index.js';
import { assignLabel } from '../core/index.js';
import { isValidLabelName } from './expositionTokens.js';

/** One thing to scrape, with its own interval, limits and label policy. */
export interface ScrapeTarget {
  readonly job: string;
  /** Full URL including scheme, host:port and metrics path. */
  readonly url: string;
  /** Target labels; `job` and `instance` (host:port) are added unless present. */
  readonly labels: Labels;
  /** Time between scrapes; at least 1000. */
  readonly intervalMs: number;
  /** Abort a scrape after this long; at most `intervalMs`. */
  readonly timeoutMs: number;
  /** Most samples one scrape may return, else the scrape fails; 0 = no limit. */
  readonly sampleLimit: number;
  /** Largest (uncompressed) body one scrape may return, else the scrape fails; 0 = no limit. */
  readonly bodyLimitBytes: number;
  /**
   * Most labels one stored series may have, counting `__name__` and the target's labels, else the scrape
   * fails; 0 or absent = no limit. Like the two limits below, checked on the labels as stored.
   */
  readonly labelLimit?: number;
  /** Longest label name, in UTF-8 bytes, else the scrape fails; 0 or absent = no limit. */
  readonly labelNameLengthLimit?: number;
  /** Longest label value, in UTF-8 bytes, else the scrape fails; 0 or absent = no limit. */
  readonly labelValueLengthLimit?: number;
  /** false: scraped labels that clash with target labels become `exported_<name>`; true: scraped labels win. */
  readonly honorLabels: boolean;
  /**
   * `metric_relabel_configs`: maps each scraped series' final labels before it is stored; null drops it.
   * The `up` and `scrape_*` series do not pass through it.
   */
  readonly metricRelabel?: (labels: Labels) => Labels | null;
}

/** A target's health after its last scrape; `unknown` until the first one. */
export type TargetHealth = 'unknown' | 'up' | 'down';

/** Samples the appender refused for one target, by reason, since the target was added. */
export interface RejectedSampleCounts {
  readonly outOfOrder: number;
  readonly duplicate: number;
  readonly invalidLabels: number;
}

/** What the last scrape of a target found. */
export interface TargetStatus {
  readonly job: string;
  readonly url: string;
  /** The labels put on every scraped series, including `job` and `instance`. */
  readonly labels: Labels;
  readonly health: TargetHealth;
  /** Why the last scrape failed, e.g. `line 12, column 5: …` or `connect ECONNREFUSED …`; null when it worked. */
  readonly lastError: string | null;
  readonly lastScrapeMs: number | null;
  readonly lastDurationMs: number | null;
  readonly samplesScraped: number;
  readonly rejectedSamples: RejectedSampleCounts;
}

/** The shortest scrape interval swas accepts. */
export const MIN_SCRAPE_INTERVAL_MS = 1000;

/** Describes what is wrong with a target, or null when it can be scraped. */
export function targetProblem(target: ScrapeTarget): string | null {
  let url: URL;
  try {
    url = new URL(target.url);
  } catch {
    return `url "${target.url}" is not a valid URL; expected e.g. http://host:9100/metrics`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return `url "${target.url}" uses ${url.protocol}; expected http: or https:`;
  }
  if (target.job === '') return 'job is empty; expected a job name';
  if (!Number.isFinite(target.intervalMs) || target.intervalMs < MIN_SCRAPE_INTERVAL_MS) {
    return `intervalMs ${target.intervalMs} is too short; expected at least ${MIN_SCRAPE_INTERVAL_MS}`;
  }
  if (!Number.isFinite(target.timeoutMs) || target.timeoutMs <= 0 || target.timeoutMs > target.intervalMs) {
    return `timeoutMs ${target.timeoutMs} must be above 0 and at most intervalMs ${target.intervalMs}`;
  }
  if (!Number.isInteger(target.sampleLimit) || target.sampleLimit < 0) {
    return `sampleLimit ${target.sampleLimit} must be a whole number, 0 for no limit`;
  }
  if (!Number.isInteger(target.bodyLimitBytes) || target.bodyLimitBytes < 0) {
    return `bodyLimitBytes ${target.bodyLimitBytes} must be a whole number, 0 for no limit`;
  }
  for (const field of ['labelLimit', 'labelNameLengthLimit', 'labelValueLengthLimit'] as const) {
    const limit = target[field] ?? 0;
    if (!Number.isInteger(limit) || limit < 0)
      return `${field} ${limit} must be a whole number, 0 for no limit`;
  }
  for (const name of Object.keys(target.labels)) {
    if (name === METRIC_NAME_LABEL || !isValidLabelName(name)) {
      return `target label "${name}" is not a valid label name; expected [a-zA-Z_][a-zA-Z0-9_]* other than __name__`;
    }
  }
  return null;
}

/** The labels every series of a target gets: its own, plus `job` and `instance` unless given. */
export function finalTargetLabels(target: ScrapeTarget): Labels {
  const url = new URL(target.url);
  const defaultPort = url.protocol === 'https:' ? '443' : '80';
  const labels: Record<string, string> = {
    job: target.job,
    instance: `${url.hostname}:${url.port === '' ? defaultPort : url.port}`,
  };
  for (const [name, value] of Object.entries(target.labels))
    if (value !== '') assignLabel(labels, name, value);
  return labels;
}

/** Which target a scrape is for: job, URL and labels; interval and limits can change under the same identity. */
export function targetIdentity(target: ScrapeTarget): string {
  return `${target.job}\u0000${target.url}\u0000${labelsKey(target.labels)}`;
}

/** A short name for a target in logs and errors. */
export function describeTarget(target: ScrapeTarget): string {
  return `${target.url} (job "${target.job}"${Object.keys(target.labels).length > 0 ? `, ${formatSeries(target.labels)}` : ''})`;
}

/**
 * A stable offset within the interval for a target, so targets spread over the interval instead of all
 * scraping at once, and a target keeps its slot across restarts.
 */
export function scrapeOffsetMs(identity: string, intervalMs: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < identity.length; i++) hash = Math.imul(hash ^ identity.charCodeAt(i), 0x01000193);
  return (hash >>> 0) % intervalMs;
}

/** The first time at or after `nowMs` on the grid `offsetMs + k * intervalMs`. */
export function firstGridTick(nowMs: number, intervalMs: number, offsetMs: number): number {
  const sinceOffset = nowMs - offsetMs;
  const k = Math.ceil(sinceOffset / intervalMs);
  return offsetMs + k * intervalMs;
}

/**
 * The tick after `previousTick` that is still in the future, skipping ticks a slow scrape overran;
 * computed from the grid, never from "now + interval", so scrape times do not drift.
 */
export function nextGridTick(previousTick: number, nowMs: number, intervalMs: number): number {
  const next = previousTick + intervalMs;
  if (next > nowMs) return next;
  return next + Math.ceil((nowMs - next + 1) / intervalMs) * intervalMs;
}

/** The default of {@link alignedScrapeTime}'s tolerance, as Prometheus's `--scrape.timestamp-tolerance`. */
export const DEFAULT_TIMESTAMP_TOLERANCE_MS = 2;

/**
 * The timestamp of a scheduled scrape, as Prometheus's scrape timestamp alignment does: a scrape that
 * starts within the tolerance (at most 1% of the interval) of its grid tick is stored at the tick, so
 * series get exactly equal intervals and delta-of-delta 0 in the store. Unlike Prometheus, a timer that
 * fired a little early is aligned too, since Node's timers can run up to a millisecond before time.
 */
export function alignedScrapeTime(
  nowMs: number,
  tickMs: number,
  intervalMs: number,
  toleranceMs: number,
): number {
  const tolerance = Math.min(intervalMs / 100, toleranceMs);
  return Math.abs(nowMs - tickMs) <= tolerance ? tickMs : nowMs;
}
