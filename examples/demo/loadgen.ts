/**
 * A small open-loop load generator for the demo: a steady request rate to one URL on 127.0.0.1 over keep-alive
 * connections, with a bounded number of requests in flight and a hard stop after `durationMs`.
 */
import { Agent, request } from 'node:http';
import { InputError } from '../../src/core/index.js';

/** Options for {@link startLoad}. */
export interface LoadOptions {
  /** An http:// URL on 127.0.0.1 (the demo never sends traffic anywhere else). */
  readonly url: string;
  readonly ratePerSecond: number;
  /** The load stops by itself after this long, whatever the caller does. */
  readonly durationMs: number;
  /** Per-request timeout; a request past it counts as failed with error `timeout`. @default 2000 */
  readonly timeoutMs?: number;
  /** Requests in flight at most; a request due while at the limit is skipped, not queued. @default 256 */
  readonly maxInFlight?: number;
}

/** What the load saw; `latencyMs` covers requests that got an HTTP response (any status). */
export interface LoadStats {
  readonly sent: number;
  /** Responses with a 2xx status. */
  readonly ok: number;
  /** Non-2xx responses plus requests that got no response (see `errors`). */
  readonly failed: number;
  /** Requests not sent because `maxInFlight` were already outstanding. */
  readonly skipped: number;
  readonly statusCounts: Record<string, number>;
  /** Requests without a response, by error code (`ECONNREFUSED`, `ECONNRESET`, `timeout`, …). */
  readonly errors: Record<string, number>;
  readonly latencyMs: {
    readonly p50: number;
    readonly p90: number;
    readonly p99: number;
    readonly max: number;
  };
}

/** A running load; `done` settles when it ends by itself or through `stop()`. */
export interface Load {
  stop(): Promise<LoadStats>;
  stats(): LoadStats;
  readonly done: Promise<LoadStats>;
}

const TICK_MS = 10;

function checkOptions(options: LoadOptions): URL {
  let url: URL;
  try {
    url = new URL(options.url);
  } catch {
    throw new InputError(
      'SWAS-DEMO-001',
      `load url "${options.url}" is not a URL; give http://127.0.0.1:PORT/`,
    );
  }
  if (url.protocol !== 'http:' || url.hostname !== '127.0.0.1') {
    throw new InputError(
      'SWAS-DEMO-001',
      `load url "${options.url}" is not http on 127.0.0.1; the demo load stays local`,
    );
  }
  const positive = (value: number | undefined, what: string) => {
    if (value !== undefined && !(Number.isFinite(value) && value > 0)) {
      throw new InputError('SWAS-DEMO-001', `load ${what} must be a positive number, got ${value}`);
    }
  };
  positive(options.ratePerSecond, 'ratePerSecond');
  positive(options.durationMs, 'durationMs');
  positive(options.timeoutMs, 'timeoutMs');
  positive(options.maxInFlight, 'maxInFlight');
  return url;
}

function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0;
}

/** Starts sending `ratePerSecond` GET requests to `url` until `durationMs` passes or `stop()` is called. */
export function startLoad(options: LoadOptions): Load {
  const run = new LoadRun(checkOptions(options), options);
  return { stop: () => run.stop(), stats: () => run.stats(), done: run.done };
}

/** One load run's state: counters, latencies and the requests still out. */
class LoadRun {
  readonly done: Promise<LoadStats>;
  private readonly timeoutMs: number;
  private readonly maxInFlight: number;
  private readonly agent: Agent;
  private readonly counts = { sent: 0, ok: 0, failed: 0, skipped: 0 };
  private readonly statusCounts: Record<string, number> = {};
  private readonly errors: Record<string, number> = {};
  private readonly latencies: number[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private readonly startedAt = performance.now();
  private readonly interval: NodeJS.Timeout;
  private due = 0;
  private stopping: Promise<LoadStats> | null = null;
  private settle: (stats: LoadStats) => void = () => undefined;

  constructor(
    private readonly url: URL,
    private readonly options: LoadOptions,
  ) {
    this.timeoutMs = options.timeoutMs ?? 2000;
    this.maxInFlight = options.maxInFlight ?? 256;
    this.agent = new Agent({ keepAlive: true, maxSockets: this.maxInFlight });
    this.done = new Promise<LoadStats>((resolve) => (this.settle = resolve));
    this.interval = setInterval(() => this.tick(), TICK_MS);
  }

  stats(): LoadStats {
    const sorted = [...this.latencies].sort((a, b) => a - b);
    const latencyMs = {
      p50: percentile(sorted, 0.5),
      p90: percentile(sorted, 0.9),
      p99: percentile(sorted, 0.99),
      max: sorted.at(-1) ?? 0,
    };
    return { ...this.counts, statusCounts: { ...this.statusCounts }, errors: { ...this.errors }, latencyMs };
  }

  stop(): Promise<LoadStats> {
    this.stopping ??= (async () => {
      clearInterval(this.interval);
      // Every request has its own timeout, so this wait is bounded by timeoutMs.
      await Promise.all([...this.inFlight]);
      this.agent.destroy();
      const final = this.stats();
      this.settle(final);
      return final;
    })();
    return this.stopping;
  }

  // Sends whatever the rate says is due by now, so timer jitter does not lower the rate.
  private tick(): void {
    const elapsed = performance.now() - this.startedAt;
    const target = Math.floor(
      (Math.min(elapsed, this.options.durationMs) * this.options.ratePerSecond) / 1000,
    );
    for (; this.due < target; this.due++) {
      if (this.inFlight.size >= this.maxInFlight) this.counts.skipped += 1;
      else this.sendOne();
    }
    if (elapsed >= this.options.durationMs) void this.stop();
  }

  private sendOne(): void {
    this.counts.sent += 1;
    const finished = new Promise<void>((resolve) => this.request(resolve));
    this.inFlight.add(finished);
    void finished.then(() => this.inFlight.delete(finished));
  }

  private request(resolve: () => void): void {
    const began = performance.now();
    let settled = false;
    // Node can report one request's end more than once (error, then close); count the first only.
    const finish = (record: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      record();
      resolve();
    };
    const failWith = (code: string) => () => {
      this.errors[code] = (this.errors[code] ?? 0) + 1;
      this.counts.failed += 1;
    };
    const req = request(this.url, { agent: this.agent, method: 'GET' }, (res) => {
      const status = String(res.statusCode ?? 0);
      res.resume();
      res.once('end', () => finish(() => this.recordResponse(status, performance.now() - began)));
      res.once('error', (error: NodeJS.ErrnoException) => finish(failWith(error.code ?? 'response-aborted')));
      res.once('close', () => finish(failWith('response-aborted')));
    });
    const timer = setTimeout(() => {
      req.destroy();
      finish(failWith('timeout'));
    }, this.timeoutMs);
    req.once('error', (error: NodeJS.ErrnoException) => finish(failWith(error.code ?? error.message)));
    req.end();
  }

  private recordResponse(status: string, latencyMs: number): void {
    this.latencies.push(latencyMs);
    this.statusCounts[status] = (this.statusCounts[status] ?? 0) + 1;
    if (status.startsWith('2')) this.counts.ok += 1;
    else this.counts.failed += 1;
  }
}
