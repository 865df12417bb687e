/**
 * The demo as a library: a fleet of three web servers behind HAProxy, a webhook receiver, swas watching
 * and repairing them, and bounded load. `main.ts` (the README's demo) and the end-to-end test both use it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { startFleet, type Fleet } from './fleet.js';
import { stopProcess } from './processes.js';
import { TSX_IMPORT } from './servicectl.js';

/** The repository root. */
export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SWAS_CLI = join(REPO_ROOT, 'src/cli/main.ts');

/** Options for {@link startDemo}. */
export interface DemoOptions {
  /** A state directory of the caller's; emptied state goes there. */
  readonly dir: string;
  /** swas's port. @default 7927 */
  readonly swasPort?: number;
  readonly frontendPort?: number;
  readonly basePort?: number;
  readonly slowstartSeconds?: number;
}

/** A notification the demo's webhook receiver got from swas. */
export interface ReceivedNotification {
  readonly event: string;
  readonly urgency: string;
  readonly reason: string;
  readonly incident: { readonly id: number; readonly title: string; readonly status: string };
}

/** A running demo; `stop()` ends swas, the fleet and the receiver. */
export interface Demo {
  readonly fleet: Fleet;
  readonly swasUrl: string;
  readonly token: string;
  readonly swas: ChildProcess;
  readonly swasLog: string;
  readonly notifications: ReceivedNotification[];
  /** Called for each notification as it arrives. */
  onNotification: (n: ReceivedNotification) => void;
  stop(): Promise<void>;
}

/** Runs the swas CLI from source (so the demo always runs the code in this checkout). */
export function swasArgv(args: readonly string[]): string[] {
  return ['--import', TSX_IMPORT, SWAS_CLI, ...args];
}

/** Starts the fleet, the receiver and swas, and waits until swas is ready. */
export async function startDemo(options: DemoOptions): Promise<Demo> {
  await mkdir(options.dir, { recursive: true });
  const fleet = await startFleet({
    dir: options.dir,
    basePort: options.basePort,
    frontendPort: options.frontendPort,
    slowstartSeconds: options.slowstartSeconds ?? 10,
  });
  const notifications: ReceivedNotification[] = [];
  let receiver: Server | null = null;
  let swas: ChildProcess | null = null;
  try {
    let demo: Demo | null = null;
    const hook = await startReceiver((n) => {
      notifications.push(n);
      demo?.onNotification(n);
    });
    receiver = hook.server;
    const swasPort = options.swasPort ?? 7927;
    const configFile = join(options.dir, 'swas.yaml');
    await writeFile(configFile, demoConfig(fleet, options.dir, swasPort, hook.url));
    const created = spawnSync(
      process.execPath,
      swasArgv(['token', 'create', '--role', 'admin', '--name', 'demo', '--config', configFile, '--json']),
      { encoding: 'utf8' },
    );
    if (created.status !== 0) throw new Error(`swas token create failed:\n${created.stderr}`);
    const token = (JSON.parse(created.stdout) as { token: string }).token;
    const swasLog = join(options.dir, 'swas.log');
    const log = createWriteStream(swasLog, { flags: 'a' });
    const running = spawn(
      process.execPath,
      swasArgv(['up', '--config', configFile, '--log-format', 'json']),
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    swas = running;
    running.stdout.pipe(log);
    running.stderr.pipe(log);
    const swasUrl = `http://127.0.0.1:${swasPort}`;
    await waitReady(swasUrl, running, swasLog);
    const server = hook.server;
    demo = {
      fleet,
      swasUrl,
      token,
      swas: running,
      swasLog,
      notifications,
      onNotification: () => undefined,
      async stop() {
        await stopProcess(running, 15_000);
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await fleet.stop();
      },
    };
    return demo;
  } catch (error) {
    if (swas) await stopProcess(swas, 15_000);
    receiver?.close();
    await fleet.stop();
    throw error;
  }
}

/** swas.yaml for the demo: scrape every member each second, rules and runbook from examples/. */
function demoConfig(fleet: Fleet, dir: string, swasPort: number, webhookUrl: string): string {
  const here = fileURLToPath(new URL('.', import.meta.url));
  const targets = fleet.members
    .map(
      (m) =>
        `      - targets: ['127.0.0.1:${m.port}']\n        labels: { pool: ${fleet.pool}, member: ${m.name} }`,
    )
    .join('\n');
  const services = fleet.members
    .map(
      (m) => `  ${m.name}:\n    restart: ${JSON.stringify(fleet.restartCommand(m.name))}\n    timeout: 30s`,
    )
    .join('\n');
  return `# Written by the demo; see examples/swas.yaml for a documented config.
server:
  listen: 127.0.0.1:${swasPort}
data_dir: ${JSON.stringify(join(dir, 'data'))}
scrape_configs:
  - job_name: web
    scrape_interval: 1s
    scrape_timeout: 800ms
    static_configs:
${targets}
rules:
  evaluation_interval: 1s
  files: [${JSON.stringify(join(here, '../rules/web.yml'))}]
runbooks:
  files: [${JSON.stringify(join(here, '../runbooks/*.yml'))}]
incidents:
  group_by: [alertname, pool, member]
load_balancers:
  - name: demo-haproxy
    type: haproxy
    socket: ${JSON.stringify(fleet.haproxySocket)}
    pools: [${fleet.pool}]
services:
${services}
notify:
  webhooks:
    - name: demo-receiver
      url: ${webhookUrl}
      timeout: 2s
      retries: 3
`;
}

async function startReceiver(
  onNotification: (n: ReceivedNotification) => void,
): Promise<{ server: Server; url: string }> {
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      try {
        onNotification(JSON.parse(body) as ReceivedNotification);
        response.statusCode = 204;
      } catch {
        response.statusCode = 400;
      }
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return { server, url: `http://127.0.0.1:${port}/notify` };
}

async function waitReady(url: string, child: ChildProcess, logFile: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(`swas exited with code ${child.exitCode} before it was ready; see ${logFile}`);
    const ok = await fetch(`${url}/-/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await sleep(200);
  }
  throw new Error(`swas was not ready within 30 s; see ${logFile}`);
}
