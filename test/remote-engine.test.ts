import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedPromqlQuery, RemotePromqlQuery, type QueryOutcome } from '../src/promql/index.js';
import { freePort } from './support/ports.js';
import { eventually, startTestServer, type TestServer } from './support/swasServer.js';
import { makeTempDir } from './support/tmp.js';
import { startVm, stopVm, type Vm } from './support/victoriaMetrics.js';

// Issue 3, "past one machine": swas scrapes, writes remote to VictoriaMetrics, and answers the same queries
// through the remote engine as through its own. Rules use the configured engine through the same port.
describe('metrics.query: remote, with VictoriaMetrics', { timeout: 120_000 }, () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let vm: Vm;
  let target: Server;
  let swas: TestServer;
  let token: string;
  let scrapes = 0;

  beforeAll(async () => {
    tmp = await makeTempDir('remote-engine');
    vm = await startVm(tmp.dir);
    target = createServer((_request, response) => {
      scrapes += 1;
      response.setHeader('content-type', 'text/plain; version=0.0.4');
      // Integer values: VictoriaMetrics stores floats as ~12-digit decimals.
      response.end(
        [
          '# TYPE app_requests_total counter',
          `app_requests_total{code="200"} ${scrapes * 10}`,
          `app_requests_total{code="500"} ${scrapes}`,
          '# TYPE app_queue_depth gauge',
          'app_queue_depth 42',
          '',
        ].join('\n'),
      );
    });
    const targetPort = await freePort();
    await new Promise<void>((resolve) => target.listen(targetPort, '127.0.0.1', () => resolve()));
    swas = await startTestServer(
      tmp.dir,
      `metrics:
  query: remote
  remote_query:
    url: ${vm.url}
  remote_write:
    - url: ${vm.url}/api/v1/write
scrape_configs:
  - job_name: app
    scrape_interval: 1s
    scrape_timeout: 500ms
    static_configs:
      - targets: ['127.0.0.1:${targetPort}']
rules:
  evaluation_interval: 1s
  files: [rules.yml]
`,
      {
        'rules.yml':
          'groups:\n  - name: app\n    rules:\n      - alert: QueueDeep\n        expr: app_queue_depth > 40\n',
      },
    );
    token = await swas.token('viewer');
  });

  afterAll(async () => {
    await swas?.stop();
    target?.close();
    if (vm) await stopVm(vm.child);
    await tmp?.remove();
  });

  const valuesOf = (outcome: QueryOutcome) => {
    if (!outcome.ok || outcome.value.resultType !== 'vector') throw new Error(JSON.stringify(outcome));
    return outcome.value.result
      .map((s) => ({ labels: s.labels, value: s.value }))
      .sort((a, b) => JSON.stringify(a.labels).localeCompare(JSON.stringify(b.labels)));
  };

  it('answers through VictoriaMetrics with the same results as the embedded engine', async () => {
    expect(swas.server.parts.query).toBeInstanceOf(RemotePromqlQuery);
    const embedded = EmbeddedPromqlQuery.create({ reader: swas.server.parts.series });
    const queries = [
      'app_queue_depth',
      'sum by (job) (app_queue_depth)',
      'app_requests_total{code=~"5.."}',
      'count(app_requests_total) by (job)',
      'app_queue_depth > bool 40',
    ];
    // Compare at a time both stores have: a few seconds back, once VictoriaMetrics has data past it.
    const at = await eventually(
      'samples in VictoriaMetrics',
      async () => {
        const t = Date.now() - 4000;
        const remote = valuesOf(await swas.server.parts.query.instant('app_requests_total', t));
        return remote.length === 2 ? t : null;
      },
      30_000,
    );
    // The samples reached VictoriaMetrics through remote write (asked directly, not through swas).
    const direct = (await (
      await fetch(`${vm.url}/api/v1/query?query=app_queue_depth&time=${at / 1000}`)
    ).json()) as { data: { result: unknown[] } };
    expect(direct.data.result).toHaveLength(1);
    for (const expr of queries) {
      const [remote, local] = [
        valuesOf(await swas.server.parts.query.instant(expr, at)),
        valuesOf(await embedded.instant(expr, at)),
      ];
      expect(remote, expr).toEqual(local);
      expect(remote.length, expr).toBeGreaterThan(0);
    }
  });

  it('serves the API and evaluates rules through the remote engine', async () => {
    const { status, body } = await swas.get('/api/v1/query?query=app_queue_depth', token);
    expect(status).toBe(200);
    expect(body).toMatchObject({
      status: 'success',
      data: { resultType: 'vector', result: [{ value: [expect.any(Number), '42'] }] },
    });
    await eventually(
      'the QueueDeep alert from remote data',
      async () => {
        const alerts = (await swas.get('/api/v1/alerts', token)).body as {
          data: { alerts: { labels: { alertname: string } }[] };
        };
        return alerts.data.alerts.some((a) => a.labels.alertname === 'QueueDeep');
      },
      30_000,
    );
  });

  it('answers series and label lookups from the remote engine, including series swas never scraped', async () => {
    // A series only VictoriaMetrics holds: another Prometheus wrote it there, not swas.
    const line = JSON.stringify({
      metric: { __name__: 'other_team_metric', job: 'elsewhere' },
      values: [1],
      timestamps: [Date.now() - 2000],
    });
    expect((await fetch(`${vm.url}/api/v1/import`, { method: 'POST', body: line })).status).toBe(204);
    await fetch(`${vm.url}/internal/force_flush`);
    const since = Math.floor(Date.now() / 1000) - 3600;
    await eventually(
      'the imported series through swas /api/v1/series',
      async () => {
        const { status, body } = await swas.get(
          `/api/v1/series?match[]=other_team_metric&start=${since}`,
          token,
        );
        const data = (body as { data?: { job?: string }[] }).data ?? [];
        return status === 200 && data.some((s) => s.job === 'elsewhere');
      },
      20_000,
    );
    const names = await swas.get(`/api/v1/label/__name__/values?start=${since}`, token);
    expect(names.status).toBe(200);
    expect((names.body as { data: string[] }).data).toEqual(
      expect.arrayContaining(['other_team_metric', 'app_queue_depth']),
    );
    const labels = await swas.get(`/api/v1/labels?match[]=other_team_metric&start=${since}`, token);
    expect((labels.body as { data: string[] }).data).toEqual(expect.arrayContaining(['job']));
    // The embedded store never saw it: the answer came from the engine.
    expect(swas.server.parts.series.hasMetric('other_team_metric')).toBe(false);
    // Bad input is the engine's to judge, and its error passes through in Prometheus's shape.
    const bad = await swas.get('/api/v1/series?match[]=%7Bjob%3D', token);
    expect(bad.status).toBeGreaterThanOrEqual(400);
    expect((bad.body as { status: string }).status).toBe('error');
    expect(typeof (bad.body as { errorType?: unknown }).errorType).toBe('string');
  });
});
