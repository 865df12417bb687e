import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestServer, type TestServer } from './support/swasServer.js';
import { makeTempDir } from './support/tmp.js';

// swas scrapes two real exporters on loopback; then the clients that talk to a Prometheus server talk to
// swas: promtool from the Debian package, and the exact HTTP requests Grafana's Prometheus data source
// sends (recorded from Grafana's source, pkg/promlib and packages/grafana-prometheus).

const PROMTOOL = '/usr/bin/promtool';

// Exporter A speaks the text format 0.0.4; B speaks OpenMetrics, the only format with UNIT lines.
const bodyA = `# HELP demo_requests_total Requests served.
# TYPE demo_requests_total counter
demo_requests_total{code="200"} 10
demo_requests_total{code="500"} 3
# HELP demo_temperature_celsius Room temperature.
# TYPE demo_temperature_celsius gauge
demo_temperature_celsius 21.5
# HELP demo_untyped A metric without a TYPE line.
demo_untyped 1
`;
const bodyB = `# TYPE demo_requests counter
# HELP demo_requests Requests handled.
demo_requests_total{code="200"} 5
# TYPE demo_temperature_celsius gauge
# UNIT demo_temperature_celsius celsius
# HELP demo_temperature_celsius Room temperature.
demo_temperature_celsius 22.5
# EOF
`;

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

async function close(server: Server | undefined): Promise<void> {
  if (server === undefined) return;
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

function exporter(body: string, contentType: string): Server {
  return createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': contentType });
    res.end(body);
  });
}

interface Recorded {
  readonly method: string;
  readonly path: string;
  readonly contentType: string;
  readonly body: string;
}

/**
 * promtool 2.42 has no flag for an Authorization header (`--http.config.file` came later), so it talks to
 * swas through this loopback proxy, which adds the bearer token and records what promtool sent.
 */
function tokenProxy(target: string, token: string, recorded: Recorded[]): Server {
  return createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const contentType = req.headers['content-type'] ?? '';
      recorded.push({
        method: req.method ?? '',
        path: (req.url ?? '').split('?')[0] ?? '',
        contentType,
        body,
      });
      const headers: Record<string, string> = { authorization: `Bearer ${token}` };
      if (contentType !== '') headers['content-type'] = contentType;
      fetch(`${target}${req.url ?? '/'}`, {
        method: req.method ?? 'GET',
        headers,
        ...(req.method === 'POST' ? { body } : {}),
      }).then(
        async (response) => {
          res.writeHead(response.status, {
            'content-type': response.headers.get('content-type') ?? 'application/json',
          });
          res.end(await response.text());
        },
        (error: unknown) => {
          res.writeHead(502);
          res.end(String(error));
        },
      );
    });
  });
}

interface ToolResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function promtool(args: string[]): Promise<ToolResult> {
  return new Promise((resolve) => {
    execFile(PROMTOOL, args, { timeout: 20_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
      resolve({ code, stdout, stderr });
    });
  });
}

describe('Prometheus-compatible HTTP API with real clients', () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let swas: TestServer;
  let viewer = '';
  let proxyUrl = '';
  const servers: Server[] = [];
  const recorded: Recorded[] = [];
  let nowSec = 0;

  /** A request as Grafana's backend sends it: Go's form encoding, its content type, the DS's auth header. */
  const grafana = async (
    method: 'GET' | 'POST',
    path: string,
    params: Record<string, string>,
  ): Promise<{ status: number; body: unknown }> => {
    const form = new URLSearchParams(params).toString();
    const url = method === 'GET' && form !== '' ? `${swas.url}${path}?${form}` : `${swas.url}${path}`;
    const response = await fetch(url, {
      method,
      headers: {
        'User-Agent': 'Grafana/11.0.0',
        'Accept-Encoding': 'gzip',
        Authorization: `Bearer ${viewer}`,
        ...(method === 'POST' ? { 'Content-Type': 'application/x-www-form-urlencoded' } : {}),
      },
      ...(method === 'POST' ? { body: form } : {}),
    });
    return { status: response.status, body: (await response.json()) as unknown };
  };

  beforeAll(async () => {
    if (!existsSync(PROMTOOL))
      throw new Error(`${PROMTOOL} is missing: install the Debian package prometheus`);
    tmp = await makeTempDir('prom-api');
    const a = exporter(bodyA, 'text/plain; version=0.0.4; charset=utf-8');
    const b = exporter(bodyB, 'application/openmetrics-text; version=1.0.0; charset=utf-8');
    servers.push(a, b);
    const portA = await listen(a);
    const portB = await listen(b);
    swas = await startTestServer(
      tmp.dir,
      `scrape_configs:
  - job_name: demo
    scrape_interval: 1s
    scrape_timeout: 500ms
    static_configs:
      - targets: ['127.0.0.1:${portA}', '127.0.0.1:${portB}']
`,
    );
    viewer = await swas.token('viewer');
    const proxy = tokenProxy(swas.url, viewer, recorded);
    servers.push(proxy);
    proxyUrl = `http://127.0.0.1:${await listen(proxy)}`;
    // Three scrapes of both targets, so range queries have several points.
    await eventually('three scrapes of both targets', async () => {
      const r = await swas.get(
        `/api/v1/query?query=${encodeURIComponent('count_over_time(up[1m]) >= 3')}`,
        viewer,
      );
      const result = (r.body as { data?: { result?: unknown[] } }).data?.result ?? [];
      return result.length === 2;
    });
    nowSec = Math.floor(Date.now() / 1000);
  }, 30_000);

  afterAll(async () => {
    for (const s of servers) await close(s);
    await swas?.stop();
    await tmp?.remove();
  });

  describe('promtool query', () => {
    it('runs an instant query (POST form, as client_golang sends it)', async () => {
      const out = await promtool([
        'query',
        'instant',
        '-o',
        'json',
        proxyUrl,
        'sum by (code) (demo_requests_total)',
      ]);
      expect(out.stderr).toBe('');
      expect(out.code).toBe(0);
      const vector = JSON.parse(out.stdout) as { metric: Record<string, string>; value: [number, string] }[];
      const byCode = Object.fromEntries(vector.map((s) => [s.metric.code ?? '', s.value[1]]));
      expect(byCode).toEqual({ '200': '15', '500': '3' });
      const sent = recorded.filter((r) => r.path === '/api/v1/query');
      expect(sent.at(-1)?.method).toBe('POST');
      expect(sent.at(-1)?.contentType).toBe('application/x-www-form-urlencoded');
      expect(new URLSearchParams(sent.at(-1)?.body).get('query')).toBe('sum by (code) (demo_requests_total)');
    });

    it('prints an instant query in its default PromQL format', async () => {
      const out = await promtool(['query', 'instant', proxyUrl, 'demo_temperature_celsius']);
      expect(out.code).toBe(0);
      const lines = out.stdout.trim().split('\n');
      expect(lines).toHaveLength(2);
      for (const line of lines) {
        expect(line).toMatch(
          /^demo_temperature_celsius\{instance="127\.0\.0\.1:\d+", job="demo"\} => \S+ @\[\d+\.?\d*\]$/,
        );
      }
      expect(lines.map((l) => / => (\S+) @/.exec(l)?.[1]).sort()).toEqual(['21.5', '22.5']);
    });

    it('runs a range query', async () => {
      const out = await promtool([
        'query',
        'range',
        '-o',
        'json',
        `--start=${nowSec - 60}`,
        `--end=${nowSec}`,
        '--step=1s',
        proxyUrl,
        'demo_temperature_celsius',
      ]);
      expect(out.code).toBe(0);
      const matrix = JSON.parse(out.stdout) as { metric: object; values: [number, string][] }[];
      expect(matrix).toHaveLength(2);
      // Each exporter serves a constant, so each series has several points, all the same value.
      const perSeries = matrix.map((s) => [...new Set(s.values.map((v) => v[1]))]);
      expect(perSeries.sort()).toEqual([['21.5'], ['22.5']]);
      for (const s of matrix) expect(s.values.length).toBeGreaterThanOrEqual(2);
      expect(recorded.filter((r) => r.path === '/api/v1/query_range').at(-1)?.method).toBe('POST');
    });

    it('lists series', async () => {
      const out = await promtool(['query', 'series', '--match=demo_requests_total', proxyUrl]);
      expect(out.code).toBe(0);
      const lines = out.stdout.trim().split('\n');
      expect(lines).toHaveLength(3);
      for (const line of lines)
        expect(line).toMatch(/^\{__name__="demo_requests_total", code="(200|500)", instance=/);
    });

    it('lists the values of a label, narrowed by --match', async () => {
      const all = await promtool(['query', 'labels', proxyUrl, 'job']);
      expect(all.code).toBe(0);
      expect(all.stdout.trim().split('\n')).toEqual(['demo']);
      const codes = await promtool(['query', 'labels', '--match=demo_requests_total', proxyUrl, 'code']);
      expect(codes.code).toBe(0);
      expect(codes.stdout.trim().split('\n')).toEqual(['200', '500']);
    });

    it('fails with the server status when it has no token', async () => {
      const out = await promtool(['query', 'instant', swas.url, 'up']);
      expect(out.code).not.toBe(0);
      expect(out.stderr).toMatch(/401|Unauthorized/);
    });

    it('reports a PromQL syntax error from swas', async () => {
      const out = await promtool(['query', 'instant', proxyUrl, 'sum(']);
      expect(out.code).not.toBe(0);
      expect(out.stderr).toMatch(/bad_data/);
    });
  });

  describe("Grafana's Prometheus data source", () => {
    // pkg/promlib/healthcheck.go: instant query "1+1", time range 1s..4s, so time=4 (client.go formatTime).
    it('passes the data source health check', async () => {
      const r = await grafana('POST', '/api/v1/query', { query: '1+1', time: '4' });
      expect(r).toEqual({
        status: 200,
        body: { status: 'success', data: { resultType: 'scalar', result: [4, '2'] } },
      });
      const get = await grafana('GET', '/api/v1/query', { query: '1+1', time: '4' });
      expect(get).toEqual(r);
    });

    // pkg/promlib/heuristics.go: buildinfo without `features` means "Prometheus", not Mimir.
    it('reads build info for the flavour heuristics', async () => {
      const r = await grafana('GET', '/api/v1/status/buildinfo', {});
      expect(r.status).toBe(200);
      const body = r.body as { status: string; data: Record<string, unknown> };
      expect(body.status).toBe('success');
      expect(typeof body.data.version).toBe('string');
      expect(body.data.features).toBeUndefined();
    });

    // client.go QueryRange: query, start, end (float seconds), step (seconds), form-encoded, POST by default.
    it('runs a panel query_range as a POST form and as GET', async () => {
      // Go's FormatFloat(…, 'f', -1, 64) of a time with milliseconds.
      const startSec = nowSec - 29.5;
      const params = {
        end: String(nowSec + 0.5),
        query: 'sum by (code) (demo_requests_total)',
        start: String(startSec),
        step: '2',
      };
      for (const method of ['POST', 'GET'] as const) {
        const r = await grafana(method, '/api/v1/query_range', params);
        expect(r.status).toBe(200);
        const body = r.body as {
          status: string;
          data: { resultType: string; result: { metric: object; values: [number, string][] }[] };
        };
        expect(body.status).toBe('success');
        expect(body.data.resultType).toBe('matrix');
        expect(body.data.result.map((s) => s.metric)).toEqual([{ code: '200' }, { code: '500' }]);
        const points = body.data.result[0]?.values ?? [];
        for (const [t] of points) {
          expect(typeof t).toBe('number');
          // Steps are start + k * step, so float seconds survive the round trip.
          expect((t - startSec) % 2).toBeCloseTo(0);
        }
        // The last step is after both exporters were scraped: 10 + 5 requests with code 200.
        expect(points.at(-1)?.[1]).toBe('15');
      }
    });

    // resource_clients.ts LabelsApiClient.queryLabelKeys: /api/v1/labels with limit, start, end; POST via the
    // backend's QueryResource unless the data source is set to GET.
    it('lists label names with start and end', async () => {
      const params = { limit: '40000', start: String(nowSec - 3600), end: String(nowSec + 60) };
      for (const method of ['POST', 'GET'] as const) {
        const r = await grafana(method, '/api/v1/labels', params);
        expect(r.status).toBe(200);
        expect(r.body).toEqual({ status: 'success', data: ['__name__', 'code', 'instance', 'job'] });
      }
    });

    // queryLabelValues: GET /api/v1/label/<name>/values with limit, start, end and optional match[].
    it('lists metric names and label values with match[]', async () => {
      const range = { start: String(nowSec - 3600), end: String(nowSec + 60) };
      const names = await grafana('GET', '/api/v1/label/__name__/values', { limit: '40000', ...range });
      expect((names.body as { data: string[] }).data).toEqual(
        expect.arrayContaining(['demo_requests_total', 'demo_temperature_celsius', 'demo_untyped', 'up']),
      );
      const codes = await grafana('GET', '/api/v1/label/code/values', {
        limit: '40000',
        ...range,
        'match[]': 'demo_requests_total{code!="500"}',
      });
      expect(codes).toEqual({ status: 200, body: { status: 'success', data: ['200'] } });
      const post = await grafana('POST', '/api/v1/label/code/values', {
        ...range,
        'match[]': 'demo_requests_total',
      });
      expect(post).toEqual({ status: 200, body: { status: 'success', data: ['200', '500'] } });
    });

    // BaseResourceClient.querySeries: start, end, match[] (MATCH_ALL_LABELS when empty) and limit.
    it('lists series with the match-all selector and a limit', async () => {
      const params = {
        start: String(nowSec - 3600),
        end: String(nowSec + 60),
        'match[]': '{__name__!=""}',
        limit: '40000',
      };
      const r = await grafana('POST', '/api/v1/series', params);
      expect(r.status).toBe(200);
      const data = (r.body as { data: Record<string, string>[] }).data;
      expect(data.filter((s) => s.__name__ === 'demo_requests_total')).toHaveLength(3);
      expect(data.every((s) => s.job === 'demo' && typeof s.instance === 'string')).toBe(true);
      const limited = await grafana('POST', '/api/v1/series', { ...params, limit: '2' });
      expect((limited.body as { data: unknown[]; warnings: string[] }).data).toHaveLength(2);
      expect((limited.body as { warnings: string[] }).warnings).toEqual(['results truncated due to limit']);
    });

    // language_provider.ts loadMetricsMetadata: GET /api/v1/metadata with no parameters.
    it('loads metric metadata', async () => {
      const r = await grafana('GET', '/api/v1/metadata', {});
      expect(r.status).toBe(200);
      const body = r.body as {
        status: string;
        data: Record<string, { type: string; help: string; unit: string }[]>;
      };
      expect(body.status).toBe('success');
      expect(body.data.demo_requests_total).toEqual([
        { type: 'counter', help: 'Requests served.', unit: '' },
      ]);
      expect(body.data.demo_requests).toEqual([{ type: 'counter', help: 'Requests handled.', unit: '' }]);
      expect(body.data.demo_untyped).toEqual([
        { type: 'unknown', help: 'A metric without a TYPE line.', unit: '' },
      ]);
      expect(body.data.demo_temperature_celsius).toEqual(
        expect.arrayContaining([
          { type: 'gauge', help: 'Room temperature.', unit: '' },
          { type: 'gauge', help: 'Room temperature.', unit: 'celsius' },
        ]),
      );
      expect(body.data.up).toBeUndefined();
    });
  });

  describe('/api/v1/metadata parameters', () => {
    const metadata = async (query: string) => {
      const r = await swas.get(`/api/v1/metadata${query}`, viewer);
      return r as { status: number; body: { status: string; data: Record<string, unknown[]> } };
    };

    it('limits metrics and entries per metric, and selects one metric', async () => {
      expect(Object.keys((await metadata('?limit=2')).body.data)).toEqual([
        'demo_requests',
        'demo_requests_total',
      ]);
      expect((await metadata('?limit=0')).body.data).toEqual({});
      const perMetric = (await metadata('?limit_per_metric=1')).body.data;
      expect(Object.values(perMetric).every((entries) => entries.length === 1)).toBe(true);
      expect(Object.keys(perMetric)).toHaveLength(4);
      const one = (await metadata('?metric=demo_temperature_celsius')).body.data;
      expect(Object.keys(one)).toEqual(['demo_temperature_celsius']);
      expect(one.demo_temperature_celsius).toHaveLength(2);
      expect((await metadata('?metric=no_such_metric')).body).toEqual({ status: 'success', data: {} });
    });

    it('rejects a limit that is not a number', async () => {
      const r = await metadata('?limit=ten');
      expect(r.status).toBe(400);
      expect(r.body).toMatchObject({ status: 'error', errorType: 'bad_data' });
      expect((r.body as unknown as { error: string }).error).toContain('limit must be a number');
      expect((await metadata('?limit_per_metric=x')).status).toBe(400);
    });
  });

  describe('error shapes', () => {
    it('answers bad PromQL with 400 bad_data, on GET and POST', async () => {
      for (const method of ['GET', 'POST'] as const) {
        const r = await grafana(method, '/api/v1/query', { query: 'sum(rate(up[5m])', time: String(nowSec) });
        expect(r.status).toBe(400);
        expect(r.body).toMatchObject({ status: 'error', errorType: 'bad_data' });
        expect(typeof (r.body as { error: unknown }).error).toBe('string');
      }
      const range = await grafana('POST', '/api/v1/query_range', {
        query: 'up',
        start: '10',
        end: '5',
        step: '1',
      });
      expect(range.status).toBe(400);
      expect(range.body).toMatchObject({ status: 'error', errorType: 'bad_data' });
    });

    it('answers a request without a token with 401', async () => {
      for (const path of [
        '/api/v1/query?query=up',
        '/api/v1/metadata',
        '/api/v1/labels',
        '/api/v1/status/buildinfo',
      ]) {
        const r = await swas.get(path, null);
        expect(r.status).toBe(401);
      }
      expect((await swas.post('/api/v1/query_range', null)).status).toBe(401);
    });
  });
});
