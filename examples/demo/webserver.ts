/**
 * A demo web server for the swas demo fleet: plain `node:http`, no framework.
 *
 *   node --import tsx examples/demo/webserver.ts --name web-1 --port 18081 [--capacity 20]
 *
 * Endpoints (all on 127.0.0.1):
 *   GET  /                   200 `ok from web-1` after 5–15 ms of simulated work
 *   GET  /healthz            200; 500 while the errors fault runs at ratio 1 (so HAProxy's checks see a dead app)
 *   GET  /metrics            Prometheus text format 0.0.4
 *   GET  /fault              the current faults as JSON
 *   POST /fault/crash        answers 202, then exits the process with code 1 about 100 ms later
 *   POST /fault/slow?ms=800  adds that many ms to every `/` request (default 800, 0 turns it off)
 *   POST /fault/errors?ratio=0.5  that share of `/` requests answer 500 (default 0.5, 0 turns it off)
 *   POST /fault/sick?capacity=0.25  the member keeps that share of its capacity (default 0.25, 1 turns it off):
 *                            each `/` request's work takes 1/share as long, so under its share of the load
 *                            requests pile up past `--capacity`, latency and 503s grow; /healthz still answers 200
 *   POST /fault/clear        turns every fault off
 * Every response carries `x-demo-pid`, so servicectl can tell its own process from a stale one on the port.
 *
 * Overload model (`--capacity C`, default unlimited): when a `/` request arrives with n requests in flight
 * (itself included) and n > C, it takes an extra 10 ms × (n − C) and answers 503 with probability
 * min(0.9, (n − C) / C). At or below capacity nothing changes.
 *
 * One line goes to stdout per fault change; SIGTERM (or SIGINT) closes the listener and exits 0.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';

const USAGE = 'usage: node --import tsx examples/demo/webserver.ts --name NAME --port PORT [--capacity C]';
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const DEFAULT_SLOW_MS = 800;
const DEFAULT_ERROR_RATIO = 0.5;
const DEFAULT_SICK_CAPACITY = 0.25;

interface Options {
  readonly name: string;
  readonly port: number;
  readonly capacity: number | null;
}

interface Faults {
  slowMs: number;
  errorRatio: number;
  /** Share of its capacity the member keeps (1 = healthy); the work of each request is divided by it. */
  sickCapacity: number;
  crashing: boolean;
}

interface Histogram {
  readonly counts: number[];
  sum: number;
  count: number;
}

/** Counters and histograms kept by hand so the exposition text is exactly what the demo documents. */
class Metrics {
  inFlight = 0;
  private readonly requests = new Map<string, number>();
  private readonly durations = new Map<string, Histogram>();

  record(method: string, path: string, code: number, seconds: number): void {
    const key = `code="${code}",method="${escapeLabel(method)}",path="${path}"`;
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
    let histogram = this.durations.get(path);
    if (histogram === undefined) {
      histogram = { counts: BUCKETS.map(() => 0), sum: 0, count: 0 };
      this.durations.set(path, histogram);
    }
    BUCKETS.forEach((le, i) => {
      if (seconds <= le) histogram.counts[i] = (histogram.counts[i] ?? 0) + 1;
    });
    histogram.sum += seconds;
    histogram.count += 1;
  }

  render(faults: Faults, startSeconds: number): string {
    const lines = [
      '# HELP http_requests_total HTTP requests answered, by status code, method and path.',
      '# TYPE http_requests_total counter',
      ...[...this.requests].map(([labels, value]) => `http_requests_total{${labels}} ${value}`),
      '# HELP http_request_duration_seconds Time from request to the end of the response.',
      '# TYPE http_request_duration_seconds histogram',
    ];
    for (const [path, h] of this.durations) {
      BUCKETS.forEach((le, i) => {
        lines.push(`http_request_duration_seconds_bucket{path="${path}",le="${le}"} ${h.counts[i] ?? 0}`);
      });
      lines.push(`http_request_duration_seconds_bucket{path="${path}",le="+Inf"} ${h.count}`);
      lines.push(`http_request_duration_seconds_sum{path="${path}"} ${h.sum}`);
      lines.push(`http_request_duration_seconds_count{path="${path}"} ${h.count}`);
    }
    lines.push(
      '# HELP http_requests_in_flight HTTP requests being served right now.',
      '# TYPE http_requests_in_flight gauge',
      `http_requests_in_flight ${this.inFlight}`,
      '# HELP demo_fault_active Whether a demo fault is switched on (1) or off (0).',
      '# TYPE demo_fault_active gauge',
      `demo_fault_active{kind="crash"} ${faults.crashing ? 1 : 0}`,
      `demo_fault_active{kind="errors"} ${faults.errorRatio > 0 ? 1 : 0}`,
      `demo_fault_active{kind="sick"} ${faults.sickCapacity < 1 ? 1 : 0}`,
      `demo_fault_active{kind="slow"} ${faults.slowMs > 0 ? 1 : 0}`,
      '# HELP process_start_time_seconds Start time of the process since the Unix epoch in seconds.',
      '# TYPE process_start_time_seconds gauge',
      `process_start_time_seconds ${startSeconds}`,
    );
    return `${lines.join('\n')}\n`;
  }
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** Keeps the `path` label's cardinality fixed whatever URLs clients send. */
function pathLabel(pathname: string): string {
  if (pathname === '/' || pathname === '/healthz' || pathname === '/metrics') return pathname;
  if (pathname === '/fault' || pathname.startsWith('/fault/')) return '/fault';
  return 'other';
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: { name: { type: 'string' }, port: { type: 'string' }, capacity: { type: 'string' } },
    strict: true,
  });
  const port = Number(values.port);
  if (values.name === undefined || !/^[A-Za-z0-9._-]+$/.test(values.name)) {
    throw new Error('--name is required (letters, digits, ".", "_" or "-")');
  }
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error('--port must be 1..65535');
  let capacity: number | null = null;
  if (values.capacity !== undefined) {
    capacity = Number(values.capacity);
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error('--capacity must be a positive integer');
  }
  return { name: values.name, port, capacity };
}

function send(res: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'content-type': type, 'x-demo-pid': String(process.pid) });
  res.end(body.endsWith('\n') ? body : `${body}\n`);
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, JSON.stringify(value), 'application/json');
}

function log(name: string, message: string): void {
  process.stdout.write(`${new Date().toISOString()} ${name} ${message}\n`);
}

/** The demo app: one per process, holding its faults and metrics. */
class DemoApp {
  private readonly metrics = new Metrics();
  private readonly faults: Faults = { slowMs: 0, errorRatio: 0, sickCapacity: 1, crashing: false };
  private readonly startSeconds = Date.now() / 1000;

  constructor(private readonly options: Options) {}

  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    const started = process.hrtime.bigint();
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    this.metrics.inFlight += 1;
    res.once('close', () => {
      this.metrics.inFlight -= 1;
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      this.metrics.record(req.method ?? 'GET', pathLabel(url.pathname), res.statusCode, seconds);
    });
    req.resume();
    this.route(req, res, url).catch((error: unknown) => {
      if (!res.headersSent) send(res, 500, `internal error: ${String(error)}`);
    });
  };

  private faultView() {
    return { name: this.options.name, ...this.faults };
  }

  private async route(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const get = req.method === 'GET' || req.method === 'HEAD';
    const { name } = this.options;
    if (url.pathname === '/' && get) return this.serveRoot(res);
    if (url.pathname === '/healthz' && get) {
      if (this.faults.errorRatio >= 1) return send(res, 500, `unhealthy: ${name} fails every request`);
      return send(res, 200, `ok ${name}`);
    }
    if (url.pathname === '/metrics' && get) {
      const text = this.metrics.render(this.faults, this.startSeconds);
      return send(res, 200, text, 'text/plain; version=0.0.4; charset=utf-8');
    }
    if (url.pathname === '/fault' && get) return sendJson(res, 200, this.faultView());
    if (url.pathname.startsWith('/fault/') && req.method === 'POST') return this.setFault(url, res);
    const known =
      ['/', '/healthz', '/metrics', '/fault'].includes(url.pathname) || url.pathname.startsWith('/fault/');
    if (known) return send(res, 405, `method ${req.method} not allowed on ${url.pathname}`);
    send(res, 404, `no such path ${url.pathname}: try /, /healthz, /metrics or /fault`);
  }

  private async serveRoot(res: ServerResponse): Promise<void> {
    const { name, capacity } = this.options;
    let delayMs = (5 + Math.random() * 10) / this.faults.sickCapacity + this.faults.slowMs;
    let overloaded = false;
    if (capacity !== null && this.metrics.inFlight > capacity) {
      const excess = this.metrics.inFlight - capacity;
      delayMs += 10 * excess;
      overloaded = Math.random() < Math.min(0.9, excess / capacity);
    }
    const injectError = Math.random() < this.faults.errorRatio;
    await sleep(delayMs);
    if (overloaded) send(res, 503, `overloaded: ${name} is over its capacity of ${capacity}`);
    else if (injectError) send(res, 500, `injected error from ${name}`);
    else send(res, 200, `ok from ${name}`);
  }

  private setFault(url: URL, res: ServerResponse): void {
    const action = url.pathname.slice('/fault/'.length);
    const { name } = this.options;
    if (action === 'crash') {
      this.faults.crashing = true;
      log(name, 'fault crash: exiting with code 1');
      sendJson(res, 202, this.faultView());
      setTimeout(() => process.exit(1), 100);
      return;
    }
    if (action === 'clear') {
      this.faults.slowMs = 0;
      this.faults.errorRatio = 0;
      this.faults.sickCapacity = 1;
      log(name, 'fault clear: all faults off');
      return sendJson(res, 200, this.faultView());
    }
    if (action === 'slow') {
      const ms = Number(url.searchParams.get('ms') ?? DEFAULT_SLOW_MS);
      if (!Number.isInteger(ms) || ms < 0 || ms > 60_000) {
        return send(res, 400, `bad ms "${url.searchParams.get('ms')}": give whole milliseconds 0..60000`);
      }
      this.faults.slowMs = ms;
      log(name, ms === 0 ? 'fault slow: off' : `fault slow: +${ms} ms per request`);
      return sendJson(res, 200, this.faultView());
    }
    if (action === 'errors') {
      const ratio = Number(url.searchParams.get('ratio') ?? DEFAULT_ERROR_RATIO);
      if (!Number.isFinite(ratio) || ratio < 0 || ratio > 1) {
        return send(res, 400, `bad ratio "${url.searchParams.get('ratio')}": give a number 0..1`);
      }
      this.faults.errorRatio = ratio;
      log(name, ratio === 0 ? 'fault errors: off' : `fault errors: ratio ${ratio}`);
      return sendJson(res, 200, this.faultView());
    }
    if (action === 'sick') return this.setSick(url, res);
    send(res, 404, `no fault "${action}": use crash, slow, errors, sick or clear`);
  }

  private setSick(url: URL, res: ServerResponse): void {
    const raw = url.searchParams.get('capacity');
    const share = Number(raw ?? DEFAULT_SICK_CAPACITY);
    if (!Number.isFinite(share) || share < 0.01 || share > 1) {
      return send(res, 400, `bad capacity "${raw}": give the share of capacity kept, 0.01..1`);
    }
    this.faults.sickCapacity = share;
    const { name } = this.options;
    log(name, share === 1 ? 'fault sick: off' : `fault sick: ${share} of its capacity left`);
    sendJson(res, 200, this.faultView());
  }
}

function main(): void {
  let options: Options;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`webserver: ${error instanceof Error ? error.message : String(error)}\n${USAGE}\n`);
    process.exit(2);
  }
  const server = createServer({ keepAliveTimeout: 30_000 }, new DemoApp(options).handle);
  server.on('error', (error) => {
    process.stderr.write(
      `webserver ${options.name}: cannot listen on 127.0.0.1:${options.port}: ${error.message}\n`,
    );
    process.exit(1);
  });
  server.listen(options.port, '127.0.0.1', () => {
    const capacity = options.capacity === null ? 'unlimited' : String(options.capacity);
    log(options.name, `listening on 127.0.0.1:${options.port} (pid ${process.pid}, capacity ${capacity})`);
  });
  const shutdown = (signal: string) => {
    log(options.name, `${signal}: shutting down`);
    server.close(() => process.exit(0));
    server.closeIdleConnections();
    // Requests still running after 2 s are cut off so a stop never hangs on a slow client.
    setTimeout(() => {
      server.closeAllConnections();
      process.exit(0);
    }, 2000).unref();
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

main();
