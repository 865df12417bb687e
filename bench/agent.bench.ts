/**
 * The host agent's figures (issue 6). Footprint: a real `swas agent run` (compiled from this checkout, as the
 * installed `bin/swas.js` runs dist/) with the default collectors at a 10 s interval, connected to a real swas
 * server; its RSS and CPU share of one core from /proc. Scale: a load-generating child process
 * (lib/agentLoad.ts) connects N enrolled agents to one server, each sending 200 series every 10 s plus 5
 * probe results stamped with the send time; the harness reads the server's CPU and RSS from /proc and
 * polls `timestamp(swas_bench_marker)` to see when each tracked agent's batch became queryable.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { envNumber, type BenchContext } from './lib/context.js';
import type { AgentLoadConfig, AgentLoadReport } from './lib/agentLoad.js';
import { buildCompiledSwas, createToken, swasCommand } from './lib/compiledSwas.js';
import { freePort } from './lib/ports.js';
import { cpuSeconds, rssBytes } from './lib/proc.js';
import { spawnLogged, stopChild, waitHttpOk } from './lib/processes.js';
import { median, round } from './lib/stats.js';

const TSX_IMPORT = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const LOAD_CHILD = fileURLToPath(new URL('./lib/agentLoad.ts', import.meta.url));
const MB = 1024 * 1024;

/** This benchmark's settings, from SWAS_BENCH_AGENT* (documented in bench/README.md). */
function agentSettings() {
  return {
    footprintSeconds: envNumber('SWAS_BENCH_AGENT_SECONDS', 120, 10),
    agents: Math.floor(envNumber('SWAS_BENCH_AGENTS', 2000, 1)),
    scaleSeconds: envNumber('SWAS_BENCH_AGENT_SCALE_SECONDS', 60, 10),
    series: Math.floor(envNumber('SWAS_BENCH_AGENT_SERIES', 200, 1)),
    probes: Math.floor(envNumber('SWAS_BENCH_AGENT_PROBES', 5, 0)),
    intervalMs: 10_000,
  };
}

/** A swas server for agents: no scrape targets, an admin token for enrollment tokens and queries. */
interface Server {
  readonly url: string;
  readonly pid: number;
  readonly headers: Record<string, string>;
  readonly child: ChildProcess;
}

async function startServer(ctx: BenchContext, bin: string): Promise<Server> {
  const dir = join(ctx.dir, 'swas');
  await mkdir(dir, { recursive: true });
  const port = await freePort();
  const config = join(dir, 'swas.yaml');
  await writeFile(
    config,
    `server:\n  listen: 127.0.0.1:${port}\ndata_dir: ${JSON.stringify(join(dir, 'data'))}\n` +
      'log:\n  level: warn\n  format: json\n',
  );
  const token = createToken(bin, config, 'admin');
  const logFile = join(dir, 'swas.log');
  const child = spawnLogged(...swasCommand(bin, ['up', '--config', config]), logFile);
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitHttpOk(`${url}/-/ready`, child, 'swas', logFile, 120_000);
  } catch (error) {
    await stopChild(child);
    throw error;
  }
  if (child.pid === undefined) throw new Error(`swas did not start; see ${logFile}`);
  return { url, pid: child.pid, headers: { authorization: `Bearer ${token}` }, child };
}

async function api<T>(server: Server, method: string, path: string, body?: object): Promise<T> {
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: { ...server.headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(60_000),
  });
  const text = await response.text();
  if (!response.ok)
    throw new Error(`${method} ${path} answered HTTP ${response.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text) as T;
}

async function enrollmentToken(server: Server): Promise<string> {
  return (await api<{ token: string }>(server, 'POST', '/api/v1/agents/enrollment-tokens', { ttl: '2h' }))
    .token;
}

/** Enrolls `count` agents through the API (a fresh single-use token each), a few at a time. */
async function enrollAgents(server: Server, count: number, prefix: string) {
  const agents: { name: string; credential: string }[] = [];
  for (let start = 0; start < count; start += 16) {
    const batch = Array.from({ length: Math.min(16, count - start) }, async (_, k) => {
      const name = `${prefix}-${start + k}`;
      const token = await enrollmentToken(server);
      const body = { token, name, hostname: name, labels: {} };
      const enrolled = await api<{ credential: string }>(server, 'POST', '/api/v1/agents/enroll', body);
      return { name, credential: enrolled.credential };
    });
    agents.push(...(await Promise.all(batch)));
  }
  return agents;
}

/** CPU share of one core and RSS samples of `pid`, read from /proc every second for `seconds`. */
async function watchProcess(pid: number, seconds: number, alive: () => boolean) {
  const rss: number[] = [];
  const cpuStart = await cpuSeconds(pid);
  const started = performance.now();
  while (performance.now() - started < seconds * 1000 && alive()) {
    rss.push(await rssBytes(pid));
    await sleep(1000);
  }
  const cpu = (await cpuSeconds(pid)) - cpuStart;
  const wall = (performance.now() - started) / 1000;
  return { cpuShare: cpu / wall, cpuSeconds: cpu, wallSeconds: wall, rss };
}

async function waitConnected(server: Server, name: string, child: ChildProcess, logFile: string) {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`swas agent run exited (${child.exitCode}); see ${logFile}`);
    const { agents } = await api<{ agents: { name: string; connected: boolean }[] }>(
      server,
      'GET',
      '/api/v1/agents',
    );
    if (agents.some((a) => a.name === name && a.connected)) return;
    await sleep(250);
  }
  throw new Error(`agent ${name} did not connect within 60 s; see ${logFile}`);
}

/** Part (a): one real agent, default collectors, 10 s interval. */
async function footprint(ctx: BenchContext, server: Server, bin: string, seconds: number): Promise<void> {
  const dir = join(ctx.dir, 'agent');
  await mkdir(dir, { recursive: true });
  const config = join(dir, 'agent.yaml');
  const token = await enrollmentToken(server);
  await writeFile(
    config,
    `server: ${server.url}\nname: bench-footprint\nenrollment_token: ${token}\nstate_dir: state\ninterval: 10s\n`,
  );
  const logFile = join(dir, 'agent.log');
  const args = ['agent', 'run', '--config', config, '--log-format', 'json', '--log-level', 'warn'];
  const child = spawnLogged(...swasCommand(bin, args), logFile);
  try {
    await waitConnected(server, 'bench-footprint', child, logFile);
    ctx.log(`agent connected (pid ${child.pid}); measuring for ${seconds} s`);
    const watched = await watchProcess(child.pid ?? 0, seconds, () => child.exitCode === null);
    if (child.exitCode !== null) throw new Error(`swas agent run exited during the run; see ${logFile}`);
    const series = await queryScalar(server, 'count({agent="bench-footprint"})');
    const baseline = await idleNodeRss(dir);
    const note =
      `compiled agent (esbuild of src/, run by bin/swas.js, node ${process.version}), default collectors, ${series} series; ` +
      `an idle node process alone is ${round(baseline / MB)} MB`;
    ctx.figure('footprint_rss_max', {
      value: round(Math.max(...watched.rss) / MB),
      unit: 'MB',
      goal: '≤ 60',
      note,
    });
    ctx.figure('footprint_rss_median', { value: round(median(watched.rss) / MB), unit: 'MB', goal: '≤ 60' });
    ctx.figure('footprint_cpu', {
      value: round(watched.cpuShare * 100, 3),
      unit: '% of one core',
      goal: '≤ 1',
      note: `${round(watched.cpuSeconds, 3)} CPU s over ${round(watched.wallSeconds, 3)} s`,
    });
  } finally {
    await stopChild(child);
  }
}

/** RSS of a node process that loads nothing, for scale: what any Node program starts from. */
async function idleNodeRss(dir: string): Promise<number> {
  const child = spawnLogged(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], join(dir, 'idle.log'));
  try {
    await sleep(1000);
    return await rssBytes(child.pid ?? 0);
  } finally {
    await stopChild(child);
  }
}

async function queryScalar(server: Server, expr: string): Promise<number> {
  const body = await api<{ data: { result: { value: [number, string] }[] } }>(
    server,
    'GET',
    `/api/v1/query?${new URLSearchParams({ query: expr })}`,
  );
  return Number(body.data.result[0]?.value[1] ?? Number.NaN);
}

/** Polls the tracked agents' marker timestamps; each new one is a batch seen queryable at response time. */
async function pollDelays(server: Server, until: () => boolean): Promise<number[]> {
  const last = new Map<string, number>();
  const delays: number[] = [];
  const path = `/api/v1/query?${new URLSearchParams({ query: 'timestamp(swas_bench_marker)' })}`;
  while (!until()) {
    type Result = { data: { result: { metric: { agent: string }; value: [number, string] }[] } };
    const body = await api<Result>(server, 'GET', path).catch(() => null);
    const seenAt = Date.now();
    for (const row of body?.data.result ?? []) {
      const t = Math.round(Number(row.value[1]) * 1000);
      const previous = last.get(row.metric.agent);
      last.set(row.metric.agent, t);
      // The first sight of an agent is not timed: its batch may have arrived long before polling began.
      if (previous !== undefined && t > previous) delays.push(seenAt - t);
    }
    await sleep(200);
  }
  return delays;
}

/** Starts the load child and resolves with it once every simulated agent is welcomed. */
async function startLoad(ctx: BenchContext, config: AgentLoadConfig) {
  const file = join(ctx.dir, 'load.json');
  await writeFile(file, JSON.stringify(config));
  const logFile = join(ctx.dir, 'agentLoad.log');
  const child = spawnLogged(process.execPath, ['--import', TSX_IMPORT, LOAD_CHILD, file], logFile);
  const lines = createInterface({ input: child.stdout! });
  const reports: string[] = [];
  let wake: (() => void) | null = null;
  lines.on('line', (line) => {
    reports.push(line);
    wake?.();
  });
  const next = async (timeoutMs: number): Promise<string> => {
    const deadline = Date.now() + timeoutMs;
    while (reports.length === 0) {
      if (child.exitCode !== null || Date.now() > deadline)
        throw new Error(`the load generator stopped or timed out without a report; see ${logFile}`);
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 500);
      });
    }
    return reports.shift() ?? '';
  };
  await next(600_000);
  return { child, next };
}

/** Part (b): N simulated agents against one server. */
async function scale(ctx: BenchContext, server: Server, settings: ReturnType<typeof agentSettings>) {
  const { agents: count, intervalMs } = settings;
  ctx.log(`enrolling ${count} agents`);
  const agents = await enrollAgents(server, count, 'sim');
  const trackEvery = Math.max(1, Math.floor(count / 200));
  const config: AgentLoadConfig = {
    url: `${server.url.replace('http:', 'ws:')}/api/v1/agents/connect`,
    agents,
    intervalMs,
    series: settings.series,
    probes: settings.probes,
    trackEvery,
    // Sending goes on past the measured window so the generator is still running when it is last read.
    durationMs: (settings.scaleSeconds + 10 + (2 * intervalMs) / 1000) * 1000,
    connectConcurrency: 50,
  };
  ctx.log(`connecting ${count} agents`);
  const load = await startLoad(ctx, config);
  try {
    ctx.log(
      `all connected; warming up for ${(2 * intervalMs) / 1000} s, then measuring ${settings.scaleSeconds} s`,
    );
    await sleep(2 * intervalMs);
    let measuring = true;
    const delaysPromise = pollDelays(server, () => !measuring);
    const [serverUse, loadUse] = await Promise.all([
      watchProcess(server.pid, settings.scaleSeconds, () => server.child.exitCode === null),
      watchProcess(load.child.pid ?? 0, settings.scaleSeconds, () => load.child.exitCode === null),
    ]);
    measuring = false;
    const delays = await delaysPromise;
    const report = JSON.parse(await load.next(120_000)) as AgentLoadReport;
    const stored = await queryScalar(
      server,
      'count({__name__=~"bench_metric_.*|probe_.*|swas_bench_marker"})',
    );
    scaleFigures(ctx, settings, { serverUse, loadUse, delays, report, stored, trackEvery });
  } finally {
    await stopChild(load.child);
  }
}

type Watched = Awaited<ReturnType<typeof watchProcess>>;

function scaleFigures(
  ctx: BenchContext,
  settings: ReturnType<typeof agentSettings>,
  run: {
    serverUse: Watched;
    loadUse: Watched;
    delays: number[];
    report: AgentLoadReport;
    stored: number;
    trackEvery: number;
  },
): void {
  const { serverUse, loadUse, delays, report } = run;
  const perBatch = settings.series + 2 * settings.probes;
  const rate = (settings.agents * perBatch) / (settings.intervalMs / 1000);
  ctx.figure('scale_server_cpu', {
    value: round(serverUse.cpuShare, 3),
    unit: 'cores (of 2)',
    goal: 'headroom on 2 cores',
    note: `${settings.agents} agents × ${perBatch} samples / 10 s = ${round(rate)} samples/s; load generator used ${round(loadUse.cpuShare, 3)} cores on the same machine`,
  });
  ctx.figure('scale_server_rss_max', { value: round(Math.max(...serverUse.rss) / MB), unit: 'MB' });
  ctx.figure('scale_server_rss_median', { value: round(median(serverUse.rss) / MB), unit: 'MB' });
  const sorted = [...delays].sort((a, b) => a - b);
  ctx.figure('scale_delay_to_queryable', {
    value: round(median(delays) / 1000),
    unit: 's',
    min: round((sorted[0] ?? Number.NaN) / 1000),
    max: round((sorted.at(-1) ?? Number.NaN) / 1000),
    trials: delays.length,
    goal: 'median ≤ 1',
    note: `p99 ${round((sorted[Math.floor(0.99 * sorted.length)] ?? Number.NaN) / 1000)} s; sample time → first poll answer showing it (polled every 200 ms, so up to ~0.2 s over); 1 agent in ${run.trackEvery} tracked`,
  });
  ctx.figure('scale_ack_ms', {
    value: round(report.ackMsMedian),
    unit: 'ms',
    max: round(report.ackMsMax),
    trials: report.acked,
    note: `send → ack (samples durable); p99 ${round(report.ackMsP99)} ms; ${report.unacked} unacked of ${report.batches} batches; ${report.closedByServer} connections closed by the server`,
  });
  ctx.figure('scale_series_stored', {
    value: run.stored,
    unit: 'series',
    note: `expected ${settings.agents * perBatch}`,
  });
}

/** Runs the footprint and the scale parts against one server. */
export async function run(ctx: BenchContext): Promise<void> {
  const settings = agentSettings();
  // Server and agent run compiled, as the installed `swas` command runs them.
  const bin = await buildCompiledSwas(join(ctx.dir, 'build'));
  const server = await startServer(ctx, bin);
  try {
    ctx.log(`server up at ${server.url}; footprint for ${settings.footprintSeconds} s`);
    await footprint(ctx, server, bin, settings.footprintSeconds);
    await scale(ctx, server, settings);
  } finally {
    await stopChild(server.child);
  }
}
