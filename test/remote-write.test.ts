// The remote-write receiver against a real Prometheus (Debian package): Prometheus scrapes a local target
// and remote-writes to swas's route, served by Fastify with swas's real auth hook over a real state store.
// The encoder is checked the other way round: bodies it builds are accepted by Prometheus's own receiver.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { fastify, type FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { stopProcess } from '../examples/demo/processes.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeRemoteWriteBody } from '../src/ingest/remoteWriteEncode.js';
import type { RemoteWriteReceiver } from '../src/ingest/remoteWriteReceiver.js';
import { snappyEncode } from '../src/ingest/remoteWriteSnappy.js';
import { createAuthHook } from '../src/server/auth.js';
import { errorHandler } from '../src/server/httpErrors.js';
import { writeRoutes } from '../src/server/routes/writeRoutes.js';
import { openStateStore, type StateStore } from '../src/store/index.js';
import { MemorySeriesStore } from '../src/tsdb/index.js';
import { eventually } from './support/swasServer.js';
import { freePort } from './support/ports.js';
import { makeTempDir } from './support/tmp.js';

const PROMETHEUS = '/usr/bin/prometheus';
const MAX_BODY = 256 * 1024;

let temp: Awaited<ReturnType<typeof makeTempDir>>;
let store: StateStore;
let app: FastifyInstance;
let receiver: RemoteWriteReceiver;
let target: Server;
let prometheus: ChildProcess;
let prometheusLog = '';
const series = new MemorySeriesStore();
const registry = new Registry();
const tokens = { operator: '', viewer: '', admin: '' };
let swasUrl = '';
let promUrl = '';
let targetPort = 0;
let gaugeValue = 42.5;

async function startTarget(): Promise<void> {
  targetPort = await freePort();
  target = createServer((_request, response) => {
    response.setHeader('content-type', 'text/plain; version=0.0.4');
    response.end(
      `# TYPE rw_test_gauge gauge\nrw_test_gauge{color="blue"} ${gaugeValue}\n# TYPE rw_test_total counter\nrw_test_total{path="/a b"} 7\n`,
    );
  });
  await new Promise<void>((resolve) => target.listen(targetPort, '127.0.0.1', resolve));
}

async function startSwasRoute(): Promise<void> {
  store = await openStateStore({ dataDir: join(temp.dir, 'swas') });
  for (const role of ['operator', 'viewer', 'admin'] as const) {
    tokens[role] = (await store.tokens.create({ name: `rw-${role}`, role }, Date.now())).token;
  }
  const logger = pino({ level: process.env.SWAS_TEST_LOG ?? 'silent' });
  app = fastify({ logger: false, bodyLimit: 1024 * 1024 });
  app.setErrorHandler(errorHandler(logger));
  app.addHook('onRequest', createAuthHook({ tokens: store.tokens, logger, now: Date.now }));
  // Durability of acknowledged writes is tested against a real server in remote-write-durability.test.ts.
  receiver = writeRoutes(
    app,
    { series, commitSamples: () => Promise.resolve(), logger, registry, now: Date.now },
    { maxBodyBytes: MAX_BODY },
  );
  const port = await freePort();
  await app.listen({ host: '127.0.0.1', port });
  swasUrl = `http://127.0.0.1:${port}`;
}

async function startPrometheus(): Promise<void> {
  if (!existsSync(PROMETHEUS)) {
    throw new Error(`${PROMETHEUS} is missing: install it with \`sudo apt-get install prometheus\``);
  }
  const port = await freePort();
  promUrl = `http://127.0.0.1:${port}`;
  const config = join(temp.dir, 'prometheus.yml');
  await writeFile(
    config,
    `global:
  scrape_interval: 1s
  external_labels: { cluster: rw-test }
scrape_configs:
  - job_name: rwtarget
    static_configs: [{ targets: ['127.0.0.1:${targetPort}'] }]
remote_write:
  - url: ${swasUrl}/api/v1/write
    authorization: { credentials: ${tokens.operator} }
    queue_config: { batch_send_deadline: 1s, min_backoff: 100ms, max_backoff: 1s }
    metadata_config: { send_interval: 2s }
`,
  );
  prometheus = spawn(
    PROMETHEUS,
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(temp.dir, 'prometheus-data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--web.enable-remote-write-receiver',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  prometheus.stderr?.on('data', (chunk: Buffer) => {
    prometheusLog = (prometheusLog + chunk.toString()).slice(-20_000);
  });
  await eventually('Prometheus to be ready', async () => (await fetch(`${promUrl}/-/ready`)).ok, 30_000);
}

async function stopPrometheus(): Promise<void> {
  if (prometheus !== undefined) await stopProcess(prometheus, 10_000);
}

beforeAll(async () => {
  temp = await makeTempDir('remote-write');
  await startTarget();
  await startSwasRoute();
  await startPrometheus();
});

afterAll(async () => {
  await stopPrometheus();
  await app?.close();
  await new Promise((resolve) => target?.close(resolve));
  await store?.close();
  await temp?.remove();
});

function latest(name: string, extra: Record<string, string> = {}) {
  const matchers = [{ name: '__name__', type: '=' as const, value: name }];
  for (const [k, v] of Object.entries(extra)) matchers.push({ name: k, type: '=', value: v });
  const found = series.select(matchers, 0, Date.now() + 60_000);
  const one = found[0];
  if (one === undefined || one.t.length === 0) return null;
  return { labels: one.labels, t: one.t[one.t.length - 1] as number, v: one.v[one.v.length - 1] as number };
}

async function post(
  body: Uint8Array<ArrayBuffer> | string,
  token: string | null,
  headers: Record<string, string> = {},
) {
  const response = await fetch(`${swasUrl}/api/v1/write`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-protobuf',
      'content-encoding': 'snappy',
      ...(token === null ? {} : { authorization: `Bearer ${token}` }),
      ...headers,
    },
    body,
  });
  const text = await response.text();
  return {
    status: response.status,
    body: text === '' ? null : (JSON.parse(text) as { error: { code: string; message: string } }),
  };
}

describe('remote write from a real Prometheus', () => {
  it('stores the scraped series with their labels and values', async () => {
    const before = Date.now();
    const gauge = await eventually(
      `rw_test_gauge from Prometheus (Prometheus log tail: ${prometheusLog.slice(-500)})`,
      () => latest('rw_test_gauge'),
      30_000,
    );
    expect({ ...gauge.labels }).toEqual({
      __name__: 'rw_test_gauge',
      color: 'blue',
      job: 'rwtarget',
      instance: `127.0.0.1:${targetPort}`,
      cluster: 'rw-test',
    });
    expect(gauge.v).toBe(42.5);
    expect(Math.abs(gauge.t - before)).toBeLessThan(120_000);
    expect(latest('rw_test_total')?.labels.path).toBe('/a b');
    expect(latest('up', { job: 'rwtarget' })?.v).toBe(1);
    expect(latest('scrape_samples_scraped', { job: 'rwtarget' })?.v).toBe(2);

    gaugeValue = -3.25;
    await eventually('the new gauge value to arrive', () => latest('rw_test_gauge')?.v === -3.25, 30_000);
    const stats = receiver.stats();
    expect(stats.requests['204']).toBeGreaterThan(1);
    expect(stats.requests['400'] + stats.requests['413'] + stats.requests['415']).toBe(0);
    expect(stats.samplesAccepted).toBeGreaterThan(4);
    expect(await registry.metrics()).toMatch(/swas_remote_write_requests_total\{code="204"\} [1-9]/);
  });

  it("builds bodies Prometheus's own receiver accepts", async () => {
    const now = Date.now();
    const many = Array.from({ length: 300 }, (_, i) => ({
      labels: { __name__: 'swas_encoded_metric', shard: `shard-${i}`, role: 'writer', zone: 'eu-west-1a' },
      t: [now - 1000, now],
      v: [i, i + 0.5],
    }));
    const body = encodeRemoteWriteBody(many);
    const response = await fetch(`${promUrl}/api/v1/write`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-protobuf',
        'content-encoding': 'snappy',
        'x-prometheus-remote-write-version': '0.1.0',
      },
      body,
    });
    expect(response.status, await response.text()).toBe(204);
    const query = async (expr: string) => {
      const url = `${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}&time=${now / 1000}`;
      const answer = (await (await fetch(url)).json()) as { data: { result: { value: [number, string] }[] } };
      return answer.data.result.map((r) => Number(r.value[1]));
    };
    expect(await query('count(swas_encoded_metric)')).toEqual([300]);
    expect(await query('swas_encoded_metric{shard="shard-7"}')).toEqual([7.5]);
    expect(await query('sum(swas_encoded_metric)')).toEqual([(299 * 300) / 2 + 150]);
  });
});

describe('POST /api/v1/write', () => {
  const valid = () =>
    encodeRemoteWriteBody([{ labels: { __name__: 'rw_http_test', n: 'x' }, t: [Date.now()], v: [1] }]);

  it('needs an operator token', async () => {
    const none = await post(valid(), null);
    expect(none.status).toBe(401);
    expect(none.body?.error.code).toBe('SWAS-AUTH-001');
    expect((await post(valid(), 'not-a-token')).status).toBe(401);
    const viewer = await post(valid(), tokens.viewer);
    expect(viewer.status).toBe(403);
    expect(viewer.body?.error.message).toContain('needs the operator role');
    expect((await post(valid(), tokens.admin)).status).toBe(204);
    expect(latest('rw_http_test')?.labels.n).toBe('x');
  });

  it('answers 415 for another media type, before parsing the body', async () => {
    const json = await post('{not json', tokens.operator, { 'content-type': 'application/json' });
    expect(json.status).toBe(415);
    expect(json.body?.error.code).toBe('SWAS-RW-004');
    expect(
      (await post(valid(), tokens.operator, { 'content-type': 'application/octet-stream' })).status,
    ).toBe(415);
    const gzip = await post(valid(), tokens.operator, { 'content-encoding': 'gzip' });
    expect(gzip.status).toBe(415);
    expect(gzip.body?.error.message).toContain('must be "snappy"');
    const v2 = await post(valid(), tokens.operator, {
      'content-type': 'application/x-protobuf;proto=io.prometheus.write.v2.Request',
    });
    expect(v2.status).toBe(415);
  });

  it('answers 400 with the byte offset for a body that is not snappy', async () => {
    const bad = await post(Uint8Array.from([5, 0x00, 97, 0x01, 0x02]), tokens.operator);
    expect(bad.status).toBe(400);
    expect(bad.body?.error).toMatchObject({ code: 'SWAS-RW-001' });
    expect(bad.body?.error.message).toContain('at byte 3');
    const notProto = await post(snappyEncode(Uint8Array.from([0x0a, 0x7f])), tokens.operator);
    expect(notProto.status).toBe(400);
    expect(notProto.body?.error.code).toBe('SWAS-RW-002');
    expect((await post(new Uint8Array(0), tokens.operator)).status).toBe(400);
  });

  it('answers 413 for a body over max_body_bytes', async () => {
    const big = new Uint8Array(MAX_BODY + 1);
    const tooBig = await post(big, tokens.operator);
    expect(tooBig.status).toBe(413);
    expect(tooBig.body?.error.code).toBe('SWAS-RW-003');
    expect(tooBig.body?.error.message).toContain(`over the limit of ${MAX_BODY} bytes`);
    // Chunked, without Content-Length: the limit holds while streaming.
    const chunk = new Uint8Array(64 * 1024);
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 8) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const response = await fetch(`${swasUrl}/api/v1/write`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-protobuf',
        authorization: `Bearer ${tokens.operator}`,
      },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(response.status).toBe(413);
    expect(await response.text()).toContain('remote-write body is over the limit');
  });
});
