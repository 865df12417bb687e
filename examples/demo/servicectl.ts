/**
 * servicectl: starts, stops and restarts the demo web servers, like a tiny init system. swas's config names
 * `servicectl.ts restart NAME --dir DIR` as a member's restart command.
 *
 *   node --import tsx examples/demo/servicectl.ts <start|stop|restart|status> NAME --dir STATE_DIR
 *
 * STATE_DIR holds `services.json` (`{ "web-1": { "port": 18081, "capacity"?: n } }`, written by fleet.ts),
 * `<name>.pid` and `<name>.log`. Exit codes: 0 ok, 1 failure (stderr says what and where the log is), 2 usage
 * or configuration error. Start of a running service and stop of a stopped one succeed without doing anything.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, realpathSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { z } from 'zod';

/** Absolute path of this script, for restart commands that other processes run. */
export const SERVICECTL_PATH = fileURLToPath(import.meta.url);
/**
 * The `--import` value that loads tsx from this repository: a bare `tsx` would resolve from the working
 * directory, which is wrong when swas runs a restart command from elsewhere.
 */
export const TSX_IMPORT = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const WEBSERVER_PATH = fileURLToPath(new URL('./webserver.ts', import.meta.url));
// Children run from the repository root so their relative paths mean the same as in the README.
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const START_TIMEOUT_MS = 10_000;
const STOP_GRACE_MS = 3000;
const USAGE =
  'usage: node --import tsx examples/demo/servicectl.ts <start|stop|restart|status> NAME --dir STATE_DIR';

/** One demo service as services.json declares it. */
export interface ServiceSpec {
  readonly port: number;
  readonly capacity?: number;
}

const servicesSchema = z.record(
  z.string().regex(/^[A-Za-z0-9._-]+$/),
  z.object({ port: z.number().int().min(1).max(65535), capacity: z.number().int().positive().optional() }),
);

/** What a servicectl operation did; `reason: 'usage'` marks errors in the caller's input or state dir. */
export type ServiceResult =
  | {
      readonly ok: true;
      readonly name: string;
      readonly state: 'running' | 'stopped';
      readonly pid: number | null;
      readonly changed: boolean;
      readonly message: string;
    }
  | {
      readonly ok: false;
      readonly name: string;
      readonly reason: 'usage' | 'failure';
      readonly message: string;
    };

type Lookup = { ok: true; spec: ServiceSpec } | { ok: false; result: ServiceResult };

/** Reads and checks `<dir>/services.json`. */
export async function readServices(
  dir: string,
): Promise<{ ok: true; services: Record<string, ServiceSpec> } | { ok: false; message: string }> {
  const file = join(dir, 'services.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return {
      ok: false,
      message: `no ${file}: is --dir the demo's state directory? (fleet.ts writes that file)`,
    };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return {
      ok: false,
      message: `${file} is not valid JSON (${String(error)}); restart the demo to rewrite it`,
    };
  }
  const parsed = servicesSchema.safeParse(json);
  if (!parsed.success)
    return { ok: false, message: `${file} is malformed: ${z.prettifyError(parsed.error)}` };
  return { ok: true, services: parsed.data };
}

async function lookup(dir: string, name: string): Promise<Lookup> {
  const services = await readServices(dir);
  if (!services.ok)
    return { ok: false, result: { ok: false, name, reason: 'usage', message: services.message } };
  const spec = services.services[name];
  if (spec !== undefined) return { ok: true, spec };
  const known = Object.keys(services.services).join(', ') || '(none)';
  const message = `no service "${name}" in ${join(dir, 'services.json')}; known services: ${known}`;
  return { ok: false, result: { ok: false, name, reason: 'usage', message } };
}

function pidFile(dir: string, name: string): string {
  return join(dir, `${name}.pid`);
}

/** The pid of the service's live web server, or null; a stale pidfile (dead, zombie or reused pid) is null. */
async function runningPid(dir: string, name: string): Promise<number | null> {
  let pid: number;
  try {
    pid = Number((await readFile(pidFile(dir, name), 'utf8')).trim());
  } catch {
    return null;
  }
  if (!Number.isInteger(pid) || pid <= 0) return null;
  return isOurProcess(pid, name) ? pid : null;
}

function isOurProcess(pid: number, name: string): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  // /proc tells a zombie or a reused pid apart from our server; without /proc, a live pid has to do.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return false;
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmdline.includes('webserver.ts') && cmdline.includes(`--name\0${name}\0`);
  } catch {
    return true;
  }
}

/** Asks `/healthz` and returns the pid the server reports (`x-demo-pid`), or null when nothing healthy answers. */
function healthyPid(port: number): Promise<number | null> {
  return new Promise((done) => {
    const req = request({ host: '127.0.0.1', port, path: '/healthz', timeout: 1000 }, (res) => {
      res.resume();
      const pid = Number(res.headers['x-demo-pid']);
      done(res.statusCode === 200 && Number.isInteger(pid) ? pid : null);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => done(null));
    req.end();
  });
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  // Servers run in their own process group (detached), so the group takes any children with it.
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // Already gone.
    }
  }
}

async function waitGone(pid: number, name: string, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!isOurProcess(pid, name)) return true;
    await sleep(50);
  }
  return !isOurProcess(pid, name);
}

/** Starts the service unless it runs already, and waits (up to 10 s) until its `/healthz` answers 200. */
export async function startService(dir: string, name: string): Promise<ServiceResult> {
  dir = resolve(dir);
  const found = await lookup(dir, name);
  if (!found.ok) return found.result;
  const running = await runningPid(dir, name);
  if (running !== null) {
    const message = `${name} is already running (pid ${running})`;
    return { ok: true, name, state: 'running', pid: running, changed: false, message };
  }
  return launch(dir, name, found.spec);
}

async function launch(dir: string, name: string, spec: ServiceSpec): Promise<ServiceResult> {
  const logPath = join(dir, `${name}.log`);
  const args = ['--import', TSX_IMPORT, WEBSERVER_PATH, '--name', name, '--port', String(spec.port)];
  if (spec.capacity !== undefined) args.push('--capacity', String(spec.capacity));
  const fd = openSync(logPath, 'a');
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, detached: true, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  const failed = (why: string): ServiceResult => ({
    ok: false,
    name,
    reason: 'failure',
    message: `${name} did not start: ${why}; see ${logPath}`,
  });
  // Set from event callbacks, hence an object: the loop below re-reads it after every await.
  const ended: { how: string | null } = { how: null };
  child.once('exit', (code, signal) => {
    ended.how = signal === null ? `exited with code ${code}` : `was killed by ${signal}`;
  });
  child.once('error', (error) => {
    ended.how = `could not be spawned (${error.message})`;
  });
  child.unref();
  const pid = child.pid;
  if (pid === undefined) {
    await sleep(10);
    return failed(ended.how ?? `${process.execPath} could not be spawned`);
  }
  await writeFile(pidFile(dir, name), `${pid}\n`);
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (ended.how !== null) break;
    if ((await healthyPid(spec.port)) === pid) {
      const message = `${name} started (pid ${pid}, port ${spec.port})`;
      return { ok: true, name, state: 'running', pid, changed: true, message };
    }
    await sleep(100);
  }
  signalGroup(pid, 'SIGKILL');
  await rm(pidFile(dir, name), { force: true });
  if (ended.how !== null) return failed(`the web server ${ended.how}`);
  return failed(
    `nothing of ours answered http://127.0.0.1:${spec.port}/healthz within ${START_TIMEOUT_MS / 1000} s`,
  );
}

/** Stops the service (SIGTERM, then SIGKILL after 3 s) and removes its pidfile; stopped already is success. */
export async function stopService(dir: string, name: string): Promise<ServiceResult> {
  dir = resolve(dir);
  const found = await lookup(dir, name);
  if (!found.ok) return found.result;
  const pid = await runningPid(dir, name);
  if (pid === null) {
    await rm(pidFile(dir, name), { force: true });
    return {
      ok: true,
      name,
      state: 'stopped',
      pid: null,
      changed: false,
      message: `${name} is already stopped`,
    };
  }
  signalGroup(pid, 'SIGTERM');
  let how = 'SIGTERM';
  if (!(await waitGone(pid, name, STOP_GRACE_MS))) {
    signalGroup(pid, 'SIGKILL');
    how = `SIGKILL after ${STOP_GRACE_MS / 1000} s`;
    if (!(await waitGone(pid, name, 2000))) {
      const message = `${name} (pid ${pid}) survived SIGKILL; see ${join(dir, `${name}.log`)} and kill it by hand`;
      return { ok: false, name, reason: 'failure', message };
    }
  }
  await rm(pidFile(dir, name), { force: true });
  return {
    ok: true,
    name,
    state: 'stopped',
    pid: null,
    changed: true,
    message: `${name} stopped (pid ${pid}, ${how})`,
  };
}

/** Stops the service if it runs, then starts it. */
export async function restartService(dir: string, name: string): Promise<ServiceResult> {
  const stopped = await stopService(dir, name);
  if (!stopped.ok) return stopped;
  const started = await startService(dir, name);
  if (!started.ok) return started;
  return {
    ...started,
    changed: true,
    message: `${name} restarted (pid ${started.pid}, was ${stopped.message})`,
  };
}

/** Says whether the service runs, and with which pid. */
export async function serviceStatus(dir: string, name: string): Promise<ServiceResult> {
  dir = resolve(dir);
  const found = await lookup(dir, name);
  if (!found.ok) return found.result;
  const pid = await runningPid(dir, name);
  if (pid === null)
    return { ok: true, name, state: 'stopped', pid: null, changed: false, message: `${name} stopped` };
  const message = `${name} running (pid ${pid}, port ${found.spec.port})`;
  return { ok: true, name, state: 'running', pid, changed: false, message };
}

const COMMANDS = { start: startService, stop: stopService, restart: restartService, status: serviceStatus };

/** The command line: returns the exit code after printing the outcome. */
export async function servicectlMain(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: { dir: { type: 'string' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    process.stderr.write(`servicectl: ${error instanceof Error ? error.message : String(error)}\n${USAGE}\n`);
    return 2;
  }
  const [command, name, ...extra] = parsed.positionals;
  const usage = (why: string) => {
    process.stderr.write(`servicectl: ${why}\n${USAGE}\n`);
    return 2;
  };
  if (command === undefined) return usage('no command given');
  if (!Object.hasOwn(COMMANDS, command)) return usage(`unknown command "${command}"`);
  if (name === undefined) return usage(`"${command}" needs a service NAME`);
  if (extra.length > 0) return usage(`unexpected arguments: ${extra.join(' ')}`);
  if (parsed.values.dir === undefined) return usage('--dir STATE_DIR is required');
  const result = await COMMANDS[command as keyof typeof COMMANDS](parsed.values.dir, name);
  if (result.ok) {
    process.stdout.write(`${result.message}\n`);
    return 0;
  }
  process.stderr.write(`servicectl ${command}: ${result.message}\n`);
  return result.reason === 'usage' ? 2 : 1;
}

function isMain(): boolean {
  try {
    return realpathSync(process.argv[1] ?? '') === realpathSync(SERVICECTL_PATH);
  } catch {
    return false;
  }
}

if (isMain()) process.exitCode = await servicectlMain(process.argv.slice(2));
