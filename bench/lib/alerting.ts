/**
 * The alerting side of a comparison: Alertmanager (Debian package) as Prometheus's pager, a local webhook
 * receiver that stamps each notification's arrival, and readers for the engines' own metrics and JSON APIs.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { join } from 'node:path';
import type { Engine } from './engines.js';
import { spawnLogged, stopChild, waitHttpOk } from './processes.js';

/** The Debian package's binary. */
export const ALERTMANAGER_BIN = '/usr/bin/prometheus-alertmanager';

/** A running Alertmanager. */
export interface Alertmanager {
  readonly url: string;
  readonly pid: number;
  readonly logFile: string;
  stop(): Promise<void>;
}

/** How Alertmanager routes every alert: one route, one webhook receiver. */
export interface AlertmanagerSetup {
  readonly dir: string;
  readonly port: number;
  readonly webhookUrl: string;
  readonly groupBy: readonly string[];
  /** Alertmanager durations, e.g. `0s`, `1s`. */
  readonly groupWait: string;
  readonly groupInterval: string;
}

/** Starts Alertmanager on 127.0.0.1:`port`, clustering off, with storage under `dir`. */
export async function startAlertmanager(setup: AlertmanagerSetup): Promise<Alertmanager> {
  if (!existsSync(ALERTMANAGER_BIN))
    throw new Error(
      `${ALERTMANAGER_BIN} is missing; install it with: apt-get install prometheus-alertmanager`,
    );
  const dir = join(setup.dir, 'alertmanager');
  await mkdir(dir, { recursive: true });
  const config = join(dir, 'alertmanager.yml');
  await writeFile(
    config,
    `route:
  receiver: bench
  group_by: [${setup.groupBy.map((l) => `'${l}'`).join(', ')}]
  group_wait: ${setup.groupWait}
  group_interval: ${setup.groupInterval}
  repeat_interval: 4h
receivers:
  - name: bench
    webhook_configs:
      - url: '${setup.webhookUrl}'
        send_resolved: false
`,
  );
  const logFile = join(dir, 'alertmanager.log');
  const child = spawnLogged(
    ALERTMANAGER_BIN,
    [
      `--config.file=${config}`,
      `--storage.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${setup.port}`,
      // Without a cluster Alertmanager does not wait for peers to settle before it sends.
      '--cluster.listen-address=',
      '--log.level=warn',
    ],
    logFile,
  );
  const url = `http://127.0.0.1:${setup.port}`;
  try {
    await waitHttpOk(`${url}/-/ready`, child, 'alertmanager', logFile);
  } catch (error) {
    await stopChild(child);
    throw error;
  }
  if (child.pid === undefined) throw new Error(`alertmanager did not start; see ${logFile}`);
  return { url, pid: child.pid, logFile, stop: () => stopChild(child) };
}

/** One notification as it arrived: when (epoch ms, stamped as the request started) and its JSON body. */
export interface Arrival {
  readonly path: string;
  readonly atMs: number;
  readonly body: unknown;
}

/** A local HTTP server that accepts every POST with 200 and keeps what arrived, in order. */
export interface WebhookReceiver {
  readonly url: string;
  readonly arrivals: readonly Arrival[];
  /** Resolves with the first arrival (already received or still to come) that `match` accepts. */
  waitFor(match: (arrival: Arrival) => boolean, timeoutMs: number, what: string): Promise<Arrival>;
  stop(): Promise<void>;
}

/** Starts a webhook receiver on 127.0.0.1:`port`. */
export async function startWebhookReceiver(port: number): Promise<WebhookReceiver> {
  const arrivals: Arrival[] = [];
  const waiters = new Set<(arrival: Arrival) => void>();
  const server = createServer((request, response) => {
    const atMs = Date.now();
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      response.writeHead(200).end();
      let body: unknown = null;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        body = null;
      }
      const arrival = { path: request.url ?? '', atMs, body };
      arrivals.push(arrival);
      for (const waiter of waiters) waiter(arrival);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    url: `http://127.0.0.1:${port}`,
    arrivals,
    waitFor(match, timeoutMs, what) {
      const seen = arrivals.find(match);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const waiter = (arrival: Arrival) => {
          if (!match(arrival)) return;
          clearTimeout(timer);
          waiters.delete(waiter);
          resolve(arrival);
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`no ${what} arrived within ${timeoutMs / 1000} s`));
        }, timeoutMs);
        waiters.add(waiter);
      });
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** How long a read of an engine's API may take by default; a busy engine can take longer (see timeoutMs). */
const READ_TIMEOUT_MS = 30_000;
const READ_ATTEMPTS = 5;

/** GETs `path` of an engine and returns the body; a failure names the engine and the path. */
async function getText(engine: Engine, path: string, timeoutMs: number): Promise<string> {
  // Retries: a server whose event loop was blocked may close an idle keep-alive connection just as it is
  // reused, or answer 408 for a request whose headers it could not read in time.
  for (let attempt = 1; ; attempt++) {
    const last = attempt >= READ_ATTEMPTS;
    try {
      const response = await fetch(`${engine.url}${path}`, {
        headers: engine.headers,
        signal: AbortSignal.timeout(timeoutMs),
      });
      const text = await response.text();
      if (response.status === 408 && !last) continue;
      if (!response.ok)
        throw new Error(`${engine.name} GET ${path}: HTTP ${response.status}: ${text.slice(0, 300)}`);
      return text;
    } catch (error) {
      if (error instanceof Error && error.message.startsWith(`${engine.name} GET`)) throw error;
      const timedOut = error instanceof Error && error.name === 'TimeoutError';
      if (!last && !timedOut) continue;
      const cause = error instanceof Error && error.cause instanceof Error ? ` (${error.cause.message})` : '';
      const why = error instanceof Error ? `${error.message}${cause}` : String(error);
      throw new Error(`${engine.name} GET ${path} (timeout ${timeoutMs / 1000} s): ${why}`, { cause: error });
    }
  }
}

/** GETs `path` of an engine's API and returns the JSON body's `data` (or the body itself). */
export async function apiData<T>(engine: Engine, path: string, timeoutMs = READ_TIMEOUT_MS): Promise<T> {
  const body = JSON.parse(await getText(engine, path, timeoutMs)) as { data?: T } & T;
  // Prometheus's API wraps answers in `data`; swas's own endpoints (incidents) answer the object itself.
  return body.data ?? body;
}

/**
 * The samples of one metric in an engine's own `/metrics` text, keyed by the value of `label` (every
 * sample of the metric when `label` is absent from it, keyed by the empty string).
 */
export async function ownMetric(
  engine: Engine,
  metric: string,
  label: string,
  timeoutMs = READ_TIMEOUT_MS,
): Promise<Map<string, number>> {
  const text = await getText(engine, '/metrics', timeoutMs);
  const values = new Map<string, number>();
  const labelPattern = new RegExp(`${label}="((?:[^"\\\\]|\\\\.)*)"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(metric) || (line[metric.length] !== '{' && line[metric.length] !== ' ')) continue;
    const key = labelPattern.exec(line)?.[1] ?? '';
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    values.set(key, (values.get(key) ?? 0) + value);
  }
  return values;
}

/** The sum of a map's values (0 when empty). */
export function total(values: ReadonlyMap<string, number>): number {
  let sum = 0;
  for (const v of values.values()) sum += v;
  return sum;
}
