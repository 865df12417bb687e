import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeTempDir } from '../../../test/support/tmp.js';
import { parsePidStat, ServiceCollector } from './processes.js';
import type { CollectedSample } from './types.js';

function valueOf(samples: CollectedSample[], name: string, service: string): number | undefined {
  return samples.find((s) => s.name === name && s.labels.service === service)?.value;
}

const children: ChildProcess[] = [];
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const child of children.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

/** Starts a real `sleep`; the unusual duration makes its command line unique to this test run. */
async function startSleep(seconds: string): Promise<ChildProcess> {
  const child = spawn('sleep', [seconds], { stdio: 'ignore' });
  children.push(child);
  await once(child, 'spawn');
  return child;
}

async function stop(child: ChildProcess): Promise<void> {
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
}

async function tempDir(): Promise<string> {
  const { dir, remove } = await makeTempDir('services');
  cleanups.push(remove);
  return dir;
}

describe('ServiceCollector', () => {
  it('follows a service by pidfile: up, down when gone, a restart when the pid changes', async () => {
    const dir = await tempDir();
    const pidfile = join(dir, 'app.pid');
    const collector = ServiceCollector.create([{ name: 'app', pidfile }]);

    expect(valueOf(await collector.collect(), 'swas_agent_service_up', 'app')).toBe(0); // no pidfile yet
    const first = await startSleep('30');
    await writeFile(pidfile, `${first.pid}\n`);
    const up = await collector.collect();
    expect(valueOf(up, 'swas_agent_service_up', 'app')).toBe(1);
    expect(valueOf(up, 'swas_agent_service_restarts_total', 'app')).toBe(0);
    const started = valueOf(up, 'swas_agent_service_start_time_seconds', 'app')!;
    expect(Math.abs(started - Date.now() / 1000)).toBeLessThan(5);

    await stop(first);
    const down = await collector.collect();
    expect(valueOf(down, 'swas_agent_service_up', 'app')).toBe(0); // stale pidfile, process gone
    expect(valueOf(down, 'swas_agent_service_start_time_seconds', 'app')).toBeUndefined();

    const second = await startSleep('30');
    await writeFile(pidfile, `${second.pid}\n`);
    const again = await collector.collect();
    expect(valueOf(again, 'swas_agent_service_up', 'app')).toBe(1);
    expect(valueOf(again, 'swas_agent_service_restarts_total', 'app')).toBe(1);
    expect(valueOf(await collector.collect(), 'swas_agent_service_restarts_total', 'app')).toBe(1);

    await rm(pidfile);
    expect(valueOf(await collector.collect(), 'swas_agent_service_up', 'app')).toBe(0);
  });

  it('follows a service by command-line pattern and picks the oldest match', async () => {
    const seconds = `30.${process.pid}1`;
    const pattern = `^sleep ${seconds.replace('.', '\\.')}$`;
    const collector = ServiceCollector.create([{ name: 'worker', match: pattern }]);
    expect(valueOf(await collector.collect(), 'swas_agent_service_up', 'worker')).toBe(0);

    const first = await startSleep(seconds);
    await new Promise((resolve) => setTimeout(resolve, 20)); // so the two start at different ticks
    const extra = await startSleep(seconds);
    const both = await collector.collect();
    expect(valueOf(both, 'swas_agent_service_up', 'worker')).toBe(1);
    expect(valueOf(both, 'swas_agent_service_processes', 'worker')).toBe(2);

    await stop(extra); // a non-main process going away is not a restart
    expect(valueOf(await collector.collect(), 'swas_agent_service_restarts_total', 'worker')).toBe(0);
    await stop(first);
    const gone = await collector.collect();
    expect(valueOf(gone, 'swas_agent_service_up', 'worker')).toBe(0);
    expect(valueOf(gone, 'swas_agent_service_processes', 'worker')).toBe(0);

    await startSleep(seconds);
    const back = await collector.collect();
    expect(valueOf(back, 'swas_agent_service_up', 'worker')).toBe(1);
    expect(valueOf(back, 'swas_agent_service_restarts_total', 'worker')).toBe(1);
  });

  it('does not trust a pidfile whose process does not match the pattern', async () => {
    const dir = await tempDir();
    const pidfile = join(dir, 'db.pid');
    const other = await startSleep('30');
    await writeFile(pidfile, String(other.pid));
    const collector = ServiceCollector.create([
      { name: 'db', pidfile, match: '^postgres' },
      { name: 'sleeper', pidfile, match: '^sleep' },
    ]);
    const samples = await collector.collect();
    expect(valueOf(samples, 'swas_agent_service_up', 'db')).toBe(0);
    expect(valueOf(samples, 'swas_agent_service_up', 'sleeper')).toBe(1);
  });

  it('keeps restart counts of services that stay configured', async () => {
    const dir = await tempDir();
    const pidfile = join(dir, 'app.pid');
    const collector = ServiceCollector.create([{ name: 'app', pidfile }]);
    for (let i = 0; i < 2; i += 1) {
      const child = await startSleep('30');
      await writeFile(pidfile, String(child.pid));
      await collector.collect();
      await stop(child);
    }
    collector.apply([
      { name: 'app', pidfile, match: null },
      { name: 'new', pidfile, match: null },
    ]);
    const samples = await collector.collect();
    expect(valueOf(samples, 'swas_agent_service_restarts_total', 'app')).toBe(1);
    expect(valueOf(samples, 'swas_agent_service_restarts_total', 'new')).toBe(0);
  });

  it('refuses watches without a way to find the process, or with a bad pattern', () => {
    expect(() => ServiceCollector.create([{ name: 'x' }])).toThrow(
      /services\[0\] \(x\): needs a pidfile or a match/,
    );
    expect(() => ServiceCollector.create([{ name: 'x', match: '[' }])).toThrow(
      /services\[0\] \(x\)\.match: \/\[\//,
    );
    expect(() =>
      ServiceCollector.create([
        { name: 'x', match: 'a' },
        { name: 'x', match: 'b' },
      ]),
    ).toThrow(/used twice/);
  });

  it('parses a stat line whose process name holds spaces and parentheses', () => {
    // fields 4 to 21 come between the state (field 3) and starttime (field 22)
    const ticks = Array.from({ length: 18 }, (_, i) => String(i + 1)).join(' ');
    expect(parsePidStat(`42 (my (odd) name) S ${ticks} 777 rest`)).toEqual({
      comm: 'my (odd) name',
      state: 'S',
      startTicks: 777,
    });
  });
});
