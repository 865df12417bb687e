import {
  compareStrings,
  errorMessage,
  InputError,
  METRIC_NAME_LABEL,
  STALE_NAN,
  type AppendRejection,
  type SampleAppender,
} from '../core/index.js';
import type { CachedSeriesText, MetricMetadata, ParsedSample } from './exposition.js';
import type { SampleColumns } from './sampleColumns.js';
import { scrapeLimitCounters, type ScrapeLimitCounters } from './scrapeLimitCounters.js';
import {
  appendByRef,
  isRefAppender,
  ScrapeCache,
  scrapeWithCache,
  type RefAppender,
  type TargetSeries,
} from './scrapeCache.js';
import {
  INVALID_TARGET_CODE,
  SCRAPE_REPORT_SERIES,
  SeriesList,
  statusOf,
  type ScrapeLogger,
  type ScrapeManagerOptions,
  type TargetState,
} from './scrapeState.js';
import {
  alignedScrapeTime,
  DEFAULT_TIMESTAMP_TOLERANCE_MS,
  describeTarget,
  finalTargetLabels,
  firstGridTick,
  nextGridTick,
  scrapeOffsetMs,
  targetIdentity,
  targetProblem,
  type ScrapeTarget,
  type TargetStatus,
} from './scrapeTarget.js';

const silentLogger: ScrapeLogger = { warn: () => undefined };

/** Scrapes targets on their intervals and appends what they return, with Prometheus's staleness rules. */
export class ScrapeManager {
  private readonly states = new Map<string, TargetState>();
  private readonly retiring = new Set<Promise<void>>();
  private running = false;
  private readonly refStore: RefAppender | null;
  private readonly appender: SampleAppender;
  private readonly now: () => number;
  private readonly logger: ScrapeLogger;
  private readonly timestampToleranceMs: number;
  private readonly limitCounters: ScrapeLimitCounters;

  private constructor(options: ScrapeManagerOptions) {
    this.appender = options.appender;
    this.now = options.now ?? Date.now;
    this.logger = options.logger ?? silentLogger;
    this.timestampToleranceMs = options.timestampToleranceMs ?? DEFAULT_TIMESTAMP_TOLERANCE_MS;
    this.refStore = isRefAppender(this.appender) ? this.appender : null;
    this.limitCounters = scrapeLimitCounters(options.registry);
  }

  /** Creates a stopped manager with no targets. */
  static create(options: ScrapeManagerOptions): ScrapeManager {
    if (
      options.timestampToleranceMs !== undefined &&
      !(Number.isFinite(options.timestampToleranceMs) && options.timestampToleranceMs >= 0)
    ) {
      throw new InputError(
        INVALID_TARGET_CODE,
        `timestampToleranceMs ${options.timestampToleranceMs} must be 0 or more milliseconds`,
      );
    }
    return new ScrapeManager(options);
  }

  /**
   * Replaces the target set. Unchanged targets keep their loop and schedule; removed ones get staleness
   * markers once; invalid input throws {@link InputError} before anything changes.
   */
  setTargets(targets: readonly ScrapeTarget[]): void {
    const desired = new Map<string, ScrapeTarget>();
    targets.forEach((target, index) => {
      const problem = targetProblem(target);
      if (problem !== null) {
        throw new InputError(
          INVALID_TARGET_CODE,
          `scrape target ${index + 1} of ${targets.length}, ${describeTarget(target)}: ${problem}`,
        );
      }
      const identity = targetIdentity(target);
      if (desired.has(identity)) {
        this.logger.warn({ target: describeTarget(target) }, 'duplicate scrape target ignored');
      } else {
        desired.set(identity, target);
      }
    });
    for (const [identity, state] of this.states) if (!desired.has(identity)) this.retire(state);
    for (const [identity, target] of desired) this.adopt(identity, target);
  }

  /** Starts the scrape loops. */
  start(): void {
    if (this.running) return;
    this.running = true;
    for (const state of this.states.values()) if (state.timer === null) this.schedule(state);
  }

  /** Stops the loops and waits for scrapes and staleness writes already under way. */
  async stop(): Promise<void> {
    this.running = false;
    for (const state of this.states.values()) this.clearTimer(state);
    const pending = [...this.states.values()].map((s) => s.inFlight);
    await Promise.allSettled([...pending, ...this.retiring]);
  }

  /** The last scrape of every target, ordered by job and URL. */
  status(): TargetStatus[] {
    return [...this.states.values()]
      .sort(
        (a, b) => compareStrings(a.target.job, b.target.job) || compareStrings(a.target.url, b.target.url),
      )
      .map((state) => statusOf(state));
  }

  /**
   * The HELP/TYPE/UNIT metadata of every target's last successful scrape, by metric family name, with
   * identical entries from several targets kept once.
   */
  metadata(): Map<string, MetricMetadata[]> {
    const byMetric = new Map<string, Map<string, MetricMetadata>>();
    for (const state of this.states.values()) {
      for (const [metric, entry] of state.metadata) {
        const entries = byMetric.get(metric) ?? new Map<string, MetricMetadata>();
        entries.set(`${entry.type}\u0000${entry.help}\u0000${entry.unit}`, entry);
        byMetric.set(metric, entries);
      }
    }
    return new Map([...byMetric].map(([metric, entries]) => [metric, [...entries.values()]]));
  }

  /** Scrapes a target now, after any scrape of it already running; a target not yet known is added. */
  async scrapeOnce(target: ScrapeTarget): Promise<TargetStatus> {
    const problem = targetProblem(target);
    if (problem !== null) {
      throw new InputError(INVALID_TARGET_CODE, `cannot scrape ${describeTarget(target)}: ${problem}`);
    }
    const identity = targetIdentity(target);
    const state = this.states.get(identity) ?? this.addState(identity, target);
    return this.runSerialized(state, target, null);
  }

  private addState(identity: string, target: ScrapeTarget): TargetState {
    const labels = finalTargetLabels(target);
    const state: TargetState = {
      target,
      identity,
      labels,
      reportSeries: SCRAPE_REPORT_SERIES.map((name) => ({
        labels: { ...labels, [METRIC_NAME_LABEL]: name },
        ref: null,
        seenScrape: -1,
        staleScrape: -1,
      })),
      health: 'unknown',
      lastError: null,
      lastScrapeMs: null,
      lastDurationMs: null,
      samplesScraped: 0,
      rejected: { out_of_order: 0, duplicate: 0, invalid_labels: 0 },
      cache: new ScrapeCache(labels),
      lastOkScrape: 0,
      staleCandidates: new SeriesList(),
      spareStale: new SeriesList(),
      metadata: new Map(),
      inFlight: null,
      looped: false,
      timer: null,
      nextTickMs: null,
    };
    this.states.set(identity, state);
    return state;
  }

  private adopt(identity: string, target: ScrapeTarget): void {
    const existing = this.states.get(identity);
    const state = existing ?? this.addState(identity, target);
    const intervalChanged = existing !== undefined && existing.target.intervalMs !== target.intervalMs;
    state.target = target;
    const wasLooped = state.looped;
    state.looped = true;
    if (!wasLooped || intervalChanged) {
      this.clearTimer(state);
      state.nextTickMs = null;
      this.schedule(state);
    }
  }

  /** Forgets a target; once its last scrape is done, its series get a staleness marker. */
  private retire(state: TargetState): void {
    state.looped = false;
    this.clearTimer(state);
    this.states.delete(state.identity);
    const done = (state.inFlight ?? Promise.resolve())
      .catch(() => undefined)
      .then(() => this.writeEndOfRunStaleness(state))
      .catch((error: unknown) => {
        this.logger.warn(
          { target: describeTarget(state.target), err: errorMessage(error) },
          'staleness write failed',
        );
      });
    this.retiring.add(done);
    void done.finally(() => this.retiring.delete(done));
  }

  private writeEndOfRunStaleness(state: TargetState): void {
    if (state.lastScrapeMs === null) return;
    // After the last scrape's timestamp, or the store would reject the markers as duplicates.
    const t = Math.max(this.now(), state.lastScrapeMs + 1);
    this.markAllStale(state, t);
    for (const series of state.reportSeries) this.appendSeries(state, series, t, STALE_NAN);
  }

  private schedule(state: TargetState): void {
    if (!this.running || !state.looped) return;
    // A restart while a loop scrape is still finishing would otherwise leave two timers for one target.
    this.clearTimer(state);
    const now = this.now();
    const interval = state.target.intervalMs;
    const tick =
      state.nextTickMs === null
        ? firstGridTick(now, interval, scrapeOffsetMs(state.identity, interval))
        : nextGridTick(state.nextTickMs, now, interval);
    state.nextTickMs = tick;
    state.timer = setTimeout(() => this.onTick(state), Math.max(0, tick - now));
  }

  private onTick(state: TargetState): void {
    state.timer = null;
    if (!this.running || !state.looped) return;
    this.runSerialized(state, state.target, state.nextTickMs).then(
      () => this.schedule(state),
      (error: unknown) => {
        this.logger.warn(
          { target: describeTarget(state.target), err: errorMessage(error) },
          'scrape loop error',
        );
        this.schedule(state);
      },
    );
  }

  private clearTimer(state: TargetState): void {
    if (state.timer !== null) clearTimeout(state.timer);
    state.timer = null;
  }

  /** Runs one scrape after the one in flight, so a manual scrape and the loop never interleave appends. */
  private runSerialized(
    state: TargetState,
    target: ScrapeTarget,
    tickMs: number | null,
  ): Promise<TargetStatus> {
    const previous = state.inFlight;
    const run = (async () => {
      if (previous !== null) await previous.catch(() => undefined);
      return this.scrape(state, target, tickMs);
    })();
    state.inFlight = run;
    const clear = (): void => {
      if (state.inFlight === run) state.inFlight = null;
    };
    run.then(clear, clear);
    return run;
  }

  /** The time a scrape's samples get: its grid tick when it started close enough to it, else now. */
  private scrapeTime(state: TargetState, target: ScrapeTarget, tickMs: number | null): number {
    const now = this.now();
    // Never at or before the last scrape (e.g. a manual one just before the tick): the store would refuse it.
    if (tickMs === null || (state.lastScrapeMs !== null && tickMs <= state.lastScrapeMs)) return now;
    return alignedScrapeTime(now, tickMs, target.intervalMs, this.timestampToleranceMs);
  }

  private async scrape(
    state: TargetState,
    target: ScrapeTarget,
    tickMs: number | null,
  ): Promise<TargetStatus> {
    const timestampMs = this.scrapeTime(state, target, tickMs);
    const started = performance.now();
    const outcome = await scrapeWithCache(target, state.cache);
    const durationMs = performance.now() - started;
    const rejectedBefore = { ...state.rejected };
    let error = outcome.ok ? null : outcome.error;
    let limit = outcome.ok ? undefined : outcome.limit;
    let scraped = outcome.ok ? outcome.count : 0;
    let added = 0;
    try {
      // As in Prometheus, one series over a label limit fails the whole scrape before anything is stored.
      const labelProblem = outcome.ok
        ? state.cache.labelLimitProblem(outcome.samples, outcome.columns)
        : null;
      if (labelProblem !== null) {
        error = labelProblem;
        limit = 'label';
        scraped = 0;
        this.markAllStale(state, timestampMs);
      } else if (outcome.ok) added = this.recordSamples(state, timestampMs, outcome);
      else this.markAllStale(state, timestampMs);
      this.appendReport(state, timestampMs, error === null ? 1 : 0, durationMs, scraped, added);
    } catch (appendError) {
      error = `storing samples failed: ${errorMessage(appendError)}`;
    }
    if (limit !== undefined) this.limitCounters[limit].inc({ job: target.job });
    this.logOutcome(state, error, rejectedBefore, durationMs);
    state.health = error === null ? 'up' : 'down';
    state.lastError = error;
    state.lastScrapeMs = timestampMs;
    state.lastDurationMs = durationMs;
    state.samplesScraped = scraped;
    // Like Prometheus's scrape cache, metadata survives a failed scrape until the target goes away.
    if (outcome.ok && limit === undefined) state.metadata = outcome.metadata;
    return statusOf(state);
  }

  /** Appends a successful scrape's samples and stales the series it no longer has; returns how many are new. */
  private recordSamples(
    state: TargetState,
    t: number,
    outcome: { samples: ParsedSample[]; columns?: SampleColumns; count: number },
  ): number {
    const cache = state.cache;
    const scrape = cache.scrape;
    const staleCandidates = state.spareStale;
    staleCandidates.clear();
    let added = 0;
    const columns = outcome.columns;
    if (columns !== undefined) {
      const { entries, values, timestamps } = columns;
      for (let i = 0; i < columns.length; i++) {
        const series = cache.seriesOfEntry(entries[i] as CachedSeriesText);
        if (series === null) continue;
        const own = timestamps[i] ?? Number.NaN;
        const value = values[i] ?? 0;
        added += this.recordSample(
          state,
          series,
          scrape,
          Number.isNaN(own) ? undefined : own,
          t,
          value,
          staleCandidates,
        );
      }
    }
    for (const sample of outcome.samples) {
      const series = cache.seriesOf(sample);
      if (series === null) continue;
      added += this.recordSample(state, series, scrape, sample.timestampMs, t, sample.value, staleCandidates);
    }
    const previous = state.staleCandidates;
    for (let i = 0; i < previous.length; i++) {
      const series = previous.at(i);
      if (series.staleScrape !== scrape) this.appendSeries(state, series, t, STALE_NAN);
    }
    state.lastOkScrape = scrape;
    state.spareStale = previous;
    state.staleCandidates = staleCandidates;
    cache.prune(outcome.count);
    return added;
  }

  /** Appends one scraped sample of `series`; returns 1 when the series is new since the last good scrape. */
  private recordSample(
    state: TargetState,
    series: TargetSeries,
    scrape: number,
    timestampMs: number | undefined,
    t: number,
    value: number,
    staleCandidates: SeriesList,
  ): number {
    // Two scraped series can become one after merging target labels; the second would overwrite the first.
    if (series.seenScrape === scrape) {
      state.rejected.duplicate++;
      return 0;
    }
    const added = series.seenScrape !== state.lastOkScrape ? 1 : 0;
    series.seenScrape = scrape;
    // Like Prometheus, samples with their own timestamp are not tracked for staleness.
    if (timestampMs === undefined) {
      series.staleScrape = scrape;
      staleCandidates.push(series);
    }
    this.appendSeries(state, series, timestampMs ?? t, value);
    return added;
  }

  private markAllStale(state: TargetState, t: number): void {
    const candidates = state.staleCandidates;
    for (let i = 0; i < candidates.length; i++) this.appendSeries(state, candidates.at(i), t, STALE_NAN);
    candidates.clear();
    state.lastOkScrape = 0;
  }

  private appendReport(
    state: TargetState,
    t: number,
    up: number,
    durationMs: number,
    scraped: number,
    added: number,
  ): void {
    const values = [up, durationMs / 1000, scraped, added];
    // By reference, like scraped series: labels are hashed and compared once, not on every scrape.
    state.reportSeries.forEach((series, i) => this.appendSeries(state, series, t, values[i] ?? 0));
  }

  /** Appends one sample of a scraped series; the store's refusals are counted per target, never thrown. */
  private appendSeries(state: TargetState, series: TargetSeries, t: number, v: number): void {
    const result =
      this.refStore === null
        ? this.appender.append(series.labels, t, v)
        : appendByRef(this.refStore, series, t, v);
    if (!result.ok) state.rejected[result.reason]++;
  }

  private logOutcome(
    state: TargetState,
    error: string | null,
    rejectedBefore: Record<AppendRejection, number>,
    durationMs: number,
  ): void {
    // Described only when something is logged: formatting the target's labels on every scrape showed up.
    const target = (): string => describeTarget(state.target);
    const rejected = (Object.keys(state.rejected) as AppendRejection[]).filter(
      (reason) => state.rejected[reason] > rejectedBefore[reason],
    );
    if (rejected.length > 0) {
      const counts = Object.fromEntries(rejected.map((r) => [r, state.rejected[r] - rejectedBefore[r]]));
      this.logger.warn(
        { target: target(), rejected: counts },
        'the metrics store refused some scraped samples',
      );
    }
    // Warn when a target goes down or fails differently; repeating the same failure each interval is noise.
    if (error !== null && error !== state.lastError)
      this.logger.warn({ target: target(), err: error }, 'scrape failed');
    else if (this.logger.debug !== undefined && this.logger.isLevelEnabled?.('debug') !== false)
      this.logger.debug({ target: target(), durationMs, error }, 'scrape finished');
  }
}
