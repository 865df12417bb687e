import { createServer, type Server } from 'node:http';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from './support/ports.js';
import { eventually, startTestServer, type TestServer } from './support/swasServer.js';
import { makeTempDir } from './support/tmp.js';

interface QueryBody {
  data: { result: { metric: Record<string, string>; value: [number, string] }[] };
}
interface ProbesBody {
  probes: { name: string; kind: string; last: { success: boolean; error: string | null } | null }[];
}

// Issue 6: the server runs black-box probes; results are probe_* series rules and runbooks use.
describe('probes run by the server', { timeout: 60_000 }, () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let web: Server;
  let webPort: number;
  let closedPort: number;
  let swas: TestServer;
  let admin: string;

  const config = (probes: string) => `rules:
  evaluation_interval: 1s
  files: [rules.yml]
probes:
${probes}`;
  const homepage = (port: number) => `  - name: homepage
    kind: http
    interval: 1s
    url: http://127.0.0.1:${port}/
    labels: { service: web }
    expect:
      body_contains: welcome
`;
  const database = (port: number) => `  - name: database
    kind: tcp
    interval: 1s
    timeout: 500ms
    target: 127.0.0.1:${port}
`;

  beforeAll(async () => {
    tmp = await makeTempDir('probes-server');
    webPort = await freePort();
    closedPort = await freePort();
    web = createServer((_request, response) => response.end('welcome home'));
    await new Promise<void>((resolve) => web.listen(webPort, '127.0.0.1', resolve));
    swas = await startTestServer(tmp.dir, config(homepage(webPort) + database(closedPort)), {
      'rules.yml': `groups:
  - name: probes
    rules:
      - alert: ProbeFailing
        expr: probe_success == 0
`,
    });
    admin = await swas.token('admin');
  }, 30_000);

  afterAll(async () => {
    await swas?.stop();
    await new Promise<void>((resolve) => web.close(() => resolve()));
    await tmp?.remove();
  });

  const query = async (expr: string) =>
    ((await swas.get(`/api/v1/query?query=${encodeURIComponent(expr)}`, admin)).body as QueryBody).data
      .result;

  it('writes probe_success and probe_duration_seconds labelled probe, kind, vantage and the probe’s labels', async () => {
    const results = await eventually('both probes to report', async () => {
      const r = await query('probe_success');
      return r.length === 2 ? r : null;
    });
    const byProbe = new Map(results.map((r) => [r.metric.probe, r]));
    expect(byProbe.get('homepage')?.metric).toEqual({
      __name__: 'probe_success',
      probe: 'homepage',
      kind: 'http',
      vantage: 'server',
      service: 'web',
    });
    expect(byProbe.get('homepage')?.value[1]).toBe('1');
    expect(byProbe.get('database')?.value[1]).toBe('0');
    expect(await query('probe_http_status_code{probe="homepage"}')).toMatchObject([
      { value: [expect.any(Number), '200'] },
    ]);
    expect((await query('probe_duration_seconds')).length).toBe(2);
  });

  it('shows the last result with the error, and a rule on probe_success fires', async () => {
    const body = (await swas.get('/api/v1/probes', admin)).body as ProbesBody;
    const database = body.probes.find((p) => p.name === 'database');
    expect(database?.last?.success).toBe(false);
    expect(database?.last?.error).toMatch(/connect 127\.0\.0\.1:\d+: connection refused/);
    await eventually('ProbeFailing for database', async () => {
      const alerts = (await swas.get('/api/v1/alerts', admin)).body as {
        data: { alerts: { labels: Record<string, string>; state: string }[] };
      };
      return alerts.data.alerts.some((a) => a.labels.probe === 'database' && a.state === 'firing');
    });
  });

  it('applies a changed probe list on reload: a removed probe goes stale, a fixed one recovers', async () => {
    const listener = createServer((_request, response) => response.end('ok'));
    await new Promise<void>((resolve) => listener.listen(closedPort, '127.0.0.1', resolve));
    try {
      await eventually('database to recover', async () =>
        (await query('probe_success{probe="database"}')).some((r) => r.value[1] === '1'),
      );
      await writeFile(join(tmp.dir, 'swas.yaml'), config(database(closedPort)));
      expect((await swas.post('/-/reload', admin)).status).toBe(200);
      await eventually(
        'homepage series to go stale',
        async () => (await query('probe_success{probe="homepage"}')).length === 0,
      );
      expect(
        ((await swas.get('/api/v1/probes', admin)).body as ProbesBody).probes.map((p) => p.name),
      ).toEqual(['database']);
    } finally {
      await new Promise<void>((resolve) => listener.close(() => resolve()));
    }
  });

  it('refuses a reload with a broken probe, keeping the probes that run', async () => {
    await writeFile(
      join(tmp.dir, 'swas.yaml'),
      config(`  - name: database
    kind: tcp
    target: 127.0.0.1:${closedPort}
    labels: { vantage: office }
  - name: database
    kind: ping
`),
    );
    const response = await swas.post('/-/reload', admin);
    expect(response.status).not.toBe(200);
    expect(JSON.stringify(response.body)).toMatch(
      /probes\[0\]\.labels: probe, kind and vantage are set by swas/,
    );
    expect(JSON.stringify(response.body)).toMatch(
      /probes\[1\]\.kind: a probe has `kind:` http, http_scenario, tcp, dns or tls/,
    );
    expect(((await swas.get('/api/v1/probes', admin)).body as ProbesBody).probes.map((p) => p.name)).toEqual([
      'database',
    ]);
  });
});
