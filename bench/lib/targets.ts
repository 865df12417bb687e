/**
 * Synthetic scrape targets: local HTTP endpoints exposing a chosen number of series shaped like a web
 * service's (request counters by method/status/path, a latency histogram per path, gauges), whose values
 * move every second. Each scraper reads `/metrics/<who>` so the fleet can count what it served to whom.
 */
import { createServer, type Server } from 'node:http';
import { freePorts } from './ports.js';

const METHODS = ['GET', 'POST', 'PUT'] as const;
const STATUSES = ['200', '301', '404', '503'] as const;
const BOUNDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5] as const;
/** Series per path: 12 counters, 13 histogram series (11 buckets, sum, count) and 2 gauges. */
export const SERIES_PER_PATH = METHODS.length * STATUSES.length + BOUNDS.length + 3 + 2;

/** Options for {@link startTargets}. */
export interface TargetOptions {
  /** Total series across all targets (rounded up to whole paths of {@link SERIES_PER_PATH}). */
  readonly series: number;
  /** How many endpoints (ports) to spread them over. */
  readonly targets: number;
}

/** What one scraper has been served so far. */
export interface Served {
  readonly scrapes: number;
  readonly samples: number;
}

/** Running synthetic targets. */
export interface TargetFleet {
  /** host:port of each endpoint. */
  readonly addresses: readonly string[];
  /** Series each full scrape of all endpoints returns. */
  readonly totalSeries: number;
  /** What the scraper reading `/metrics/<who>` has been served, summed over endpoints. */
  served(who: string): Served;
  /** While inactive every endpoint answers an empty (valid) body, for baseline measurements. */
  setActive(active: boolean): void;
  stop(): Promise<void>;
}

/** The `path` label of a target's `index`-th path; every endpoint has the same paths, so rules can name them. */
export function pathName(index: number): string {
  return index % 4 === 3 ? `/static/asset${index}` : `/api/v${(index % 3) + 1}/resource${index}`;
}

/** A small fast PRNG (xorshift32) so the values are reproducible run to run. */
function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

/** One endpoint's series and their evolving values; renders one body per second, shared by all scrapers. */
class SyntheticTarget {
  private readonly counters: string[] = [];
  private readonly counterValues: Float64Array;
  private readonly histogramPrefixes: string[] = [];
  private readonly buckets: Float64Array;
  private readonly sums: Float64Array;
  private readonly gaugePrefixes: string[] = [];
  private readonly random: () => number;
  private tick = -1;
  private body = '';
  readonly seriesCount: number;

  constructor(index: number, paths: number) {
    this.random = prng(index * 7919 + 17);
    for (let p = 0; p < paths; p++) {
      const path = pathName(p);
      for (const method of METHODS)
        for (const status of STATUSES)
          this.counters.push(
            `bench_http_requests_total{method="${method}",status="${status}",path="${path}"} `,
          );
      this.histogramPrefixes.push(`path="${path}"`);
      this.gaugePrefixes.push(`{path="${path}"} `);
    }
    this.counterValues = new Float64Array(this.counters.length).map(() => Math.floor(this.random() * 1e6));
    this.buckets = new Float64Array(paths * (BOUNDS.length + 1));
    this.sums = new Float64Array(paths);
    this.seriesCount = paths * SERIES_PER_PATH;
  }

  /** The exposition text for the current second. */
  render(nowMs: number): string {
    const tick = Math.floor(nowMs / 1000);
    if (tick === this.tick) return this.body;
    this.advance();
    this.tick = tick;
    this.body = this.text();
    return this.body;
  }

  private advance(): void {
    for (let i = 0; i < this.counterValues.length; i++)
      this.counterValues[i] = (this.counterValues[i] ?? 0) + Math.floor(this.random() * 40);
    const width = BOUNDS.length + 1;
    for (let p = 0; p < this.sums.length; p++) {
      const observations = Math.floor(this.random() * 30);
      // Each path has its own latency profile: the fraction under each bound grows with the bound.
      const speed = 1 + (p % 5);
      for (let b = 0; b < width; b++) {
        const share = b === BOUNDS.length ? 1 : Math.min(1, (b + 1) / (BOUNDS.length - speed + 2));
        this.buckets[p * width + b] = (this.buckets[p * width + b] ?? 0) + Math.floor(observations * share);
      }
      this.sums[p] = (this.sums[p] ?? 0) + observations * (0.02 * speed) * (0.5 + this.random());
    }
  }

  private text(): string {
    const out: string[] = [
      '# HELP bench_http_requests_total Requests served.',
      '# TYPE bench_http_requests_total counter',
    ];
    for (let i = 0; i < this.counters.length; i++) out.push(`${this.counters[i]}${this.counterValues[i]}`);
    out.push('# HELP bench_request_duration_seconds Request latency.');
    out.push('# TYPE bench_request_duration_seconds histogram');
    const width = BOUNDS.length + 1;
    for (let p = 0; p < this.histogramPrefixes.length; p++) {
      const labels = this.histogramPrefixes[p] ?? '';
      for (let b = 0; b < width; b++) {
        const le = b === BOUNDS.length ? '+Inf' : String(BOUNDS[b]);
        out.push(
          `bench_request_duration_seconds_bucket{${labels},le="${le}"} ${this.buckets[p * width + b]}`,
        );
      }
      out.push(`bench_request_duration_seconds_sum{${labels}} ${(this.sums[p] ?? 0).toFixed(3)}`);
      out.push(`bench_request_duration_seconds_count{${labels}} ${this.buckets[p * width + BOUNDS.length]}`);
    }
    out.push('# TYPE bench_inflight_requests gauge');
    for (const g of this.gaugePrefixes)
      out.push(`bench_inflight_requests${g}${Math.floor(this.random() * 50)}`);
    out.push('# TYPE bench_memory_bytes gauge');
    for (const g of this.gaugePrefixes)
      out.push(`bench_memory_bytes${g}${Math.floor(1e8 + this.random() * 1e7)}`);
    out.push('');
    return out.join('\n');
  }
}

/** Starts `options.targets` endpoints on free loopback ports sharing `options.series` between them. */
export async function startTargets(options: TargetOptions): Promise<TargetFleet> {
  const count = Math.max(1, Math.floor(options.targets));
  const pathsEach = Math.max(1, Math.ceil(options.series / count / SERIES_PER_PATH));
  const ports = await freePorts(count);
  const served = new Map<string, { scrapes: number; samples: number }>();
  let active = true;
  const servers: Server[] = [];
  for (const [index, port] of ports.entries()) {
    const target = new SyntheticTarget(index, pathsEach);
    const server = createServer((request, response) => {
      const match = /^\/metrics\/([\w-]+)$/.exec(request.url ?? '');
      if (!match?.[1]) {
        response.writeHead(404).end('scrape /metrics/<who>\n');
        return;
      }
      const body = active ? target.render(Date.now()) : '';
      const tally = served.get(match[1]) ?? { scrapes: 0, samples: 0 };
      served.set(match[1], {
        scrapes: tally.scrapes + 1,
        samples: tally.samples + (active ? target.seriesCount : 0),
      });
      response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(body);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    servers.push(server);
  }
  return {
    addresses: ports.map((p) => `127.0.0.1:${p}`),
    totalSeries: count * pathsEach * SERIES_PER_PATH,
    served: (who) => served.get(who) ?? { scrapes: 0, samples: 0 },
    setActive: (value) => {
      active = value;
    },
    async stop() {
      await Promise.all(
        servers.map(
          (s) =>
            new Promise<void>((resolve) => {
              s.closeAllConnections();
              s.close(() => resolve());
            }),
        ),
      );
    },
  };
}
