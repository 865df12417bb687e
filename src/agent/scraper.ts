import type { AgentConfig } from '../config/index.js';
import { errorMessage } from '../core/index.js';
import type * as IngestModule from '../ingest/index.js';
import type { ParsedSample } from '../ingest/index.js';
import type { AgentLogger } from './agentLogger.js';
import { toWireValue, type WireSample } from './protocol.js';

/** One validated `scrape:` entry of agent.yaml (durations in ms). */
export type AgentScrapeTarget = AgentConfig['scrape'][number];

/** How the agent scrapes its local /metrics endpoints. */
export interface AgentScraperOptions {
  readonly targets: readonly AgentScrapeTarget[];
  /** Interval of a target that sets none (the agent's `interval`), in ms. */
  readonly defaultIntervalMs: number;
  /** The agent's labels, added to every sample. */
  readonly labels: Readonly<Record<string, string>>;
  readonly logger: AgentLogger;
  /** Hands one scrape's samples (at most SCRAPE_SAMPLES_PER_BATCH) to the spool. */
  readonly append: (samples: WireSample[]) => void;
  /** Largest body accepted, in bytes. @default 16 MiB */
  readonly maxBodyBytes?: number;
}

/** Most samples handed to `append` at once, so a spool record stays well under the frame limit. */
export const SCRAPE_SAMPLES_PER_BATCH = 5000;

/** Prometheus's own cap on a scrape timeout when none is set. */
const DEFAULT_TIMEOUT_CAP_MS = 10_000;
const DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024;
/** The wire protocol's limit on a label value; a longer one would get the whole batch refused. */
const MAX_WIRE_LABEL_VALUE = 4096;
const WIRE_METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const WIRE_LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const ACCEPT = 'text/plain;version=0.0.4;q=0.9,application/openmetrics-text;version=1.0.0;q=0.5,*/*;q=0.1';

type Ingest = typeof IngestModule;
let ingestModule: Promise<Ingest> | null = null;

/** The exposition parser, loaded on first use so an agent without scrape targets stays small. */
function loadIngest(): Promise<Ingest> {
  ingestModule ??= import('../ingest/index.js');
  return ingestModule;
}

/** What one scrape produced: the samples to forward, or why the target is down. */
type ScrapeResult = { ok: true; samples: WireSample[]; dropped: number } | { ok: false; error: string };

/**
 * Scrapes local application /metrics endpoints on their own intervals and spools the samples with
 * `job=<name>` and the agent's labels, plus `up`, `scrape_duration_seconds` and `scrape_samples_scraped`
 * per target as Prometheus does; a target that fails or sends a bad body is `up 0` and logged.
 */
export class AgentScraper {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly running = new Set<Promise<void>>();
  private targets: readonly AgentScrapeTarget[] = [];
  private stopped = false;

  private constructor(private readonly options: AgentScraperOptions) {}

  /** Starts scraping every target now and then on its interval. */
  static start(options: AgentScraperOptions): AgentScraper {
    const scraper = new AgentScraper(options);
    scraper.reconfigure(options.targets);
    return scraper;
  }

  /** Replaces the scrape targets (e.g. from a pushed config); targets whose name stays keep no state. */
  reconfigure(targets: readonly AgentScrapeTarget[]): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.targets = targets;
    if (this.stopped) return;
    for (const target of targets) this.schedule(target, Date.now());
  }

  /** The targets being scraped now. */
  get currentTargets(): readonly AgentScrapeTarget[] {
    return this.targets;
  }

  /** Stops scheduling and waits for scrapes in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    await Promise.allSettled([...this.running]);
  }

  /** Scrapes one target once at `now` and appends its samples and health series. */
  async scrapeOnce(target: AgentScrapeTarget, now: number): Promise<void> {
    const started = performance.now();
    const result = await this.fetchAndParse(target, now);
    const seconds = (performance.now() - started) / 1000;
    const { logger } = this.options;
    if (!result.ok)
      logger.error(
        { job: target.name, url: target.url, error: result.error },
        `scrape of ${target.name} failed`,
      );
    else if (result.dropped > 0)
      logger.warn(
        { job: target.name, url: target.url, dropped: result.dropped },
        `dropped ${result.dropped} samples of ${target.name} the agent protocol cannot carry ` +
          `(label values over ${MAX_WIRE_LABEL_VALUE} characters or non-classic names)`,
      );
    const samples = result.ok ? result.samples : [];
    const health = (name: string, v: number): WireSample => ({
      name,
      labels: { ...this.options.labels, job: target.name },
      t: now,
      v,
    });
    samples.push(
      health('up', result.ok ? 1 : 0),
      health('scrape_duration_seconds', seconds),
      health('scrape_samples_scraped', samples.length),
    );
    this.append(samples);
  }

  private schedule(target: AgentScrapeTarget, due: number): void {
    const interval = target.interval ?? this.options.defaultIntervalMs;
    const timer = setTimeout(
      () => {
        const scrape = this.scrapeOnce(target, Date.now()).finally(() => {
          this.running.delete(scrape);
          // Fixed-rate schedule; a scrape slower than its interval skips ticks instead of piling up.
          if (this.stopped || this.timers.get(target.name) !== timer) return;
          let next = due + interval;
          while (next <= Date.now()) next += interval;
          this.schedule(target, next);
        });
        this.running.add(scrape);
      },
      Math.max(0, due - Date.now()),
    );
    this.timers.set(target.name, timer);
  }

  private append(samples: WireSample[]): void {
    try {
      for (let i = 0; i < samples.length; i += SCRAPE_SAMPLES_PER_BATCH)
        this.options.append(samples.slice(i, i + SCRAPE_SAMPLES_PER_BATCH));
    } catch (error) {
      this.options.logger.error(
        { error: errorMessage(error) },
        'cannot spool scraped samples; they are lost',
      );
    }
  }

  private async fetchAndParse(target: AgentScrapeTarget, now: number): Promise<ScrapeResult> {
    const interval = target.interval ?? this.options.defaultIntervalMs;
    const timeoutMs = target.timeout ?? Math.min(interval, DEFAULT_TIMEOUT_CAP_MS);
    let text: string;
    let contentType: string | null;
    try {
      const response = await fetch(target.url, {
        headers: { accept: ACCEPT },
        signal: AbortSignal.timeout(timeoutMs),
      });
      const body = await response.arrayBuffer();
      if (!response.ok)
        return { ok: false, error: `${target.url} answered HTTP ${response.status}; expected 200` };
      const limit = this.options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
      if (body.byteLength > limit)
        return { ok: false, error: `body of ${body.byteLength} bytes is over the ${limit}-byte limit` };
      text = new TextDecoder().decode(body);
      contentType = response.headers.get('content-type');
    } catch (error) {
      const reason =
        error instanceof Error && error.name === 'TimeoutError'
          ? `no answer within the ${timeoutMs} ms timeout`
          : errorMessage(error);
      return { ok: false, error: `cannot fetch ${target.url}: ${reason}` };
    }
    const { parseExposition } = await loadIngest();
    const format = contentType?.trim().toLowerCase().startsWith('application/openmetrics-text')
      ? 'openmetrics'
      : 'prometheus';
    const parsed = parseExposition(text, { format });
    if (!parsed.ok) return { ok: false, error: `${target.url}: ${parsed.error.message}` };
    return this.toWire(parsed.samples, target, now);
  }

  private toWire(parsed: readonly ParsedSample[], target: AgentScrapeTarget, now: number): ScrapeResult {
    const own: Record<string, string> = { ...this.options.labels, job: target.name };
    const samples: WireSample[] = [];
    let dropped = 0;
    for (const sample of parsed) {
      const wire = wireSample(sample, own, now);
      if (wire === null) dropped++;
      else samples.push(wire);
    }
    return { ok: true, samples, dropped };
  }
}

/**
 * A parsed sample with the target's labels; a scraped label that clashes with one of them is kept as
 * `exported_<name>`, as Prometheus does without honor_labels. Null when the wire protocol cannot carry it.
 */
function wireSample(
  sample: ParsedSample,
  own: Readonly<Record<string, string>>,
  now: number,
): WireSample | null {
  const { __name__: name, ...scraped } = sample.labels;
  if (name === undefined || !WIRE_METRIC_NAME.test(name)) return null;
  const labels: Record<string, string> = { ...own };
  for (const [key, value] of Object.entries(scraped)) {
    if (!WIRE_LABEL_NAME.test(key) || value.length > MAX_WIRE_LABEL_VALUE) return null;
    labels[key in own ? `exported_${key}` : key] = value;
  }
  const t = sample.timestampMs === undefined ? now : Math.round(sample.timestampMs);
  if (!(t >= 0)) return null;
  return { name, labels, t, v: toWireValue(sample.value) };
}
