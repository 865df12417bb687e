import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPoolStats, startFleet, type Fleet, type PoolServerStat } from '../examples/demo/fleet.js';
import { startLoad } from '../examples/demo/loadgen.js';
import { SERVICECTL_PATH, serviceStatus, TSX_IMPORT } from '../examples/demo/servicectl.js';
import { freePort } from './support/ports.js';
import { makeTempDir } from './support/tmp.js';

const FAULT_PATH = fileURLToPath(new URL('../examples/demo/fault.ts', import.meta.url));

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs one of the demo's scripts the way a user (or swas) would, with a 20 s bound. */
function runScript(script: string, args: string[]): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', TSX_IMPORT, script, ...args], { stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

async function getText(url: string, method = 'GET'): Promise<{ status: number; body: string }> {
  const response = await fetch(url, { method, signal: AbortSignal.timeout(5000) });
  return { status: response.status, body: await response.text() };
}

/** The member's count of `GET /` answered 200. */
async function rootRequests(metricsUrl: string): Promise<number> {
  const { body } = await getText(metricsUrl);
  const match = /^http_requests_total\{code="200",method="GET",path="\/"\} (\d+)$/m.exec(body);
  return match === null ? 0 : Number(match[1]);
}

async function waitForStatus(
  fleet: Fleet,
  name: string,
  wanted: (s: PoolServerStat) => boolean,
): Promise<void> {
  const deadline = Date.now() + 15_000;
  let last: PoolServerStat | undefined;
  while (Date.now() < deadline) {
    last = (await readPoolStats(fleet.haproxySocket, fleet.pool)).find((s) => s.name === name);
    if (last !== undefined && wanted(last)) return;
    await sleep(100);
  }
  throw new Error(`HAProxy never showed ${name} in the wanted state; last: ${JSON.stringify(last)}`);
}

const isUp = (s: PoolServerStat) => s.status === 'UP' && s.checkStatus === 'L7OK';

const SAMPLE_LINE =
  /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\.)*",?)*\})? (-?[0-9.]+(e[+-]?\d+)?|[+-]Inf|NaN)$/;
const META_LINE =
  /^# (HELP [a-zA-Z_:][a-zA-Z0-9_:]* .+|TYPE [a-zA-Z_:][a-zA-Z0-9_:]* (counter|gauge|histogram|summary|untyped))$/;

describe('demo fleet behind a real HAProxy', () => {
  let temp: { dir: string; remove: () => Promise<void> } | undefined;
  let fleet: Fleet | undefined;
  const started = (): Fleet => {
    if (fleet === undefined) throw new Error('the fleet did not start; see beforeAll');
    return fleet;
  };
  const member = (name: string) => {
    const found = started().members.find((m) => m.name === name);
    if (found === undefined) throw new Error(`no member ${name}`);
    return found;
  };

  beforeAll(async () => {
    temp = await makeTempDir('demo-fleet');
    fleet = await startFleet({ dir: temp.dir, slowstartSeconds: 2 });
  });

  afterAll(async () => {
    await fleet?.stop();
    await temp?.remove();
  });

  it('spreads load from the frontend over all three members', async () => {
    const f = started();
    expect(f.members.map((m) => m.name)).toEqual(['web-1', 'web-2', 'web-3']);
    const before = await Promise.all(f.members.map((m) => rootRequests(m.metricsUrl)));
    const stats = await startLoad({ url: f.frontendUrl, ratePerSecond: 60, durationMs: 1500 }).done;
    const after = await Promise.all(f.members.map((m) => rootRequests(m.metricsUrl)));
    expect(stats.sent).toBeGreaterThan(50);
    expect(stats.failed).toBe(0);
    expect(stats.statusCounts['200']).toBe(stats.sent);
    after.forEach((count, i) => expect(count).toBeGreaterThan(before[i] ?? 0));
    const bodies = await Promise.all([1, 2, 3].map(() => getText(f.frontendUrl)));
    for (const { body } of bodies) expect(body).toMatch(/^ok from web-[123]\n$/);
  });

  it('serves /metrics as exposition text with every family typed', async () => {
    const { status, body } = await getText(member('web-1').metricsUrl);
    expect(status).toBe(200);
    const typed = new Set<string>();
    for (const line of body.trimEnd().split('\n')) {
      if (line.startsWith('#')) {
        expect(line).toMatch(META_LINE);
        const type = /^# TYPE (\S+)/.exec(line);
        if (type?.[1] !== undefined) typed.add(type[1]);
        continue;
      }
      expect(line).toMatch(SAMPLE_LINE);
      const family = (line.split(/[{ ]/)[0] ?? '').replace(/_(bucket|sum|count)$/, '');
      expect(typed.has(family) || typed.has(line.split(/[{ ]/)[0] ?? '')).toBe(true);
    }
    for (const family of [
      'http_requests_total',
      'http_request_duration_seconds',
      'http_requests_in_flight',
      'demo_fault_active',
      'process_start_time_seconds',
    ]) {
      expect(typed).toContain(family);
    }
    expect(body).toMatch(/^http_request_duration_seconds_bucket\{path="\/",le="\+Inf"\} \d+$/m);
    expect(body).toMatch(/^demo_fault_active\{kind="errors"\} 0$/m);
  });

  it('answers an errors fault with 500s at about the given ratio, and clears it', async () => {
    const web1 = member('web-1');
    const base = `http://127.0.0.1:${web1.port}`;
    expect((await getText(`${base}/fault/errors?ratio=0.5`, 'POST')).status).toBe(200);
    expect((await getText(`${base}/metrics`)).body).toMatch(/^demo_fault_active\{kind="errors"\} 1$/m);
    const stats = await startLoad({ url: `${base}/`, ratePerSecond: 300, durationMs: 1000 }).done;
    const errors = stats.statusCounts['500'] ?? 0;
    expect(errors + (stats.statusCounts['200'] ?? 0)).toBe(stats.sent);
    expect(errors / stats.sent).toBeGreaterThan(0.35);
    expect(errors / stats.sent).toBeLessThan(0.65);

    expect((await getText(`${base}/fault/errors?ratio=1`, 'POST')).status).toBe(200);
    expect((await getText(`${base}/healthz`)).status).toBe(500);
    expect((await getText(`${base}/fault/clear`, 'POST')).status).toBe(200);
    expect((await getText(`${base}/healthz`)).status).toBe(200);
    expect(JSON.parse((await getText(web1.faultUrl)).body)).toMatchObject({ slowMs: 0, errorRatio: 0 });

    const bad = await getText(`${base}/fault/errors?ratio=1.5`, 'POST');
    expect(bad.status).toBe(400);
    expect(bad.body).toMatch(/ratio.*0\.\.1/);
    expect((await getText(`${base}/fault/slow?ms=-3`, 'POST')).status).toBe(400);
    await waitForStatus(started(), 'web-1', isUp);
  });

  it('flips faults by member name with fault.ts', async () => {
    const dir = started().dir;
    const slow = await runScript(FAULT_PATH, ['slow', 'web-3', '250', '--dir', dir]);
    expect(slow.code).toBe(0);
    expect(JSON.parse((await getText(member('web-3').faultUrl)).body)).toMatchObject({ slowMs: 250 });
    const status = await runScript(FAULT_PATH, ['status', 'web-3', '--dir', dir]);
    expect(status.stdout).toContain('"slowMs":250');
    expect((await runScript(FAULT_PATH, ['clear', 'web-3', '--dir', dir])).code).toBe(0);
    expect(JSON.parse((await getText(member('web-3').faultUrl)).body)).toMatchObject({ slowMs: 0 });
  });

  it('rejects bad fault.ts input with exit 2, naming the members that exist', async () => {
    const dir = started().dir;
    const [unknown, badRatio, badKind] = await Promise.all([
      runScript(FAULT_PATH, ['crash', 'web-9', '--dir', dir]),
      runScript(FAULT_PATH, ['errors', 'web-1', '2', '--dir', dir]),
      runScript(FAULT_PATH, ['melt', 'web-1', '--dir', dir]),
    ]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('no member "web-9"');
    expect(unknown.stderr).toContain('web-1, web-2, web-3');
    expect(badRatio.code).toBe(2);
    expect(badRatio.stderr).toContain('ratio 0..1');
    expect(badKind.code).toBe(2);
    expect(badKind.stderr).toContain('unknown fault "melt"');
  });

  it('rejects servicectl usage errors with exit 2 and a message', async () => {
    const dir = started().dir;
    const runs = await Promise.all([
      runScript(SERVICECTL_PATH, []),
      runScript(SERVICECTL_PATH, ['frob', 'web-1', '--dir', dir]),
      runScript(SERVICECTL_PATH, ['start', '--dir', dir]),
      runScript(SERVICECTL_PATH, ['start', 'web-1']),
      runScript(SERVICECTL_PATH, ['start', 'web-1', '--dir', dir, '--bogus']),
      runScript(SERVICECTL_PATH, ['start', 'web-9', '--dir', dir]),
      runScript(SERVICECTL_PATH, ['status', 'web-1', '--dir', join(dir, 'nowhere')]),
    ]);
    for (const run of runs) expect(run.code).toBe(2);
    expect(runs[0]?.stderr).toContain('no command given');
    expect(runs[1]?.stderr).toContain('unknown command "frob"');
    expect(runs[2]?.stderr).toContain('needs a service NAME');
    expect(runs[3]?.stderr).toContain('--dir STATE_DIR is required');
    expect(runs[4]?.stderr).toContain('--bogus');
    expect(runs[5]?.stderr).toContain('known services: web-1, web-2, web-3');
    expect(runs[6]?.stderr).toContain('services.json');
  });

  it('reports a start that fails with exit 1 and the log to read', async () => {
    const other = await makeTempDir('demo-fleet-conflict');
    try {
      // The port is taken by web-1, so this server cannot listen.
      const spec = { 'web-x': { port: member('web-1').port } };
      await writeFile(join(other.dir, 'services.json'), JSON.stringify(spec));
      const run = await runScript(SERVICECTL_PATH, ['start', 'web-x', '--dir', other.dir]);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain('web-x did not start');
      expect(run.stderr).toContain(join(other.dir, 'web-x.log'));
    } finally {
      await other.remove();
    }
  });

  it('survives a crashed member: HAProxy marks it DOWN, load continues, servicectl restart brings it back', async () => {
    const f = started();
    for (const m of f.members) await waitForStatus(f, m.name, isUp);
    const load = startLoad({ url: f.frontendUrl, ratePerSecond: 50, durationMs: 20_000, timeoutMs: 5000 });
    await sleep(500);
    const crash = await runScript(FAULT_PATH, ['crash', 'web-2', '--dir', f.dir]);
    expect(crash.code).toBe(0);
    expect(crash.stdout).toContain('web-2 accepted the crash fault');
    await waitForStatus(f, 'web-2', (s) => s.status.startsWith('DOWN'));
    await sleep(500);
    const during = await load.stop();
    expect(during.sent).toBeGreaterThan(50);
    expect(during.failed / during.sent).toBeLessThan(0.05);

    const again = await runScript(FAULT_PATH, ['crash', 'web-2', '--dir', f.dir]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('web-2 is already down');
    const status = await runScript(SERVICECTL_PATH, ['status', 'web-2', '--dir', f.dir]);
    expect(status.stdout).toContain('web-2 stopped');

    const restart = await runScript(SERVICECTL_PATH, ['restart', 'web-2', '--dir', f.dir]);
    expect(restart.code).toBe(0);
    expect(restart.stdout).toContain('web-2 restarted');
    expect((await runScript(SERVICECTL_PATH, ['start', 'web-2', '--dir', f.dir])).stdout).toContain(
      'already running',
    );
    await waitForStatus(f, 'web-2', isUp);
    const before = await rootRequests(member('web-2').metricsUrl);
    const after = await startLoad({ url: f.frontendUrl, ratePerSecond: 60, durationMs: 2500 }).done;
    expect(after.failed).toBe(0);
    expect(await rootRequests(member('web-2').metricsUrl)).toBeGreaterThan(before);
  });

  it('stops a stopped member without complaint and says so in status', async () => {
    const dir = started().dir;
    expect((await runScript(SERVICECTL_PATH, ['stop', 'web-3', '--dir', dir])).stdout).toContain(
      'web-3 stopped',
    );
    const second = await runScript(SERVICECTL_PATH, ['stop', 'web-3', '--dir', dir]);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('already stopped');
    await waitForStatus(started(), 'web-3', (s) => s.status.startsWith('DOWN'));
    const start = await runScript(SERVICECTL_PATH, ['start', 'web-3', '--dir', dir]);
    expect(start.code).toBe(0);
    expect((await runScript(SERVICECTL_PATH, ['status', 'web-3', '--dir', dir])).stdout).toMatch(
      /web-3 running \(pid \d+, port \d+\)/,
    );
  });

  it('keeps the demo load on 127.0.0.1', () => {
    expect(() => startLoad({ url: 'http://example.com/', ratePerSecond: 1, durationMs: 10 })).toThrow(
      /127\.0\.0\.1/,
    );
    expect(() => startLoad({ url: 'http://127.0.0.1:1/', ratePerSecond: 0, durationMs: 10 })).toThrow(
      /positive/,
    );
  });

  it('cleans up the members it started when a fleet fails to start', async () => {
    const other = await makeTempDir('demo-fleet-partial');
    const port = await freePort();
    const blocker = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve));
    try {
      // web-1 cannot listen on the blocked port; web-2 (port + 1) can, and must not be left running.
      await expect(startFleet({ dir: other.dir, members: 2, basePort: port })).rejects.toThrow(
        /web-1 did not start/,
      );
      for (const name of ['web-1', 'web-2']) {
        expect(await serviceStatus(other.dir, name)).toMatchObject({ ok: true, state: 'stopped' });
      }
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
      await other.remove();
    }
  });
});
