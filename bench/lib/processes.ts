import { stopProcess } from '../../examples/demo/processes.js';
/** Child-process plumbing shared by the engines: log to a file, wait for readiness, stop gracefully. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

const live = new Set<ChildProcess>();

/** Spawns `command` with stdout and stderr appended to `logFile`. */
export function spawnLogged(command: string, args: readonly string[], logFile: string): ChildProcess {
  const log = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  child.once('exit', () => live.delete(child));
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  return child;
}

/** Polls `url` until it answers 2xx, failing early (naming the log) if the child exits first. */
export async function waitHttpOk(
  url: string,
  child: ChildProcess,
  what: string,
  logFile: string,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(
        `${what} exited (${child.exitCode ?? child.signalCode}) before it was ready; see ${logFile}`,
      );
    const ok = await fetch(url, { signal: AbortSignal.timeout(2000) }).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await sleep(200);
  }
  throw new Error(`${what} was not ready at ${url} within ${timeoutMs / 1000} s; see ${logFile}`);
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the child has exited. */
export function stopChild(child: ChildProcess, graceMs = 10_000): Promise<void> {
  return stopProcess(child, graceMs);
}

/** Kills every child this harness started and that still runs (for Ctrl-C); only our own processes. */
export function killStarted(): void {
  for (const child of live) child.kill('SIGKILL');
}
