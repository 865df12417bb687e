/**
 * The two engines under comparison, started the same way the harness measures them: each a child process on
 * loopback with explicit ports and temporary storage, scraping the same synthetic targets at the same interval.
 * The harness only talks to them over HTTP and /proc, so it does not care which store swas uses.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildCompiledSwas, createToken, swasCommand } from './compiledSwas.js';
import { spawnLogged, stopChild, waitHttpOk } from './processes.js';

/** The repository root. */
export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** The Debian package's binary. */
export const PROMETHEUS_BIN = '/usr/bin/prometheus';

/** Which engine; also the scrape path suffix it reads targets through. */
export type EngineName = 'swas' | 'prometheus';

/** A running engine, reachable over its Prometheus-compatible HTTP API. */
export interface Engine {
  readonly name: EngineName;
  readonly url: string;
  readonly pid: number;
  /** Headers every API request needs (swas: a bearer token). */
  readonly headers: Readonly<Record<string, string>>;
  readonly logFile: string;
  readonly child: ChildProcess;
  stop(): Promise<void>;
}

/** What both engines are told to scrape. */
export interface ScrapeSetup {
  /** A directory of the caller's for config, data and logs. */
  readonly dir: string;
  readonly port: number;
  /** host:port of every target. */
  readonly targets: readonly string[];
  /** Scrape interval in seconds. */
  readonly intervalSeconds: number;
  /**
   * Top-level YAML appended to this engine's config file, e.g. `rule_files:` and `alerting:` for Prometheus
   * or `rules:` and `notify:` for swas; it must not repeat a key the harness writes.
   */
  readonly extraYaml?: string;
  /** How long to wait for `/-/ready`; a loaded machine may need more than the default. @default 60000 */
  readonly readyTimeoutMs?: number;
}

const quoted = (targets: readonly string[]) => targets.map((t) => `'${t}'`).join(', ');
const timeoutOf = (intervalSeconds: number) => `${Math.round(intervalSeconds * 900)}ms`;

/** Starts Prometheus (Debian package) on 127.0.0.1:`port` with storage under `dir`. */
export async function startPrometheus(setup: ScrapeSetup & { lifecycle?: boolean }): Promise<Engine> {
  if (!existsSync(PROMETHEUS_BIN))
    throw new Error(`${PROMETHEUS_BIN} is missing; install it with: apt-get install prometheus`);
  const dir = join(setup.dir, 'prometheus');
  await mkdir(dir, { recursive: true });
  const config = join(dir, 'prometheus.yml');
  await writeFile(
    config,
    `global:
  scrape_interval: ${setup.intervalSeconds}s
  scrape_timeout: ${timeoutOf(setup.intervalSeconds)}
scrape_configs:
  - job_name: bench
    metrics_path: /metrics/prometheus
    static_configs:
      - targets: [${quoted(setup.targets)}]
${setup.extraYaml ?? ''}`,
  );
  const args = [
    `--config.file=${config}`,
    `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${setup.port}`,
    '--storage.tsdb.retention.time=1d',
    '--log.level=warn',
  ];
  if (setup.lifecycle) args.push('--web.enable-lifecycle');
  const logFile = join(dir, 'prometheus.log');
  const child = spawnLogged(PROMETHEUS_BIN, args, logFile);
  const url = `http://127.0.0.1:${setup.port}`;
  try {
    await waitHttpOk(`${url}/-/ready`, child, 'prometheus', logFile, setup.readyTimeoutMs);
  } catch (error) {
    await stopChild(child);
    throw error;
  }
  return engine('prometheus', url, child, {}, logFile);
}

/**
 * Starts swas from this checkout, compiled as the installed command runs it (`swas up`), with a viewer token
 * for the query API.
 */
export async function startSwas(setup: ScrapeSetup): Promise<Engine> {
  const dir = join(setup.dir, 'swas');
  await mkdir(dir, { recursive: true });
  const config = join(dir, 'swas.yaml');
  await writeFile(
    config,
    `server:
  listen: 127.0.0.1:${setup.port}
data_dir: ${JSON.stringify(join(dir, 'data'))}
log:
  level: warn
  format: json
scrape_configs:
  - job_name: bench
    scrape_interval: ${setup.intervalSeconds}s
    scrape_timeout: ${timeoutOf(setup.intervalSeconds)}
    metrics_path: /metrics/swas
    static_configs:
      - targets: [${quoted(setup.targets)}]
${setup.extraYaml ?? ''}`,
  );
  const bin = await buildCompiledSwas(join(dir, 'build'));
  const token = createToken(bin, config, 'viewer');
  const logFile = join(dir, 'swas.log');
  // Extra node flags for swas only, e.g. SWAS_BENCH_SWAS_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof";
  // without them swas runs as the executable bin, with the flags on its interpreter line.
  const nodeArgs = (process.env.SWAS_BENCH_SWAS_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
  const child = spawnLogged(...swasCommand(bin, ['up', '--config', config], nodeArgs), logFile);
  const url = `http://127.0.0.1:${setup.port}`;
  try {
    await waitHttpOk(`${url}/-/ready`, child, 'swas', logFile, setup.readyTimeoutMs);
  } catch (error) {
    await stopChild(child);
    throw error;
  }
  return engine('swas', url, child, { authorization: `Bearer ${token}` }, logFile);
}

function engine(
  name: EngineName,
  url: string,
  child: ChildProcess,
  headers: Record<string, string>,
  logFile: string,
): Engine {
  if (child.pid === undefined) throw new Error(`${name} did not start; see ${logFile}`);
  return { name, url, pid: child.pid, headers, logFile, child, stop: () => stopChild(child) };
}
