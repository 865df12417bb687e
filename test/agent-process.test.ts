import { readFile, stat, writeFile } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  Agent,
  credentialPath,
  EnrollmentRefusedError,
  type AgentLogger,
  type ReconnectScheduled,
} from '../src/agent/index.js';
import { loadAgentConfig } from '../src/config/index.js';
import { FakeAgentServer } from './support/fakeAgentServer.js';
import { makeTempDir } from './support/tmp.js';

interface LogEntry {
  level: string;
  fields: object;
  message: string;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function recordingLogger(): { logger: AgentLogger; entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const at =
    (level: string) =>
    (fields: object, message: string): void => {
      entries.push({ level, fields, message });
    };
  return { logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }, entries };
}

async function until<T>(
  what: string,
  probe: () => T | null | undefined | false,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

interface Started {
  agent: Agent;
  entries: LogEntry[];
  delays: ReconnectScheduled[];
  dir: string;
}

/** Writes agent.yaml into a fresh dir, loads it for real, and starts an agent with a 200 ms interval. */
async function startAgent(
  server: FakeAgentServer,
  yaml: string,
  options: { dir?: string; interval?: number } = {},
): Promise<Started> {
  let dir = options.dir;
  if (dir === undefined) {
    const temp = await makeTempDir('agent');
    cleanups.push(temp.remove);
    dir = temp.dir;
  }
  const file = join(dir, 'agent.yaml');
  await writeFile(file, `server: ${server.url}\nstate_dir: state\n${yaml}`);
  const loaded = await loadAgentConfig(file);
  const { logger, entries } = recordingLogger();
  const delays: ReconnectScheduled[] = [];
  const agent = await Agent.start({
    config: { ...loaded, interval: options.interval ?? 200 },
    logger,
    version: 'test',
    backoff: { initialMs: 50, maxMs: 400 },
    onReconnectScheduled: (step) => delays.push(step),
  });
  cleanups.push(() => agent.stop());
  return { agent, entries, delays, dir };
}

async function fakeServer(tokens: string[] = ['tok-1']): Promise<FakeAgentServer> {
  const server = await FakeAgentServer.start(tokens);
  cleanups.push(() => server.close());
  return server;
}

const SMALL = 'collectors: { disable: [cpu, filesystem, network] }\n';

describe('agent process', () => {
  it('enrolls once, stores the credential with mode 0600 and reuses it', async () => {
    const server = await fakeServer();
    const first = await startAgent(
      server,
      'enrollment_token: tok-1\nname: web-1\nlabels: { env: test }\n' + SMALL,
    );
    const file = credentialPath(join(first.dir, 'state'));
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const stored = JSON.parse(await readFile(file, 'utf8')) as { credential: string; agentId: string };
    expect(stored.credential).toMatch(/^cred-/);
    expect(server.enrollments).toMatchObject([
      { token: 'tok-1', name: 'web-1', labels: { env: 'test' }, status: 201 },
    ]);
    await until('a connection', () => server.openConnections === 1);
    await first.agent.stop();
    await until('the server to see the link closed', () => server.openConnections === 0);

    // Restarting with the same (now used) token must not enroll again.
    const second = await startAgent(server, 'enrollment_token: tok-1\nname: web-1\n' + SMALL, {
      dir: first.dir,
    });
    await until('a second connection', () => server.connections === 2);
    expect(server.enrollments).toHaveLength(1);
    expect(second.agent.state).toBe('running');
  });

  it('fails clearly when enrollment is refused', async () => {
    const server = await fakeServer([]);
    const error = await startAgent(server, 'enrollment_token: wrong\n' + SMALL).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EnrollmentRefusedError);
    expect((error as Error).message).toMatch(
      /refused enrollment \(HTTP 401: enrollment token is invalid, expired or already used\).*swas agent token/,
    );
  });

  it('sends samples from the real collectors in order with the agent labels', async () => {
    const server = await fakeServer();
    await startAgent(server, 'enrollment_token: tok-1\nlabels: { env: test, team: ops }\n');
    await until('three batches', () => server.batches.length >= 3);
    const hello = server.frames.find((f) => f.type === 'hello');
    expect(hello).toMatchObject({
      protocol: 1,
      version: 'test',
      labels: { env: 'test', team: 'ops' },
      configVersion: null,
    });
    const seqs = server.batches.map((b) => b.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    const batch = server.batches[0]!;
    const names = new Set(batch.samples.map((s) => s.name));
    for (const name of [
      'node_memory_MemTotal_bytes',
      'node_load1',
      'swas_agent_collector_success',
      'swas_agent_spool_pending_records',
    ])
      expect(names).toContain(name);
    for (const sample of batch.samples) expect(sample.labels).toMatchObject({ env: 'test', team: 'ops' });
    const cpu = batch.samples.find(
      (s) => s.name === 'swas_agent_collector_success' && s.labels['collector'] === 'cpu',
    );
    expect(cpu?.v).toBe(1);
    expect(server.invalidFrames).toEqual([]);
  });

  it('spools while the server is down and replays in order with no gap and no duplicate after acks', async () => {
    const server = await fakeServer();
    const { agent } = await startAgent(server, 'enrollment_token: tok-1\n' + SMALL);
    await until('two batches', () => server.batches.length >= 2);
    await server.stop();
    await until('batches piling up in the spool', () => agent.spoolStats().pendingRecords >= 5);
    expect(agent.connected).toBe(false);
    await server.restart();
    await until(
      'the spool draining',
      () => server.connections >= 2 && agent.spoolStats().pendingRecords <= 1,
    );
    await until('the latest batch acked', () => server.acked.has(agent.spoolStats().nextSeq - 1));
    const seqs = server.distinctSeqs();
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
    expect(server.duplicatesAfterAck).toEqual([]);
    expect(server.batches.filter((b) => b.connection === 2).length).toBeGreaterThanOrEqual(5);
    expect(agent.spoolStats().droppedRecords).toBe(0);
  });

  it('replays unacknowledged batches after the link is cut', async () => {
    const server = await fakeServer();
    const { agent } = await startAgent(server, 'enrollment_token: tok-1\n' + SMALL);
    await until('a batch', () => server.batches.length >= 1);
    server.autoAck = false;
    await until('unacked batches', () => server.batches.length >= 3);
    const unacked = server.batches.filter((b) => !server.acked.has(b.seq)).map((b) => b.seq);
    server.autoAck = true;
    server.dropConnections();
    await until('the unacked batches again', () =>
      unacked.every((seq) => server.batches.some((b) => b.seq === seq && b.connection === 2)),
    );
    await until('everything acked', () => server.acked.has(agent.spoolStats().nextSeq - 1));
    expect(server.duplicatesAfterAck).toEqual([]);
    const seqs = server.distinctSeqs();
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
  });

  it('reconnects with exponential backoff and full jitter, starting over after a success', async () => {
    const server = await fakeServer();
    const { delays } = await startAgent(server, 'enrollment_token: tok-1\n' + SMALL);
    await until('a connection', () => server.openConnections === 1);
    await server.stop();
    await until('six reconnect attempts', () => delays.length >= 6);
    const ceilings = delays.slice(0, 6).map((d) => d.ceilingMs);
    expect(ceilings).toEqual([50, 100, 200, 400, 400, 400]);
    for (const d of delays) expect(d.delayMs).toBeLessThanOrEqual(d.ceilingMs);
    expect(new Set(delays.map((d) => d.delayMs / d.ceilingMs)).size).toBeGreaterThan(1); // jittered
    await server.restart();
    await until('reconnected', () => server.openConnections === 1);
    const before = delays.length;
    server.dropConnections();
    await until('a reconnect after the drop', () => delays.length > before);
    expect(delays[before]?.ceilingMs).toBe(50);
  });

  it('runs an allowed action and returns its output', async () => {
    const server = await fakeServer();
    await startAgent(
      server,
      'enrollment_token: tok-1\nactions:\n  hello: { argv: [/bin/echo, hi] }\n' + SMALL,
    );
    await until('a connection', () => server.frames.some((f) => f.type === 'hello'));
    server.send({ type: 'action', id: 'a1', name: 'hello', timeoutMs: 5000 });
    const result = await until('the action result', () =>
      server.frames.find((f) => f.type === 'action_result'),
    );
    expect(result).toMatchObject({ id: 'a1', ok: true, exitCode: 0, output: 'hi\n', error: null });
  });

  it('refuses an action that is not in the allow-list and runs nothing', async () => {
    const server = await fakeServer();
    const { entries } = await startAgent(
      server,
      'enrollment_token: tok-1\nactions:\n  hello: { argv: [/bin/echo, hi] }\n' + SMALL,
    );
    await until('a connection', () => server.frames.some((f) => f.type === 'hello'));
    server.send({ type: 'action', id: 'a2', name: 'reboot', timeoutMs: 5000 });
    const result = await until('the refusal', () => server.frames.find((f) => f.type === 'action_result'));
    expect(result).toEqual({
      type: 'action_result',
      id: 'a2',
      ok: false,
      exitCode: null,
      output: '',
      durationMs: 0,
      error: "action reboot is not in this agent's allow-list (agent.yaml actions:)",
    });
    expect(entries.some((e) => e.level === 'warn' && e.message.includes('refused action reboot'))).toBe(true);
  });

  it('kills an action at the shorter of the server and local timeouts', async () => {
    const marker = (30 + Math.random()).toFixed(9); // a sleep argument no other process has
    const server = await fakeServer();
    await startAgent(
      server,
      `enrollment_token: tok-1\nactions:\n  slow: { argv: [/bin/sleep, "${marker}"], timeout: 10m }\n${SMALL}`,
    );
    await until('a connection', () => server.frames.some((f) => f.type === 'hello'));
    server.send({ type: 'action', id: 'a3', name: 'slow', timeoutMs: 300 });
    const result = await until('the timeout', () => server.frames.find((f) => f.type === 'action_result'));
    expect(result).toMatchObject({
      id: 'a3',
      ok: false,
      error: 'action timed out after 300 ms and was killed',
    });
    expect((result as { durationMs: number }).durationMs).toBeLessThan(3000);
    expect(processesWithArg(marker)).toEqual([]);
  });

  it('logs and ignores malformed server frames and keeps the link up', async () => {
    const server = await fakeServer();
    const { entries } = await startAgent(
      server,
      'enrollment_token: tok-1\nactions:\n  hello: { argv: [/bin/echo, hi] }\n' + SMALL,
    );
    await until('a connection', () => server.frames.some((f) => f.type === 'hello'));
    server.send('this is not json');
    server.send({ type: 'action', id: 7, name: 'hello' });
    server.send({ type: 'ack', seq: -1 });
    await until(
      'three warnings',
      () => entries.filter((e) => e.message.includes('malformed frame')).length >= 3,
    );
    server.send({ type: 'action', id: 'after', name: 'hello', timeoutMs: 5000 });
    await until('the action after the junk', () => server.frames.find((f) => f.type === 'action_result'));
    expect(server.connections).toBe(1);
    const warning = entries.find((e) => e.message.includes('malformed frame'));
    expect(warning?.fields).toMatchObject({ error: expect.stringMatching(/not JSON/) as unknown });
  });

  it('drops the oldest records when the spool is full and reports the count as a metric', async () => {
    const server = await fakeServer();
    const { agent } = await startAgent(
      server,
      'enrollment_token: tok-1\nspool: { max_bytes: 65536 }\n' + SMALL,
    );
    await until('a batch', () => server.batches.length >= 1);
    await server.stop();
    await until('dropped records', () => agent.spoolStats().droppedRecords >= 3, 20_000);
    await server.restart();
    const sample = (name: string) =>
      server.batches
        .flatMap((b) => b.samples)
        .filter((s) => s.name === name)
        .map((s) => s.v as number);
    await until('the dropped counter on the wire', () =>
      sample('swas_agent_spool_dropped_records_total').some((v) => v >= 3),
    );
    expect(sample('swas_agent_spool_pending_records').some((v) => v > 1)).toBe(true);
    const seqs = server.distinctSeqs();
    expect(seqs.some((seq, i) => i > 0 && seq !== seqs[i - 1]! + 1)).toBe(true); // the dropped gap
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
  });

  it('keeps retrying after its credential is revoked, and says why', async () => {
    const server = await fakeServer();
    const { agent, dir, entries } = await startAgent(server, 'enrollment_token: tok-1\n' + SMALL);
    await until('a connection', () => server.openConnections === 1);
    const stored = JSON.parse(await readFile(credentialPath(join(dir, 'state')), 'utf8')) as {
      credential: string;
    };
    server.revoke(stored.credential);
    server.dropConnections();
    await until('refused reconnects', () => server.refusedConnects >= 3);
    expect(agent.state).toBe('running');
    expect(
      entries.some((e) => e.level === 'error' && /refused this agent.s credential/.test(e.message)),
    ).toBe(true);
  });

  it('applies a pushed collectors config and refuses a broken one', async () => {
    const server = await fakeServer();
    await startAgent(server, 'enrollment_token: tok-1\n' + SMALL);
    await until('a connection', () => server.frames.some((f) => f.type === 'hello'));
    server.send({
      type: 'config',
      version: 'bad',
      config: { collectors: { services: [{ name: 'x', match: '(' }] } },
    });
    server.send({ type: 'config', version: 'v2', config: { collectors: { disable: ['cpu', 'network'] } } });
    const statuses = await until('two config statuses', () => {
      const found = server.frames.filter((f) => f.type === 'config_status');
      return found.length >= 2 ? found : null;
    });
    expect(statuses[0]).toMatchObject({
      version: 'bad',
      ok: false,
      error: expect.stringMatching(/services\.0\.match/) as unknown,
    });
    expect(statuses[1]).toMatchObject({ version: 'v2', ok: true, error: null });
    server.dropConnections();
    await until('a hello with the version', () =>
      server.frames.some((f) => f.type === 'hello' && f.configVersion === 'v2'),
    );
  });
});

describe('swas agent run', () => {
  it('exits 2 with a clear message when enrollment is refused', async () => {
    const server = await fakeServer([]);
    const { dir, remove } = await makeTempDir('agent-cli');
    cleanups.push(remove);
    const file = join(dir, 'agent.yaml');
    await writeFile(file, `server: ${server.url}\nstate_dir: state\nenrollment_token: nope\n`);
    const run = runCli(['agent', 'run', '--config', file, '--log-format', 'json']);
    const { code, stderr } = await run.exited;
    expect(code).toBe(2);
    expect(stderr).toMatch(/SWAS-AGENT-010: the server refused enrollment \(HTTP 401/);
  });

  it('exits 2 on a bad agent.yaml, naming file:line', async () => {
    const { dir, remove } = await makeTempDir('agent-cli');
    cleanups.push(remove);
    const file = join(dir, 'agent.yaml');
    await writeFile(file, 'server: http://127.0.0.1:1\ninterval: 10ms\n');
    const { code, stderr } = await runCli(['agent', 'run', '--config', file]).exited;
    expect(code).toBe(2);
    expect(stderr).toContain(`${file}:2:`);
  });

  it('runs until SIGTERM, then closes the link and exits 0', async () => {
    const server = await fakeServer();
    const { dir, remove } = await makeTempDir('agent-cli');
    cleanups.push(remove);
    const file = join(dir, 'agent.yaml');
    await writeFile(
      file,
      `server: ${server.url}\nstate_dir: state\nenrollment_token: tok-1\ninterval: 1s\n${SMALL}`,
    );
    const run = runCli(['agent', 'run', '--config', file, '--log-format', 'json']);
    cleanups.push(async () => {
      run.child.kill('SIGKILL');
      await run.exited;
    });
    await until('a batch from the CLI agent', () => server.batches.length >= 1, 20_000);
    run.child.kill('SIGTERM');
    const { code, stdout } = await run.exited;
    expect(code).toBe(0);
    expect(stdout).toContain('agent stopped');
    await until('the link closed', () => server.openConnections === 0);
  });
});

function runCli(args: string[]) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    cwd: join(import.meta.dirname, '..'),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
  return { child, exited };
}

/** Pids of processes whose command line has `arg`. */
function processesWithArg(arg: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').includes(arg)) pids.push(Number(entry));
    } catch {
      // gone
    }
  }
  return pids;
}
