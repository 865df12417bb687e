import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stopProcess } from './processes.js';

/** The command that installs HAProxy on this machine kind (Debian). */
export const HAPROXY_INSTALL_COMMAND = 'apt-get update && apt-get install -y haproxy';

/** A running HAProxy started by the demo or a test; `stop()` ends it. */
export interface HaproxyProcess {
  readonly socketPath: string;
  readonly configPath: string;
  readonly process: ChildProcess;
  /** Re-reads the config file (a full restart, which loses runtime state as a reload would). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** Options for {@link startHaproxy}. */
export interface StartHaproxyOptions {
  /** A directory of the caller's; the config, socket and log go there. */
  readonly dir: string;
  /**
   * The config without its `global` section; `startHaproxy` adds a global section with an
   * admin-level stats socket at `<dir>/admin.sock`.
   */
  readonly config: string;
}

/** Finds the haproxy binary, or says how to install it. */
export function haproxyBinary(): { ok: true; path: string } | { ok: false; message: string } {
  for (const path of ['/usr/sbin/haproxy', '/usr/bin/haproxy', '/usr/local/sbin/haproxy']) {
    if (existsSync(path)) return { ok: true, path };
  }
  const which = spawnSync('sh', ['-c', 'command -v haproxy'], { encoding: 'utf8' });
  const found = which.stdout.trim();
  if (which.status === 0 && found !== '') return { ok: true, path: found };
  return { ok: false, message: `HAProxy is not installed. Install it with: ${HAPROXY_INSTALL_COMMAND}` };
}

/** Starts HAProxy in the foreground (`-db`) with an admin socket and waits until the socket answers. */
export async function startHaproxy(options: StartHaproxyOptions): Promise<HaproxyProcess> {
  const binary = haproxyBinary();
  if (!binary.ok) throw new Error(binary.message);
  const socketPath = join(options.dir, 'admin.sock');
  const configPath = join(options.dir, 'haproxy.cfg');
  const global = [
    'global',
    `  stats socket ${socketPath} mode 600 level admin`,
    '  stats timeout 30s',
    '',
  ].join('\n');
  await writeFile(configPath, `${global}\n${options.config}\n`);
  const check = spawnSync(binary.path, ['-c', '-q', '-f', configPath], { encoding: 'utf8' });
  if (check.status !== 0) throw new Error(`HAProxy rejected ${configPath}:\n${check.stdout}${check.stderr}`);

  let child = await launch(binary.path, configPath, socketPath, options.dir);
  const handle: HaproxyProcess = {
    socketPath,
    configPath,
    get process() {
      return child;
    },
    async restart() {
      await stopProcess(child, 3000);
      child = await launch(binary.path, configPath, socketPath, options.dir);
    },
    async stop() {
      await stopProcess(child, 3000);
    },
  };
  return handle;
}

async function launch(
  binary: string,
  configPath: string,
  socketPath: string,
  dir: string,
): Promise<ChildProcess> {
  const { openSync } = await import('node:fs');
  const log = openSync(join(dir, 'haproxy.log'), 'a');
  const child = spawn(binary, ['-db', '-f', configPath], { stdio: ['ignore', log, log] });
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(`HAProxy exited with code ${child.exitCode}; see ${dir}/haproxy.log`);
    if (existsSync(socketPath) && (await socketAnswers(socketPath))) return child;
    await sleep(50);
  }
  child.kill('SIGKILL');
  throw new Error(`HAProxy's admin socket ${socketPath} did not answer within 10 s; see ${dir}/haproxy.log`);
}

async function socketAnswers(socketPath: string): Promise<boolean> {
  const { connect } = await import('node:net');
  return new Promise((resolve) => {
    const socket = connect(socketPath);
    socket.once('error', () => resolve(false));
    socket.end('show info\n');
    socket.once('data', () => {
      socket.destroy();
      resolve(true);
    });
  });
}
