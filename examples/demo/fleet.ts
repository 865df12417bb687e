/**
 * The demo fleet: N demo web servers run by servicectl behind a real HAProxy, configured like a sane
 * production pool (health checks, slow start, retries with redispatch), for swas to watch and repair.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startHaproxy, type HaproxyProcess } from './haproxy.js';
import { freePort, freePorts } from './ports.js';
import {
  readServices,
  SERVICECTL_PATH,
  startService,
  stopService,
  TSX_IMPORT,
  type ServiceSpec,
} from './servicectl.js';

/** Options for {@link startFleet}. */
export interface FleetOptions {
  /** The state directory: services.json, pidfiles, logs, the HAProxy config and its admin socket. */
  readonly dir: string;
  /** @default 3 */
  readonly members?: number;
  /** Member i listens on basePort + i − 1. @default free ports */
  readonly basePort?: number;
  /** @default a free port */
  readonly frontendPort?: number;
  /** HAProxy's slow start for a member coming back UP; 0 turns it off. @default 10 */
  readonly slowstartSeconds?: number;
  /** Each member's `--capacity` (see webserver.ts). @default unlimited */
  readonly capacity?: number;
}

/** One member of the pool. */
export interface FleetMember {
  readonly name: string;
  readonly port: number;
  readonly metricsUrl: string;
  readonly faultUrl: string;
}

/** A running fleet; `stop()` ends HAProxy and every member. */
export interface Fleet {
  readonly dir: string;
  readonly frontendUrl: string;
  readonly haproxySocket: string;
  readonly pool: 'web';
  readonly members: readonly FleetMember[];
  /** The argv that restarts a member, for swas's config. */
  restartCommand(name: string): string[];
  stop(): Promise<void>;
}

/** One server line of HAProxy's `show stat`. */
export interface PoolServerStat {
  readonly name: string;
  /** `UP`, `DOWN`, `MAINT`, `DRAIN`, or a transition such as `UP 1/2`. */
  readonly status: string;
  /** The last check's result, e.g. `L7OK`, `L4CON`, `L7STS`. */
  readonly checkStatus: string;
  readonly weight: number;
}

const POOL = 'web';
const UP_TIMEOUT_MS = 15_000;

/** Sends one command to HAProxy's admin socket and returns the whole answer. */
function adminCommand(socketPath: string, command: string): Promise<string> {
  return new Promise((done, fail) => {
    const socket = connect(socketPath);
    let text = '';
    socket.setEncoding('utf8');
    socket.setTimeout(3000, () =>
      socket.destroy(new Error(`HAProxy socket ${socketPath} did not answer in 3 s`)),
    );
    socket.on('data', (chunk: string) => (text += chunk));
    socket.once('error', fail);
    socket.once('end', () => done(text));
    socket.end(`${command}\n`);
  });
}

/** Reads the servers of `pool` from HAProxy's `show stat`. */
export async function readPoolStats(socketPath: string, pool: string = POOL): Promise<PoolServerStat[]> {
  const [header, ...rows] = (await adminCommand(socketPath, 'show stat')).split('\n');
  const columns = (header ?? '').replace(/^# /, '').split(',');
  const at = (name: string) => columns.indexOf(name);
  const servers: PoolServerStat[] = [];
  for (const row of rows) {
    const cells = row.split(',');
    const svname = cells[at('svname')] ?? '';
    if (cells[at('pxname')] !== pool || svname === '' || svname === 'FRONTEND' || svname === 'BACKEND')
      continue;
    servers.push({
      name: svname,
      status: cells[at('status')] ?? '',
      checkStatus: cells[at('check_status')] ?? '',
      weight: Number(cells[at('weight')] ?? 0),
    });
  }
  return servers;
}

function haproxyConfig(
  frontendPort: number,
  services: Record<string, ServiceSpec>,
  slowstart: number,
): string {
  const slow = slowstart > 0 ? ` slowstart ${slowstart}s` : '';
  const servers = Object.entries(services).map(
    ([name, spec]) => `  server ${name} 127.0.0.1:${spec.port} check inter 1s fall 2 rise 2${slow}`,
  );
  return [
    'defaults',
    '  mode http',
    '  timeout connect 2s',
    '  timeout client 30s',
    '  timeout server 30s',
    '  timeout check 2s',
    '  timeout http-request 10s',
    '  timeout http-keep-alive 10s',
    // A request caught by a crash is retried on another member instead of reaching the user as a 503.
    '  retries 2',
    '  option redispatch',
    '  retry-on conn-failure empty-response',
    '',
    'frontend fe_web',
    `  bind 127.0.0.1:${frontendPort}`,
    `  default_backend ${POOL}`,
    '',
    `backend ${POOL}`,
    '  balance roundrobin',
    '  option httpchk GET /healthz',
    '  http-check expect status 200',
    ...servers,
    '',
  ].join('\n');
}

async function waitAllUp(socketPath: string, names: string[]): Promise<void> {
  const deadline = Date.now() + UP_TIMEOUT_MS;
  let last: PoolServerStat[] = [];
  while (Date.now() < deadline) {
    last = await readPoolStats(socketPath);
    const up = new Set(last.filter((s) => s.status === 'UP' && s.checkStatus === 'L7OK').map((s) => s.name));
    if (names.every((name) => up.has(name))) return;
    await sleep(200);
  }
  const seen = last.map((s) => `${s.name} ${s.status} (${s.checkStatus})`).join(', ');
  throw new Error(`HAProxy did not see every member UP within ${UP_TIMEOUT_MS / 1000} s: ${seen}`);
}

async function stopAll(dir: string, names: string[], haproxy: HaproxyProcess | null): Promise<string[]> {
  const problems: string[] = [];
  try {
    if (haproxy !== null) await haproxy.stop();
  } catch (error) {
    problems.push(`HAProxy did not stop: ${String(error)}`);
  }
  const results = await Promise.all(names.map((name) => stopService(dir, name)));
  for (const result of results) if (!result.ok) problems.push(result.message);
  return problems;
}

/** Starts the members and HAProxy and waits until HAProxy sees every member UP; cleans up if any step fails. */
export async function startFleet(options: FleetOptions): Promise<Fleet> {
  const dir = resolve(options.dir);
  const count = options.members ?? 3;
  const slowstart = options.slowstartSeconds ?? 10;
  if (!Number.isInteger(count) || count < 1)
    throw new Error(`fleet members must be a positive integer, got ${count}`);
  if (!Number.isInteger(slowstart) || slowstart < 0)
    throw new Error(`slowstartSeconds must be 0 or more, got ${slowstart}`);
  await mkdir(dir, { recursive: true });
  // Servers left over from an earlier demo in the same directory would hold their ports.
  const previous = await readServices(dir);
  if (previous.ok) await stopAll(dir, Object.keys(previous.services), null);

  const ports = options.basePort === undefined ? await freePorts(count + 1) : [];
  const frontendPort = options.frontendPort ?? ports[count] ?? (await freePort());
  const services: Record<string, ServiceSpec> = {};
  for (let i = 0; i < count; i++) {
    const port = options.basePort === undefined ? (ports[i] ?? 0) : options.basePort + i;
    services[`web-${i + 1}`] =
      options.capacity === undefined ? { port } : { port, capacity: options.capacity };
  }
  await writeFile(join(dir, 'services.json'), `${JSON.stringify(services, null, 2)}\n`);
  const names = Object.keys(services);

  let haproxy: HaproxyProcess | null = null;
  try {
    const started = await Promise.all(names.map((name) => startService(dir, name)));
    const failed = started.filter((result) => !result.ok).map((result) => result.message);
    if (failed.length > 0) throw new Error(`fleet members did not start: ${failed.join('; ')}`);
    haproxy = await startHaproxy({ dir, config: haproxyConfig(frontendPort, services, slowstart) });
    await waitAllUp(haproxy.socketPath, names);
  } catch (error) {
    await stopAll(dir, names, haproxy);
    throw error;
  }

  const running = haproxy;
  let stopping: Promise<void> | null = null;
  return {
    dir,
    frontendUrl: `http://127.0.0.1:${frontendPort}/`,
    haproxySocket: running.socketPath,
    pool: POOL,
    members: names.map((name) => {
      const port = services[name]?.port ?? 0;
      return {
        name,
        port,
        metricsUrl: `http://127.0.0.1:${port}/metrics`,
        faultUrl: `http://127.0.0.1:${port}/fault`,
      };
    }),
    restartCommand: (name) => [
      process.execPath,
      '--import',
      TSX_IMPORT,
      SERVICECTL_PATH,
      'restart',
      name,
      '--dir',
      dir,
    ],
    stop() {
      stopping ??= stopAll(dir, names, running).then((problems) => {
        if (problems.length > 0) throw new Error(`fleet stop was incomplete: ${problems.join('; ')}`);
      });
      return stopping;
    },
  };
}
