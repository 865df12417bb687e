import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { InputError } from '../core/index.js';
import { RemotePromqlQuery } from './RemotePromqlQuery.js';

// A scripted HTTP endpoint: these tests pin the mapping of every answer shape (including broken ones no real
// engine sends on demand); test/victoria-metrics.test.ts runs the class against a real engine.
interface Recorded {
  path: string;
  form: URLSearchParams;
  headers: IncomingMessage['headers'];
}

type Reply = { status: number; body: string } | 'hang';

let server: Server;
let base: string;
let reply: Reply;
let requests: Recorded[];
const hanging: ServerResponse[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      requests.push({ path: req.url ?? '', form: new URLSearchParams(body), headers: req.headers });
      if (reply === 'hang') {
        hanging.push(res);
        return;
      }
      res.writeHead(reply.status, { 'content-type': 'application/json' });
      res.end(reply.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const res of hanging) res.destroy();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  requests = [];
  reply = { status: 200, body: '{}' };
});

function answer(data: unknown, extra: Record<string, unknown> = {}): void {
  reply = { status: 200, body: JSON.stringify({ status: 'success', data, ...extra }) };
}

describe('RemotePromqlQuery.create', () => {
  it('rejects URLs and timeouts that cannot work', () => {
    expect(() => RemotePromqlQuery.create({ url: 'not a url' })).toThrow(InputError);
    expect(() => RemotePromqlQuery.create({ url: 'ftp://host:21' })).toThrow(/must use http or https/);
    expect(() => RemotePromqlQuery.create({ url: 'http://host:9090/?x=1' })).toThrow(/query string/);
    expect(() => RemotePromqlQuery.create({ url: base, timeoutMs: 0 })).toThrow(/timeoutMs/);
  });
});

describe('RemotePromqlQuery instant and range', () => {
  it('POSTs the form Prometheus expects, with headers, and maps special values', async () => {
    answer(
      {
        resultType: 'vector',
        result: [
          { metric: { __name__: 'up', job: 'a' }, value: [1700000000.5, '1'] },
          { metric: { job: 'b' }, value: [1700000000.5, 'NaN'] },
          { metric: { job: 'c' }, value: [1700000000.5, '+Inf'] },
          { metric: { job: 'd' }, value: [1700000000.5, '-Inf'] },
        ],
      },
      { warnings: ['PromQL warning: x'] },
    );
    const q = RemotePromqlQuery.create({ url: `${base}/prefix/`, headers: { 'x-scope-orgid': 't1' } });
    const outcome = await q.instant('up', 1_700_000_000_500);
    expect(requests[0]?.path).toBe('/prefix/api/v1/query');
    expect(requests[0]?.form.get('query')).toBe('up');
    expect(requests[0]?.form.get('time')).toBe('1700000000.5');
    expect(requests[0]?.form.get('timeout')).toBe('30s');
    expect(requests[0]?.headers['x-scope-orgid']).toBe('t1');
    expect(outcome).toEqual({
      ok: true,
      warnings: ['PromQL warning: x'],
      value: {
        resultType: 'vector',
        result: [
          { labels: { __name__: 'up', job: 'a' }, value: 1, t: 1_700_000_000_500 },
          { labels: { job: 'b' }, value: NaN, t: 1_700_000_000_500 },
          { labels: { job: 'c' }, value: Infinity, t: 1_700_000_000_500 },
          { labels: { job: 'd' }, value: -Infinity, t: 1_700_000_000_500 },
        ],
      },
    });
  });

  it('maps scalar and string results', async () => {
    const q = RemotePromqlQuery.create({ url: base });
    answer({ resultType: 'scalar', result: [10, '2.5'] });
    expect(await q.instant('2.5', 10_000)).toEqual({
      ok: true,
      value: { resultType: 'scalar', result: [10_000, 2.5] },
    });
    answer({ resultType: 'string', result: [10, 'hi'] });
    expect(await q.instant('"hi"', 10_000)).toEqual({
      ok: true,
      value: { resultType: 'string', result: [10_000, 'hi'] },
    });
  });

  it('sends range parameters in seconds and maps the matrix', async () => {
    answer({
      resultType: 'matrix',
      result: [
        {
          metric: { a: '1' },
          values: [
            [60, '1'],
            [120, '2e3'],
          ],
        },
      ],
    });
    const q = RemotePromqlQuery.create({ url: base, timeoutMs: 1500 });
    const outcome = await q.range('a', 60_000, 120_000, 60_000);
    expect(requests[0]?.path).toBe('/api/v1/query_range');
    expect(Object.fromEntries(requests[0]?.form ?? [])).toEqual({
      query: 'a',
      start: '60',
      end: '120',
      step: '60',
      timeout: '1.5s',
    });
    expect(outcome).toEqual({
      ok: true,
      value: {
        resultType: 'matrix',
        result: [
          {
            labels: { a: '1' },
            points: [
              [60_000, 1],
              [120_000, 2000],
            ],
          },
        ],
      },
    });
  });

  it('refuses a bad range without asking the engine', async () => {
    const q = RemotePromqlQuery.create({ url: base });
    const outcome = await q.range('a', 120_000, 60_000, 60_000);
    expect(outcome).toMatchObject({ ok: false, error: { errorType: 'bad_data' } });
    expect(await q.range('a', 0, 60_000, 0)).toMatchObject({ ok: false, error: { errorType: 'bad_data' } });
    expect(requests).toHaveLength(0);
  });
});

describe('RemotePromqlQuery errors', () => {
  it("keeps Prometheus's errorType and the parse position", async () => {
    reply = {
      status: 400,
      body: JSON.stringify({
        status: 'error',
        errorType: 'bad_data',
        error: '1:5: parse error: unexpected "}"',
      }),
    };
    const outcome = await RemotePromqlQuery.create({ url: base }).instant('foo{}}', 0);
    expect(outcome).toMatchObject({
      ok: false,
      error: { errorType: 'bad_data', position: { line: 1, column: 5 } },
    });
    if (!outcome.ok) expect(outcome.error.message).toContain(`${base}/api/v1/query`);
  });

  it('maps HTTP-code error types such as VictoriaMetrics sends', async () => {
    const q = RemotePromqlQuery.create({ url: base });
    reply = {
      status: 422,
      body: JSON.stringify({ status: 'error', errorType: '422', error: 'cannot parse' }),
    };
    expect(await q.instant('x', 0)).toMatchObject({ ok: false, error: { errorType: 'bad_data' } });
    reply = { status: 503, body: JSON.stringify({ status: 'error', errorType: '503', error: 'deadline' }) };
    expect(await q.instant('x', 0)).toMatchObject({ ok: false, error: { errorType: 'timeout' } });
    reply = { status: 500, body: JSON.stringify({ status: 'error', error: 'boom' }) };
    expect(await q.instant('x', 0)).toMatchObject({
      ok: false,
      error: { errorType: 'execution', message: /boom/ },
    });
  });

  it('reports a non-JSON answer with its status and URL', async () => {
    reply = { status: 502, body: '<html>Bad Gateway</html>' };
    const outcome = await RemotePromqlQuery.create({ url: base }).instant('x', 0);
    expect(outcome).toMatchObject({ ok: false, error: { errorType: 'execution' } });
    if (!outcome.ok) expect(outcome.error.message).toMatch(/HTTP 502.*not JSON.*Bad Gateway/);
  });

  it('reports answers of the wrong shape', async () => {
    const q = RemotePromqlQuery.create({ url: base });
    answer({ resultType: 'vector', result: [{ metric: {}, value: [1, 'abc'] }] });
    expect(await q.instant('x', 0)).toMatchObject({
      ok: false,
      error: { errorType: 'execution', message: /"abc"/ },
    });
    answer({ resultType: 'vector', result: [] });
    expect(await q.range('x', 0, 1, 1)).toMatchObject({
      ok: false,
      error: { message: /range query answered/ },
    });
    answer({ resultType: 'histogram', result: [] });
    expect(await q.instant('x', 0)).toMatchObject({ ok: false, error: { errorType: 'execution' } });
  });

  it('names the URL when the engine is unreachable', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const outcome = await RemotePromqlQuery.create({ url: `http://127.0.0.1:${port}` }).instant('x', 0);
    expect(outcome).toMatchObject({ ok: false, error: { errorType: 'execution' } });
    if (!outcome.ok)
      expect(outcome.error.message).toContain(`http://127.0.0.1:${port}/api/v1/query is unreachable`);
  });

  it('turns a request that outlives timeoutMs into a timeout error', async () => {
    reply = 'hang';
    const outcome = await RemotePromqlQuery.create({ url: base, timeoutMs: 100 }).instant('x', 0);
    expect(outcome).toMatchObject({ ok: false, error: { errorType: 'timeout', message: /within 100 ms/ } });
  });
});

describe('RemotePromqlQuery.unknownMetrics', () => {
  it('asks for the metric names the expression selects and returns the missing ones', async () => {
    answer(['known_total']);
    const q = RemotePromqlQuery.create({ url: base });
    const missing = await q.unknownMetrics('rate(known_total[5m]) / on() missing_total + {job="x"}');
    expect(missing).toEqual(['missing_total']);
    expect(requests[0]?.path).toBe('/api/v1/label/__name__/values');
    expect(requests[0]?.form.getAll('match[]')).toEqual([
      '{__name__="known_total"}',
      '{__name__="missing_total"}',
    ]);
  });

  it('asks nothing for expressions without metric names, and answers [] when it cannot ask', async () => {
    const q = RemotePromqlQuery.create({ url: base });
    expect(await q.unknownMetrics('vector(1)')).toEqual([]);
    expect(await q.unknownMetrics('foo{')).toEqual([]);
    expect(requests).toHaveLength(0);
    reply = { status: 500, body: 'oops' };
    expect(await q.unknownMetrics('foo')).toEqual([]);
  });
});
