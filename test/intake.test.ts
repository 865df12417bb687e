import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stopProcess } from '../examples/demo/processes.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from './support/ports.js';
import { eventually, startTestServer, type TestServer } from './support/swasServer.js';
import { makeTempDir } from './support/tmp.js';

const INTAKE = '/api/v1/intake/alertmanager';
const ALERTMANAGER = '/usr/bin/prometheus-alertmanager';

interface Incident {
  id: number;
  status: string;
  title: string;
  labels: Record<string, string>;
}
interface TimelineEntry {
  kind: string;
  message: string;
}

// The shape Alertmanager's webhook_config sends (payload version 4), as documented and as 0.25+ emits it.
function webhookBody(status: 'firing' | 'resolved'): Record<string, unknown> {
  const labels = { alertname: 'HighLatency', instance: 'web-1:9100', job: 'node', severity: 'page' };
  const annotations = { summary: 'web-1 answers slowly', description: 'p99 above 2 s for 5 minutes' };
  return {
    receiver: 'swas',
    status,
    alerts: [
      {
        status,
        labels,
        annotations,
        startsAt: '2026-11-22T09:52:26.739266876+02:00',
        endsAt: status === 'firing' ? '0001-01-01T00:00:00Z' : '2026-11-22T09:58:01.5Z',
        generatorURL: 'http://prometheus.example:9090/graph?g0.expr=latency_p99+%3E+2&g0.tab=1',
        fingerprint: '1a30ba71cca2921f',
      },
    ],
    groupLabels: { alertname: 'HighLatency' },
    commonLabels: labels,
    commonAnnotations: annotations,
    externalURL: 'http://alertmanager.example:9093',
    version: '4',
    groupKey: '{}:{alertname="HighLatency"}',
    truncatedAlerts: 0,
  };
}

async function post(
  url: string,
  token: string | null,
  body: unknown,
  contentType = 'application/json',
): Promise<{
  status: number;
  body: { status?: string; data?: unknown; error?: { code: string; message: string } };
}> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': contentType, ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as never };
}

describe('Alertmanager webhook intake', { timeout: 60_000 }, () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let swas: TestServer;
  let operator: string;
  let viewer: string;

  const incidents = async (): Promise<Incident[]> =>
    ((await swas.get('/api/v1/incidents?limit=500', viewer)).body as { incidents: Incident[] }).incidents;
  const timeline = async (id: number): Promise<TimelineEntry[]> =>
    ((await swas.get(`/api/v1/incidents/${id}`, viewer)).body as { timeline: TimelineEntry[] }).timeline;
  const byAlert = async (alertname: string) =>
    (await incidents()).filter((i) => i.labels.alertname === alertname);

  beforeAll(async () => {
    tmp = await makeTempDir('intake');
    // No rules and no runbooks: every incident here comes through the intake.
    swas = await startTestServer(tmp.dir, `incidents:\n  group_by: [alertname, instance]\n`);
    operator = await swas.token('operator');
    viewer = await swas.token('viewer');
  });

  afterAll(async () => {
    await swas?.stop();
    await tmp?.remove();
  });

  it('opens an incident for a firing alert, once however often it is delivered, and resolves it', async () => {
    const first = await post(`${swas.url}${INTAKE}`, operator, webhookBody('firing'));
    expect(first).toEqual({
      status: 200,
      body: { status: 'success', data: { received: 1, firing: 1, resolved: 0, forwarded: 1 } },
    });
    const [incident, ...others] = await byAlert('HighLatency');
    expect(others).toEqual([]);
    expect(incident).toMatchObject({
      status: 'open',
      title: 'web-1 answers slowly',
      labels: { alertname: 'HighLatency', instance: 'web-1:9100' },
    });
    const firing = (await timeline(incident!.id)).filter((t) => t.kind === 'alert.firing');
    expect(firing.map((t) => t.message)).toEqual(['alert HighLatency firing (instance=web-1:9100)']);

    // Alertmanager repeats the group every repeat_interval: nothing new happens.
    const repeat = await post(
      `${swas.url}${INTAKE}`,
      operator,
      webhookBody('firing'),
      'application/json; charset=utf-8',
    );
    expect(repeat.body.data).toEqual({ received: 1, firing: 1, resolved: 0, forwarded: 0 });
    expect(await byAlert('HighLatency')).toHaveLength(1);
    expect((await timeline(incident!.id)).filter((t) => t.kind === 'alert.firing')).toHaveLength(1);

    const resolved = await post(`${swas.url}${INTAKE}`, operator, webhookBody('resolved'));
    expect(resolved.body.data).toEqual({ received: 1, firing: 0, resolved: 1, forwarded: 1 });
    await eventually('the incident to resolve', async () =>
      (await byAlert('HighLatency')).every((i) => i.status === 'resolved'),
    );
    const kinds = (await timeline(incident!.id)).map((t) => t.kind);
    expect(kinds).toEqual(expect.arrayContaining(['alert.resolved', 'incident.resolved']));
  });

  it('keeps an incident fed by Alertmanager open across a restart, until Alertmanager says it resolved', async () => {
    // A new episode of the alert (the first test resolved the earlier one).
    const episode = (status: 'firing' | 'resolved') => {
      const body = webhookBody(status) as { alerts: { startsAt: string }[] };
      for (const alert of body.alerts) alert.startsAt = '2026-11-22T11:00:00Z';
      return body;
    };
    const before = await post(`${swas.url}${INTAKE}`, operator, episode('firing'));
    expect(before.body.data).toMatchObject({ forwarded: 1 });
    const [incident] = (await byAlert('HighLatency')).filter((i) => i.status === 'open');
    expect(incident).toBeDefined();

    // Restart on the same data: the rule manager knows nothing of this alert, yet the incident stays open.
    await swas.stop();
    swas = await startTestServer(tmp.dir, `incidents:\n  group_by: [alertname, instance]\n`);
    operator = await swas.token('operator');
    viewer = await swas.token('viewer');
    expect((await byAlert('HighLatency')).find((i) => i.id === incident!.id)?.status).toBe('open');

    // Alertmanager repeats the firing alert: it is the same incident, with nothing new on it.
    const repeat = await post(`${swas.url}${INTAKE}`, operator, episode('firing'));
    expect(repeat.status).toBe(200);
    expect((await byAlert('HighLatency')).filter((i) => i.status === 'open')).toHaveLength(1);
    expect((await timeline(incident!.id)).filter((t) => t.kind === 'alert.firing')).toHaveLength(1);

    await post(`${swas.url}${INTAKE}`, operator, episode('resolved'));
    await eventually('the incident to resolve', async () =>
      (await byAlert('HighLatency')).every((i) => i.status === 'resolved'),
    );
  });

  it('answers 400 with the reason for a body it cannot read', async () => {
    const incidentsBefore = (await byAlert('HighLatency')).length;
    const bad = async (body: unknown, contentType?: string) => {
      const answer = await post(`${swas.url}${INTAKE}`, operator, body, contentType);
      expect(answer.status).toBe(400);
      return answer.body.error?.message ?? '';
    };
    expect(await bad('{"version": "4", "alerts": [')).toMatch(/not valid JSON \(.+\)/);
    expect(await bad('')).toContain('not valid JSON');
    const wrongTypes = webhookBody('firing');
    (wrongTypes.alerts as Record<string, unknown>[])[0]!.startsAt = 1732269146;
    expect(await bad(wrongTypes)).toMatch(/alerts\.0\.startsAt: must be an RFC 3339 timestamp/);
    const { alerts: _dropped, ...noAlerts } = webhookBody('firing');
    expect(await bad(noAlerts)).toMatch(/alerts: .*expected array/);
    expect(await bad({ ...webhookBody('firing'), version: '3' })).toMatch(/version: .*"4", got "3"/);
    expect(await bad('[]')).toContain('expected a JSON object');
    expect(await byAlert('HighLatency')).toHaveLength(incidentsBefore);
  });

  it('needs an operator token', async () => {
    expect((await post(`${swas.url}${INTAKE}`, viewer, webhookBody('firing'))).status).toBe(403);
    expect((await post(`${swas.url}${INTAKE}`, null, webhookBody('firing'))).status).toBe(401);
  });

  // The real thing: Debian's Alertmanager delivers to swas through a webhook receiver with a bearer token.
  describe('from a running Alertmanager', () => {
    let alertmanager: ChildProcess | null = null;
    let amUrl = '';
    let log = '';

    beforeAll(async () => {
      if (!existsSync(ALERTMANAGER))
        throw new Error(
          `${ALERTMANAGER} is missing. Install it with: apt-get install -y prometheus-alertmanager`,
        );
      const port = await freePort();
      amUrl = `http://127.0.0.1:${port}`;
      const config = join(tmp.dir, 'alertmanager.yml');
      await writeFile(
        config,
        `route:
  receiver: swas
  group_by: [alertname, instance]
  group_wait: 100ms
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: swas
    webhook_configs:
      - url: ${swas.url}${INTAKE}
        send_resolved: true
        http_config:
          authorization:
            credentials: ${operator}
`,
      );
      log = join(tmp.dir, 'alertmanager.log');
      const out = openSync(log, 'a');
      alertmanager = spawn(
        ALERTMANAGER,
        [
          `--config.file=${config}`,
          `--storage.path=${join(tmp.dir, 'am-data')}`,
          `--web.listen-address=127.0.0.1:${port}`,
          '--cluster.listen-address=',
        ],
        { stdio: ['ignore', out, out] },
      );
      closeSync(out);
      await eventually(
        'Alertmanager to be ready',
        async () => (await fetch(`${amUrl}/-/ready`)).ok,
        20_000,
      ).catch(async (error: unknown) => {
        throw new Error(`${String(error)}\n${await readFile(log, 'utf8')}`);
      });
    });

    afterAll(async () => {
      if (alertmanager !== null) await stopProcess(alertmanager, 5000);
    });

    const startsAt = new Date(Date.now() - 60_000).toISOString();
    const push = async (endsAt?: string) => {
      const response = await fetch(`${amUrl}/api/v2/alerts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify([
          {
            labels: { alertname: 'DiskFull', instance: 'db-1:9100', severity: 'critical' },
            annotations: { summary: 'db-1 disk is full' },
            startsAt,
            ...(endsAt ? { endsAt } : {}),
            generatorURL: 'http://prometheus.example:9090/graph',
          },
        ]),
      });
      expect(response.status).toBe(200);
    };

    it('opens an incident for an alert pushed to Alertmanager, and resolves it', async () => {
      await push();
      const [incident] = await eventually(
        'swas to open an incident from Alertmanager',
        async () => {
          const found = await byAlert('DiskFull');
          return found.length > 0 ? found : null;
        },
        20_000,
      );
      expect(incident).toMatchObject({ status: 'open', title: 'db-1 disk is full' });
      await push(new Date().toISOString());
      await eventually(
        'the Alertmanager incident to resolve',
        async () => (await byAlert('DiskFull')).every((i) => i.status === 'resolved'),
        20_000,
      );
      expect(await byAlert('DiskFull')).toHaveLength(1);
    });
  });
});
