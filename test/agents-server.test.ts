import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { MAX_FRAME_BYTES } from '../src/agent/index.js';
import type { Labels } from '../src/core/index.js';
import { AgentHub } from '../src/server/agentLink.js';
import { openStateStore, type StateStore } from '../src/store/index.js';
import { freePort } from './support/ports.js';
import { eventually, startTestServer, type TestServer } from './support/swasServer.js';
import { makeTempDir } from './support/tmp.js';

interface Frame {
  type: string;
  [key: string]: unknown;
}

/** A real WebSocket client speaking the agent protocol, recording every frame and the close. */
class TestAgent {
  readonly frames: Frame[] = [];
  closeInfo: { code: number; reason: string } | null = null;
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => this.frames.push(JSON.parse((data as Buffer).toString('utf8')) as Frame));
    ws.on('close', (code, reason) => {
      this.closeInfo = { code, reason: reason.toString() };
    });
  }

  /** Opens a connection; rejects with the server's status when the upgrade is refused. */
  static connect(baseUrl: string, credential: string | null): Promise<TestAgent> {
    const ws = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/api/v1/agents/connect`, {
      headers: credential === null ? {} : { authorization: `Bearer ${credential}` },
    });
    const agent = new TestAgent(ws);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(agent));
      ws.once('error', reject);
    });
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  hello(): void {
    this.send({
      type: 'hello',
      protocol: 1,
      hostname: 'test-host',
      version: '0.0.1',
      labels: {},
      configVersion: null,
    });
  }

  async next(type: string, after = 0, timeoutMs = 5000): Promise<Frame> {
    return eventually(
      `a ${type} frame`,
      () => this.frames.slice(after).find((f) => f.type === type),
      timeoutMs,
    );
  }

  async closed(timeoutMs = 5000): Promise<{ code: number; reason: string }> {
    return eventually('the connection to close', () => this.closeInfo, timeoutMs);
  }

  close(): void {
    this.ws.terminate();
  }
}

interface AgentView {
  name: string;
  hostname: string;
  labels: Record<string, string>;
  connected: boolean;
  revokedAt: number | null;
  version: string | null;
}

/** Every answer shape the agent routes give, as one loose type for the assertions. */
interface Body {
  error: { code: string; message: string };
  agents: AgentView[];
  agent: { id: number; name: string };
  credential: string;
  disconnected: boolean;
  data: unknown;
}

const sample = (name: string, t: number, v: number, labels: Labels = {}) => ({ name, labels, t, v });

describe('agents over the API and the WebSocket link, against a real swas', () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let swas: TestServer;
  let admin: string;
  let viewer: string;
  const open: TestAgent[] = [];

  const call = async (method: string, path: string, token: string | null, body?: unknown) => {
    const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${swas.url}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Body };
  };
  const newToken = async (body: unknown = {}) => {
    const r = await call('POST', '/api/v1/agents/enrollment-tokens', admin, body);
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return r.body as unknown as { id: number; token: string; expiresAt: number };
  };
  const enroll = async (name: string) => {
    const { token } = await newToken();
    const r = await call('POST', '/api/v1/agents/enroll', null, { token, name, hostname: `${name}.test` });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return r.body.credential;
  };
  const connect = async (credential: string) => {
    const agent = await TestAgent.connect(swas.url, credential);
    open.push(agent);
    agent.hello();
    await agent.next('welcome');
    return agent;
  };
  const query = async (promql: string) => {
    const r = await call('GET', `/api/v1/query?query=${encodeURIComponent(promql)}`, viewer);
    return (r.body.data as { result: { metric: Record<string, string>; value: [number, string] }[] }).result;
  };

  beforeAll(async () => {
    tmp = await makeTempDir('agents-server');
    swas = await startTestServer(tmp.dir, '');
    admin = await swas.token('admin');
    viewer = await swas.token('viewer');
  });

  afterAll(async () => {
    for (const a of open) a.close();
    await swas.stop();
    await tmp.remove();
  });

  it('enrolls with a one-time token; reuse, unknown and expired tokens are refused with 401', async () => {
    const created = await newToken({ ttl: '10m', labels: { env: 'prod' } });
    expect(created.token).toMatch(/^swas_enroll_/);
    expect(created.expiresAt - Date.now()).toBeGreaterThan(9 * 60_000);
    const body = { token: created.token, name: 'enroll-1', hostname: 'h1', labels: { rack: 'a' } };
    const first = await call('POST', '/api/v1/agents/enroll', null, body);
    expect(first.status).toBe(201);
    expect(first.body.agent.name).toBe('enroll-1');
    expect(first.body.credential).toMatch(/^swas_agent_/);

    const reused = await call('POST', '/api/v1/agents/enroll', null, { ...body, name: 'enroll-2' });
    expect(reused.status).toBe(401);
    expect(reused.body.error.message).toMatch(/already used/);

    const unknown = await call('POST', '/api/v1/agents/enroll', null, {
      ...body,
      token: `swas_enroll_${'x'.repeat(43)}`,
      name: 'enroll-3',
    });
    expect(unknown.status).toBe(401);
    expect(unknown.body.error.message).toMatch(/unknown/);

    const short = await newToken({ ttl: '1s' });
    await new Promise((r) => setTimeout(r, 1100));
    const expired = await call('POST', '/api/v1/agents/enroll', null, {
      ...body,
      token: short.token,
      name: 'enroll-4',
    });
    expect(expired.status).toBe(401);
    expect(expired.body.error.message).toMatch(/expired/);

    const again = await newToken();
    const taken = await call('POST', '/api/v1/agents/enroll', null, { ...body, token: again.token });
    expect(taken.status).toBe(409);
    expect(taken.body.error.message).toMatch(/already enrolled/);

    const list = await call('GET', '/api/v1/agents', viewer);
    expect(list.body.agents.find((a) => a.name === 'enroll-1')).toMatchObject({
      hostname: 'h1',
      labels: { env: 'prod', rack: 'a' },
      connected: false,
      revokedAt: null,
    });
  });

  it('refuses bad input on every route, naming the field', async () => {
    expect((await call('POST', '/api/v1/agents/enrollment-tokens', viewer, {})).status).toBe(403);
    expect((await call('POST', '/api/v1/agents/enrollment-tokens', null, {})).status).toBe(401);
    for (const [body, field] of [
      [{ ttl: '8d' }, 'ttl'],
      [{ ttl: 'soon' }, 'ttl'],
      [{ ttl: 5 }, 'ttl'],
      [{ labels: { 'bad-name': 'x' } }, 'labels'],
      [{ labels: { ok: 1 } }, 'labels.ok'],
      [{ extra: true }, 'extra'],
    ] as const) {
      const r = await call('POST', '/api/v1/agents/enrollment-tokens', admin, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.error.message).toContain(field);
    }
    const { token } = await newToken();
    for (const [body, field] of [
      [{ name: 'x', hostname: 'h' }, 'token'],
      [{ token, hostname: 'h' }, 'name'],
      [{ token, name: 'has space', hostname: 'h' }, 'name'],
      [{ token, name: 'x' }, 'hostname'],
      [{ token, name: 'x', hostname: 'h', labels: ['a'] }, 'labels'],
    ] as const) {
      const r = await call('POST', '/api/v1/agents/enroll', null, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.error.message).toContain(field);
    }
    expect((await call('GET', '/api/v1/agents', null)).status).toBe(401);
    expect((await call('DELETE', '/api/v1/agents/nobody', viewer)).status).toBe(403);
    expect((await call('DELETE', '/api/v1/agents/nobody', admin)).status).toBe(404);
    const bad = await call('DELETE', `/api/v1/agents/${encodeURIComponent('bad name')}`, admin);
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain('name');
  });

  it('refuses a WebSocket upgrade without a credential or with an unknown one', async () => {
    await expect(TestAgent.connect(swas.url, null)).rejects.toThrow(/401/);
    await expect(TestAgent.connect(swas.url, `swas_agent_${'y'.repeat(43)}`)).rejects.toThrow(/401/);
  });

  it('stores samples with the agent label (which the agent cannot override) and acks them', async () => {
    const credential = await enroll('link-1');
    const agent = await connect(credential);
    const t = Date.now();
    agent.send({
      type: 'samples',
      seq: 1,
      samples: [
        sample('agent_test_value', t, 42, { job: 'node', agent: 'impostor' }),
        sample('agent_test_value', t, 'NaN' as unknown as number, { job: 'nan' }),
      ],
    });
    expect(await agent.next('ack')).toEqual({ type: 'ack', seq: 1 });
    // A duplicate of an already stored sample is counted, not fatal: the batch is still acked.
    agent.send({
      type: 'samples',
      seq: 2,
      samples: [sample('agent_test_value', t - 60_000, 1, { job: 'node' })],
    });
    expect(await agent.next('ack', agent.frames.length)).toEqual({ type: 'ack', seq: 2 });

    const result = await query('agent_test_value{job="node"}');
    expect(result).toHaveLength(1);
    expect(result[0]?.metric).toEqual({ __name__: 'agent_test_value', job: 'node', agent: 'link-1' });
    expect(result[0]?.value[1]).toBe('42');

    const list = await call('GET', '/api/v1/agents', viewer);
    expect(list.body.agents.find((a) => a.name === 'link-1')).toMatchObject({
      connected: true,
      version: '0.0.1',
      hostname: 'test-host',
    });
    expect(swas.server.parts.agents.connected()).toContain('link-1');
    const metrics = await fetch(`${swas.url}/metrics`, {
      headers: { authorization: `Bearer ${viewer}` },
    }).then((r) => r.text());
    expect(metrics).toMatch(/swas_agent_samples_received_total 3/);
    expect(metrics).toMatch(/swas_agent_labels_dropped_total 1/);
    expect(metrics).toMatch(/swas_agent_samples_rejected_total\{reason="out_of_order"\} 1/);
  });

  it('revoking closes the live connection at once and refuses reconnecting', async () => {
    const credential = await enroll('revoke-1');
    const agent = await connect(credential);
    const r = await call('DELETE', '/api/v1/agents/revoke-1', admin);
    expect(r.status).toBe(200);
    expect(r.body.disconnected).toBe(true);
    expect(await agent.closed()).toEqual({ code: 1008, reason: 'agent credential revoked' });
    await expect(TestAgent.connect(swas.url, credential)).rejects.toThrow(/401/);
    const list = await call('GET', '/api/v1/agents', viewer);
    const row = list.body.agents.find((a) => a.name === 'revoke-1');
    expect(row?.connected).toBe(false);
    expect(row?.revokedAt).toBeGreaterThan(0);
  });

  it('a malformed or oversized frame closes only that agent; another agent keeps sending', async () => {
    const steady = await connect(await enroll('steady-1'));
    const malformed = await connect(await enroll('bad-1'));
    const oversized = await connect(await enroll('big-1'));
    const ackFor = async (seq: number) => {
      steady.send({ type: 'samples', seq, samples: [sample('steady_value', Date.now(), seq)] });
      await eventually(`ack ${seq}`, () => steady.frames.some((f) => f.type === 'ack' && f.seq === seq));
    };

    malformed.send('{"type": "samples", "seq": 1, "samples": [{"name": "x"}]');
    const badClose = await malformed.closed();
    expect(badClose.code).toBe(1008);
    expect(badClose.reason).toMatch(/not JSON/);
    await ackFor(1);

    oversized.send('x'.repeat(MAX_FRAME_BYTES + 1));
    expect((await oversized.closed()).code).toBe(1009);
    await ackFor(2);

    const wrongShape = await connect(await enroll('shape-1'));
    wrongShape.send({ type: 'samples', seq: 1, samples: [{ name: 'bad name!', labels: {}, t: 1, v: 1 }] });
    const shapeClose = await wrongShape.closed();
    expect(shapeClose.code).toBe(1008);
    expect(shapeClose.reason).toMatch(/samples\.0\.name/);
    await ackFor(3);

    expect(steady.closeInfo).toBeNull();
    const metrics = await fetch(`${swas.url}/metrics`, {
      headers: { authorization: `Bearer ${viewer}` },
    }).then((r) => r.text());
    expect(metrics).toMatch(/swas_agent_frames_rejected_total\{reason="malformed"\} 2/);
    expect(metrics).toMatch(/swas_agent_frames_rejected_total\{reason="too_big"\} 1/);
  });

  it('refuses frames before hello and replaces an older connection of the same agent', async () => {
    const credential = await enroll('order-1');
    const early = await TestAgent.connect(swas.url, credential);
    open.push(early);
    early.send({ type: 'samples', seq: 1, samples: [] });
    const earlyClose = await early.closed();
    expect(earlyClose.code).toBe(1008);
    expect(earlyClose.reason).toMatch(/first frame must be hello/);

    const old = await connect(credential);
    const fresh = await connect(credential);
    expect((await old.closed()).code).toBe(4000);
    expect(fresh.closeInfo).toBeNull();
    expect(swas.server.parts.agents.connected().filter((n) => n === 'order-1')).toHaveLength(1);
  });

  it('swas agent token create / list / revoke work through the API', { timeout: 60_000 }, async () => {
    const cli = async (...args: string[]) => {
      try {
        const r = await promisify(execFile)(
          join(process.cwd(), 'node_modules/.bin/tsx'),
          ['src/cli/main.ts', 'agent', ...args],
          { env: { ...process.env, SWAS_URL: swas.url, SWAS_TOKEN: admin } },
        );
        return { code: 0, stdout: r.stdout, stderr: r.stderr };
      } catch (error) {
        const e = error as { code: number; stdout: string; stderr: string };
        return { code: e.code, stdout: e.stdout, stderr: e.stderr };
      }
    };
    const created = await cli('token', 'create', '--ttl', '2h', '--label', 'env=cli', '--json');
    expect(created.code, created.stderr).toBe(0);
    const { token } = JSON.parse(created.stdout) as { token: string };
    const enrolled = await call('POST', '/api/v1/agents/enroll', null, {
      token,
      name: 'cli-1',
      hostname: 'c',
    });
    expect(enrolled.status).toBe(201);

    const listed = await cli('list');
    expect(listed.stdout).toMatch(/cli-1\s+c\s+disconnected/);
    expect(listed.stdout).toContain('env=cli');
    expect((await cli('revoke', 'cli-1')).stdout).toBe('revoked agent cli-1\n');
    const again = await cli('revoke', 'cli-1');
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('no enrolled agent named "cli-1"');
    const badLabel = await cli('token', 'create', '--label', 'no-equals');
    expect(badLabel.code).toBe(2);
  });

  it('sends an action and resolves with the agent answer; a disconnect rejects a pending one', async () => {
    const agent = await connect(await enroll('action-1'));
    agent.ws.on('message', (data) => {
      const frame = JSON.parse((data as Buffer).toString('utf8')) as Frame;
      if (frame.type !== 'action' || frame.name !== 'restart app') return;
      agent.send({
        type: 'action_result',
        id: frame.id,
        ok: true,
        exitCode: 0,
        output: 'restarted',
        durationMs: 12,
        error: null,
      });
    });
    const result = await swas.server.parts.agents.sendAction('action-1', {
      name: 'restart app',
      timeoutMs: 5000,
    });
    expect(result).toMatchObject({ type: 'action_result', ok: true, exitCode: 0, output: 'restarted' });

    const pending = swas.server.parts.agents.sendAction('action-1', {
      name: 'never answered',
      timeoutMs: 60_000,
    });
    await agent.next('action', 1);
    agent.close();
    await expect(pending).rejects.toThrow(/disconnected/);
    await expect(
      swas.server.parts.agents.sendAction('nobody', { name: 'x', timeoutMs: 1000 }),
    ).rejects.toThrow(/not connected/);
  });
});

describe('the agent hub alone, with a gated commit', () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let store: StateStore;
  let http: Server;
  let hub: AgentHub;
  let baseUrl: string;
  const appended: { labels: Labels; t: number; v: number }[] = [];
  let releaseCommit: (() => void) | null = null;
  let commits = 0;

  beforeAll(async () => {
    tmp = await makeTempDir('agent-hub');
    store = await openStateStore({ dataDir: join(tmp.dir, 'data') });
    hub = AgentHub.create({
      agents: store.agents,
      appender: {
        append: (labels, t, v) => {
          appended.push({ labels, t, v });
          return { ok: true };
        },
      },
      commitSamples: () =>
        new Promise<void>((resolve) => {
          commits++;
          releaseCommit = resolve;
        }),
      registry: new Registry(),
      logger: pino({ level: 'silent' }),
      now: Date.now,
      helloTimeoutMs: 300,
      pingIntervalMs: 200,
    });
    http = createServer((_req, res) => res.writeHead(404).end());
    hub.attach(http);
    const port = await freePort();
    await new Promise<void>((resolve) => http.listen(port, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${port}`;
  });

  afterAll(async () => {
    await hub.close();
    await new Promise((resolve) => http.close(resolve));
    await store.close();
    await tmp.remove();
  });

  const credential = async (name: string) => {
    const t = await store.agents.createEnrollmentToken({ createdBy: 'test', ttlMs: 60_000 }, Date.now());
    const e = await store.agents.enroll({ token: t.token, name, hostname: name }, Date.now());
    if (!e.ok) throw new Error(e.message);
    return e.credential;
  };

  it('acks a batch only after the commit made it durable', async () => {
    const agent = await TestAgent.connect(baseUrl, await credential('gated-1'));
    agent.hello();
    await agent.next('welcome');
    agent.send({ type: 'samples', seq: 7, samples: [sample('gated', 1000, 1)] });
    await eventually('the commit to start', () => releaseCommit !== null);
    expect(appended).toEqual([{ labels: { __name__: 'gated', agent: 'gated-1' }, t: 1000, v: 1 }]);
    await new Promise((r) => setTimeout(r, 200));
    expect(agent.frames.some((f) => f.type === 'ack')).toBe(false);
    releaseCommit?.();
    expect(await agent.next('ack')).toEqual({ type: 'ack', seq: 7 });
    expect(commits).toBe(1);
    agent.close();
  });

  it('closes a connection that sends no hello in time', async () => {
    const agent = await TestAgent.connect(baseUrl, await credential('silent-1'));
    const info = await agent.closed(3000);
    expect(info.code).toBe(1008);
    expect(info.reason).toMatch(/no hello frame within 300 ms/);
  });

  it('keeps a peer that answers pings and drops one that does not', async () => {
    const live = await TestAgent.connect(baseUrl, await credential('pong-1'));
    live.hello();
    const deadWs = new WebSocket(`${baseUrl.replace('http', 'ws')}/api/v1/agents/connect`, {
      headers: { authorization: `Bearer ${await credential('dead-1')}` },
      autoPong: false,
    });
    let deadClosed: number | null = null;
    deadWs.on('close', (code) => {
      deadClosed = code;
    });
    await new Promise((resolve) => deadWs.once('open', resolve));
    deadWs.send(
      JSON.stringify({
        type: 'hello',
        protocol: 1,
        hostname: 'd',
        version: '1',
        labels: {},
        configVersion: null,
      }),
    );
    await eventually('the silent peer to be dropped', () => deadClosed !== null, 3000);
    expect(deadClosed).toBe(1006);
    expect(live.closeInfo).toBeNull();
    expect(hub.connected()).toContain('pong-1');
    expect(hub.connected()).not.toContain('dead-1');
    live.close();
  });

  it('answers other upgrade paths with 404', async () => {
    const ws = new WebSocket(`${baseUrl.replace('http', 'ws')}/elsewhere`);
    await expect(
      new Promise((resolve, reject) => {
        ws.once('open', resolve);
        ws.once('error', reject);
      }),
    ).rejects.toThrow(/404/);
  });

  it('closes every connection with 1001 on shutdown and refuses new ones', async () => {
    const agent = await TestAgent.connect(baseUrl, await credential('shutdown-1'));
    agent.hello();
    await agent.next('welcome');
    await hub.close();
    expect(await agent.closed()).toEqual({ code: 1001, reason: 'server shutting down' });
    await expect(TestAgent.connect(baseUrl, await credential('shutdown-2'))).rejects.toThrow(/503/);
  });
});
