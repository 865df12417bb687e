import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../test/support/ports.js';
import { makeTempDir } from '../../test/support/tmp.js';
import { httpProbeSchema } from '../config/httpProbeSchema.js';
import { runHttpProbe, type HttpProbeConfig, type ProbeContext } from './index.js';

const ctx: ProbeContext = { signal: new AbortController().signal, now: () => Date.now() };
const servers: Server[] = [];
const sockets = new Set<Socket>();

function track(server: Server): Server {
  servers.push(server);
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  return server;
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
});

/** Parses a probe through the real config schema, so the tests also pin the schema's output shape. */
function probe(fields: Record<string, unknown>): HttpProbeConfig {
  return httpProbeSchema.parse({ kind: 'http', timeout: '3s', ...fields });
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
const routes = new Map<string, Handler>();
let base = '';

beforeAll(async () => {
  const server = track(
    createServer((req, res) => {
      const handler = routes.get(new URL(req.url ?? '/', 'http://x').pathname);
      if (handler) handler(req, res);
      else res.writeHead(404).end('not found');
    }),
  );
  base = `http://127.0.0.1:${await listen(server)}`;
});

function json(res: ServerResponse, value: unknown, status = 200): void {
  res
    .writeHead(status, { 'Content-Type': 'application/json', 'X-Version': '1.4.2' })
    .end(JSON.stringify(value));
}

routes.set('/health', (_req, res) =>
  json(res, { status: 'degraded', checks: [{ name: 'db', ok: true }], n: 3 }),
);
routes.set('/fail', (_req, res) => json(res, { status: 'down' }, 503));
routes.set('/text', (_req, res) => res.writeHead(200, { 'Content-Type': 'text/plain' }).end('hello world'));
routes.set('/slow', (_req, res) => setTimeout(() => res.end('late'), 250));
routes.set('/hang', () => undefined);
routes.set('/gzip', (_req, res) =>
  res.writeHead(200, { 'Content-Encoding': 'gzip' }).end(gzipSync('compressed hello')),
);
routes.set('/big', (_req, res) => res.end(`${'x'.repeat(1_500_000)}needle`));
routes.set('/hop1', (_req, res) => res.writeHead(302, { Location: '/hop2' }).end());
routes.set('/hop2', (_req, res) => res.writeHead(301, { Location: `${base}/text` }).end());
routes.set('/loop', (_req, res) => res.writeHead(302, { Location: '/loop' }).end());
routes.set('/post-then-see-other', (req, res) =>
  res.writeHead(303, { Location: `/echo-method?was=${req.method}` }).end(),
);
routes.set('/echo-method', (req, res) => res.end(`${req.method} ${req.url}`));

describe('runHttpProbe assertions', () => {
  it('passes when every kind of assertion holds, with the http metrics', async () => {
    const result = await runHttpProbe(
      probe({
        url: `${base}/health`,
        expect: {
          status: [200, '2xx', '200-204'],
          body_contains: '"degraded"',
          body_matches: '"n":\\s*\\d+',
          json: [
            { path: '$.status', equals: 'degraded' },
            { path: "$.checks[0]['name']", matches: '^d' },
            { path: '$.checks[0].ok', equals: true },
            { path: '$.n' },
            { path: '$.missing', exists: false },
          ],
          headers: { 'content-type': '^application/json$', 'X-Version': '^1\\.' },
          max_latency: '2s',
        },
      }),
      ctx,
    );
    expect(result.error).toBeNull();
    expect(result.success).toBe(true);
    expect(result.metrics).toMatchObject({
      probe_http_status_code: 200,
      probe_http_redirects: 0,
      probe_http_ssl: 0,
      probe_http_content_length: JSON.stringify({
        status: 'degraded',
        checks: [{ name: 'db', ok: true }],
        n: 3,
      }).length,
    });
    expect(result.metrics.probe_http_duration_connect_seconds).toBeGreaterThan(0);
    expect(result.metrics.probe_http_duration_processing_seconds).toBeGreaterThan(0);
    expect(result.metrics).not.toHaveProperty('probe_tls_cert_expiry_timestamp_seconds');
    expect(result.durationSeconds).toBeGreaterThan(0);
  });

  it.each([
    ['status', '/fail', {}, 'status 503 not in [2xx]'],
    ['status list', '/health', { status: [201, '4xx'] }, 'status 200 not in [201, 4xx]'],
    ['body_contains', '/text', { body_contains: 'bye' }, 'body does not contain "bye"'],
    ['body_matches', '/text', { body_matches: '^world' }, 'body does not match /^world/'],
    [
      'json equals',
      '/health',
      { json: [{ path: '$.status', equals: 'ok' }] },
      '$.status: expected "ok", got "degraded"',
    ],
    [
      'json equals object',
      '/health',
      { json: [{ path: '$.checks[0]', equals: { name: 'db' } }] },
      '$.checks[0]: expected {"name":"db"}, got {"name":"db","ok":true}',
    ],
    ['json matches', '/health', { json: [{ path: '$.n', matches: '^4$' }] }, '$.n: 3 does not match /^4$/'],
    [
      'json exists',
      '/health',
      { json: [{ path: '$.checks[1].name' }] },
      '$.checks[1].name: not found in the JSON body',
    ],
    [
      'json absent',
      '/health',
      { json: [{ path: '$.n', exists: false }] },
      '$.n: expected to be absent, found 3',
    ],
    [
      'json on text',
      '/text',
      { json: [{ path: '$.a' }] },
      /^body is not JSON \(.*\); json assertions need a JSON body$/,
    ],
    [
      'header mismatch',
      '/health',
      { headers: { 'X-Version': '^2\\.' } },
      'header X-Version: "1.4.2" does not match /^2\\./',
    ],
    [
      'header missing',
      '/health',
      { headers: { 'X-Trace': '.' } },
      'header X-Trace missing (expected to match /./)',
    ],
    ['max_latency', '/slow', { max_latency: '50ms' }, /^latency \d+ms over max_latency 50ms$/],
    [
      'cert on plain http',
      '/text',
      { cert_expires_after: '14d' },
      'no TLS certificate seen (the URL is not https); cert_expires_after needs an https URL',
    ],
    [
      'body cap',
      '/big',
      { body_contains: 'needle' },
      'body does not contain "needle" (only the first 1 MiB of the body was read)',
    ],
  ] as const)('fails on %s with a message that says what', async (_kind, path, expectation, message) => {
    const result = await runHttpProbe(probe({ url: `${base}${path}`, expect: expectation }), ctx);
    expect(result.success).toBe(false);
    if (typeof message === 'string') expect(result.error).toBe(message);
    else expect(result.error).toMatch(message);
  });

  it('reads a gzip body decompressed', async () => {
    const result = await runHttpProbe(
      probe({ url: `${base}/gzip`, expect: { body_contains: 'compressed hello' } }),
      ctx,
    );
    expect(result.error).toBeNull();
  });
});

describe('runHttpProbe redirects', () => {
  it('follows redirects and counts them', async () => {
    const result = await runHttpProbe(
      probe({ url: `${base}/hop1`, expect: { body_contains: 'hello' } }),
      ctx,
    );
    expect(result.error).toBeNull();
    expect(result.metrics.probe_http_redirects).toBe(2);
    expect(result.metrics.probe_http_status_code).toBe(200);
  });

  it('does not follow when follow_redirects is false', async () => {
    const result = await runHttpProbe(probe({ url: `${base}/hop1`, follow_redirects: false }), ctx);
    expect(result.error).toBe('status 302 not in [2xx]');
    expect(result.metrics.probe_http_redirects).toBe(0);
  });

  it('gives up on a redirect loop after 10', async () => {
    const result = await runHttpProbe(probe({ url: `${base}/loop` }), ctx);
    expect(result.error).toBe(
      `GET ${base}/loop: more than 10 redirects; fix the loop or set follow_redirects: false`,
    );
  });

  it('turns a POST into a GET after 303 See Other', async () => {
    const result = await runHttpProbe(
      probe({
        url: `${base}/post-then-see-other`,
        method: 'POST',
        body: 'a=1',
        expect: { body_contains: 'GET /echo-method?was=POST' },
      }),
      ctx,
    );
    expect(result.error).toBeNull();
  });
});

describe('runHttpProbe network failures', () => {
  it('fails within the timeout when the server never answers', async () => {
    const started = Date.now();
    const result = await runHttpProbe(probe({ url: `${base}/hang`, timeout: '300ms' }), ctx);
    expect(Date.now() - started).toBeLessThan(1500);
    expect(result.success).toBe(false);
    expect(result.error).toBe(`GET ${base}/hang: timed out after 300ms while waiting for the response`);
    expect(result.metrics.probe_http_status_code).toBe(0);
  });

  it('stops when the caller aborts', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const result = await runHttpProbe(probe({ url: `${base}/hang` }), { ...ctx, signal: controller.signal });
    expect(result.error).toBe(`GET ${base}/hang: stopped before it finished while waiting for the response`);
  });

  it('reports a refused connection', async () => {
    const url = `http://127.0.0.1:${await freePort()}/`;
    const result = await runHttpProbe(probe({ url }), ctx);
    expect(result.success).toBe(false);
    expect(result.error).toBe(`GET ${url}: connection refused (ECONNREFUSED); is the service listening?`);
  });
});

describe('runHttpProbe over TLS', () => {
  let url = '';
  let certFile = '';
  let removeDir: () => Promise<void> = () => Promise.resolve();

  beforeAll(async () => {
    const { dir, remove } = await makeTempDir('https-probe');
    removeDir = remove;
    certFile = join(dir, 'cert.pem');
    const keyFile = join(dir, 'key.pem');
    try {
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-days',
          '3',
          '-subj',
          '/CN=localhost',
          '-addext',
          'subjectAltName=IP:127.0.0.1,DNS:localhost',
          '-keyout',
          keyFile,
          '-out',
          certFile,
        ],
        { stdio: 'pipe' },
      );
    } catch (error) {
      throw new Error(
        `openssl could not make a test certificate (${String(error)}); install it: apt-get install openssl`,
      );
    }
    const server = createHttpsServer(
      { key: readFileSync(keyFile), cert: readFileSync(certFile) },
      (_req, res) => res.end('secure hello'),
    );
    url = `https://127.0.0.1:${await listen(track(server))}/`;
  });
  afterAll(() => removeDir());

  it('trusts the certificate given as ca_file and reports its expiry', async () => {
    const result = await runHttpProbe(
      probe({ url, tls: { ca_file: certFile }, expect: { body_contains: 'secure' } }),
      ctx,
    );
    expect(result.error).toBeNull();
    expect(result.metrics.probe_http_ssl).toBe(1);
    const expiry = result.metrics.probe_tls_cert_expiry_timestamp_seconds ?? 0;
    expect(Math.abs(expiry - (Date.now() / 1000 + 3 * 86_400))).toBeLessThan(3600);
    expect(result.metrics.probe_http_duration_tls_seconds).toBeGreaterThan(0);
  });

  it('fails cert_expires_after for a 3-day certificate', async () => {
    const result = await runHttpProbe(
      probe({ url, tls: { ca_file: certFile }, expect: { cert_expires_after: '14d' } }),
      ctx,
    );
    expect(result.error).toBe('certificate of 127.0.0.1 expires in 3 days (< 14 days)');
    expect(result.metrics.probe_tls_cert_expiry_timestamp_seconds).toBeGreaterThan(0);
  });

  it('says a certificate expired, with a clock past its end', async () => {
    const later = { ...ctx, now: () => Date.now() + 5 * 86_400_000 };
    const result = await runHttpProbe(
      probe({ url, tls: { ca_file: certFile }, expect: { cert_expires_after: '1d' } }),
      later,
    );
    expect(result.error).toBe('certificate of 127.0.0.1 expired 2 days ago');
  });

  it('refuses an untrusted certificate and says what to do', async () => {
    const result = await runHttpProbe(probe({ url }), ctx);
    expect(result.success).toBe(false);
    expect(result.error).toMatch(
      /^GET https:\/\/127\.0\.0\.1:\d+\/: TLS certificate not trusted: .* \((DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN)\); give its CA in tls\.ca_file/,
    );
  });

  it('accepts it with insecure_skip_verify and still measures expiry', async () => {
    const result = await runHttpProbe(probe({ url, tls: { insecure_skip_verify: true } }), ctx);
    expect(result.error).toBeNull();
    expect(result.metrics.probe_tls_cert_expiry_timestamp_seconds).toBeGreaterThan(Date.now() / 1000);
  });

  it('checks the certificate against server_name', async () => {
    const result = await runHttpProbe(
      probe({ url, tls: { ca_file: certFile, server_name: 'other.example' } }),
      ctx,
    );
    expect(result.error).toMatch(
      /TLS certificate not trusted: .*other\.example.* \(ERR_TLS_CERT_ALTNAME_INVALID\)/,
    );
  });

  it('says when ca_file cannot be read', async () => {
    const result = await runHttpProbe(probe({ url, tls: { ca_file: '/nonexistent/ca.pem' } }), ctx);
    expect(result.error).toMatch(
      /^GET https:.*: tls\.ca_file \/nonexistent\/ca\.pem cannot be read \(.*\); check the path/,
    );
  });
});
