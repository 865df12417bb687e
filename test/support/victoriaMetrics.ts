import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { stopProcess } from '../../examples/demo/processes.js';
import { freePort } from './ports.js';
import { eventually } from './swasServer.js';

const VM_INSTALL_COMMAND = 'apt-get update && apt-get install -y victoria-metrics';

/** A VictoriaMetrics started by a test on loopback. */
export interface Vm {
  readonly child: ChildProcess;
  readonly url: string;
  readonly logPath: string;
}

/** Starts VictoriaMetrics (Debian package) on a free loopback port with its data in `dir`. */
export async function startVm(dir: string): Promise<Vm> {
  const which = spawnSync('sh', ['-c', 'command -v victoria-metrics'], { encoding: 'utf8' });
  const binary = which.stdout.trim();
  if (which.status !== 0 || binary === '') {
    throw new Error(`victoria-metrics is not installed. Install it with: ${VM_INSTALL_COMMAND}`);
  }
  const port = await freePort();
  const logPath = join(dir, 'vm.log');
  const log = openSync(logPath, 'a');
  const child = spawn(
    binary,
    [
      `-httpListenAddr=127.0.0.1:${port}`,
      `-storageDataPath=${join(dir, 'data')}`,
      '-search.latencyOffset=1s',
      '-retentionPeriod=1d',
      // Results must reflect the samples just written, not a cache filled before they arrived.
      '-search.disableCache',
    ],
    { stdio: ['ignore', log, log] },
  );
  closeSync(log);
  const url = `http://127.0.0.1:${port}`;
  await eventually(
    `VictoriaMetrics answering on ${url}/health (log: ${logPath})`,
    async () => (await fetch(`${url}/health`)).ok,
    20_000,
  );
  return { child, url, logPath };
}

/** Stops VictoriaMetrics: SIGTERM, then SIGKILL after 5 s. */
export function stopVm(child: ChildProcess): Promise<void> {
  return stopProcess(child, 5000);
}
