import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestServer, type TestServer } from './support/swasServer.js';
import { makeTempDir } from './support/tmp.js';
import { startWebhookReceiver } from './support/webhookReceiver.js';

// Noise control end to end: a real swas fed by its Alertmanager intake (and, for restarts, by its own rules),
// paging a local webhook receiver.

const INTAKE = '/api/v1/intake/alertmanager';
const GROUP_WAIT_MS = 2000;

interface Incident {
  id: number;
  status: string;
  labels: Record<string, string>;
}
interface TimelineEntry {
  kind: string;
  message: string;
  data: Record<string, unknown>;
}

type Receiver = Awaited<ReturnType<typeof startWebhookReceiver>>;

function config(hookUrl: string): string {
  return `incidents:
  group_by: [alertname, pool]
  group_wait: ${GROUP_WAIT_MS}ms
  inhibit_rules:
    # A host that is down suppresses the alerts about services on it.
    - source_matchers: ['alertname="HostDown"']
      target_matchers: ['alertname!="HostDown"']
      equal: [instance]
  maintenance_windows:
    # Always open: starts every minute and lasts an hour.
    - name: batch-nightly
      schedule: "* * * * *"
      duration: 1h
      time_zone: Europe/Berlin
      matchers: ['service="batch"']
notify:
  webhooks:
    - name: pager
      url: ${hookUrl}
      retries: 0
      events: [incident.opened, incident.escalated, incident.resolved]
`;
}

describe('incident noise control', { timeout: 60_000 }, () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let swas: TestServer;
  let hook: Receiver;
  let operator: string;
  let viewer: string;

  const send = async (status: 'firing' | 'resolved', ...alerts: Record<string, string>[]): Promise<void> => {
    const now = new Date().toISOString();
    const response = await fetch(`${swas.url}${INTAKE}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${operator}` },
      body: JSON.stringify({
        version: '4',
        status,
        alerts: alerts.map((labels) => ({
          status,
          labels,
          annotations: {},
          startsAt: now,
          ...(status === 'resolved' ? { endsAt: now } : {}),
        })),
      }),
    });
    expect(response.status).toBe(200);
  };
  const incidents = async (alertname: string): Promise<Incident[]> =>
    (
      (await swas.get('/api/v1/incidents?limit=500', viewer)).body as { incidents: Incident[] }
    ).incidents.filter((i) => i.labels.alertname === alertname);
  const timeline = async (id: number): Promise<TimelineEntry[]> =>
    ((await swas.get(`/api/v1/incidents/${id}`, viewer)).body as { timeline: TimelineEntry[] }).timeline;
  const pagesFor = (id: number) => hook.received.filter((r) => r.incident.id === id);
  const metric = async (name: string): Promise<number> => {
    const text = String((await swas.get('/metrics', viewer)).body);
    const line = text.split('\n').find((l) => l.startsWith(`${name} `));
    return line === undefined ? 0 : Number(line.split(' ')[1]);
  };
  const openIncident = (alertname: string): Promise<Incident> =>
    eventually(`an incident for ${alertname}`, async () => (await incidents(alertname))[0]);
  // Proves something did NOT happen within group_wait: a marker group sent afterwards opens its incident only
  // after group_wait, and every group sent before it has been decided by then.
  const settle = async (marker: string): Promise<void> => {
    await send('firing', { alertname: marker, pool: 'marker' });
    await openIncident(marker);
  };

  beforeAll(async () => {
    tmp = await makeTempDir('incidents-noise');
    hook = await startWebhookReceiver();
    swas = await startTestServer(tmp.dir, config(hook.url));
    operator = await swas.token('operator');
    viewer = await swas.token('viewer');
  });

  afterAll(async () => {
    await swas?.stop();
    await hook?.stop();
    await tmp?.remove();
  });

  it('folds a burst of alerts into one incident after group_wait and pages once', async () => {
    await send('firing', { alertname: 'WebMemberDown', pool: 'web', member: 'web-1' });
    expect(await incidents('WebMemberDown')).toEqual([]);
    await send('firing', { alertname: 'WebMemberDown', pool: 'web', member: 'web-2' });
    await send('firing', { alertname: 'WebMemberDown', pool: 'web', member: 'web-3' });
    const incident = await openIncident('WebMemberDown');
    const firing = (await timeline(incident.id)).filter((t) => t.kind === 'alert.firing');
    expect(firing.map((t) => t.message).sort()).toEqual([
      'alert WebMemberDown firing (pool=web, member=web-1)',
      'alert WebMemberDown firing (pool=web, member=web-2)',
      'alert WebMemberDown firing (pool=web, member=web-3)',
    ]);
    await eventually('the page', () => pagesFor(incident.id).length > 0);
    expect(pagesFor(incident.id).map((p) => p.event)).toEqual(['incident.opened']);
    expect(await incidents('WebMemberDown')).toHaveLength(1);

    await send(
      'resolved',
      ...['web-1', 'web-2', 'web-3'].map((member) => ({ alertname: 'WebMemberDown', pool: 'web', member })),
    );
    await eventually(
      'the incident to resolve',
      async () => (await incidents('WebMemberDown'))[0]?.status === 'resolved',
    );
  });

  it('opens nothing for a group whose alerts all resolve during group_wait, and counts it', async () => {
    const before = await metric('swas_incident_groups_discarded_total');
    await send('firing', { alertname: 'Blip', pool: 'web', member: 'web-1' });
    await send('resolved', { alertname: 'Blip', pool: 'web', member: 'web-1' });
    expect(await metric('swas_incident_groups_discarded_total')).toBe(before + 1);
    await settle('AfterBlip');
    expect(await incidents('Blip')).toEqual([]);
  });

  it('inhibits service alerts on a host that is down, and lets them through once the host is back', async () => {
    await send('firing', { alertname: 'ServiceDown', instance: 'db-1', service: 'postgres', pool: 'db' });
    await send('firing', { alertname: 'HostDown', instance: 'db-1', pool: 'db' });
    const host = await openIncident('HostDown');
    const inhibited = await eventually('the inhibition on the host incident timeline', async () =>
      (await timeline(host.id)).find((t) => t.kind === 'alert.inhibited'),
    );
    expect(inhibited.message).toBe(
      'alert ServiceDown firing (pool=db, instance=db-1, service=postgres), inhibited by HostDown (pool=db, instance=db-1) (incidents.inhibit_rules[0]): no incident opened, nobody paged',
    );
    await settle('AfterHostDown');
    expect(await incidents('ServiceDown')).toEqual([]);
    expect(await metric('swas_alerts_suppressed_total{reason="inhibited"}')).toBeGreaterThanOrEqual(1);

    // The host comes back but the service still fails: now it is a problem of its own.
    await send('resolved', { alertname: 'HostDown', instance: 'db-1', pool: 'db' });
    const service = await openIncident('ServiceDown');
    const firing = (await timeline(service.id)).filter((t) => t.kind === 'alert.firing');
    expect(firing.map((t) => t.message)).toEqual([
      'alert ServiceDown firing (pool=db, instance=db-1, service=postgres) (no longer inhibited by HostDown (pool=db, instance=db-1))',
    ]);
    await eventually('the service page', () =>
      pagesFor(service.id).some((p) => p.event === 'incident.opened'),
    );
    await eventually(
      'the host incident to resolve',
      async () => (await incidents('HostDown'))[0]?.status === 'resolved',
    );
  });

  it('a silence keeps an alert from paging; when the silence is expired the alert pages', async () => {
    const created = await fetch(`${swas.url}/api/v1/silences`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${operator}` },
      body: JSON.stringify({
        matchers: 'alertname="DiskFull"',
        duration: '1h',
        comment: 'disk being replaced',
      }),
    });
    expect(created.status).toBe(201);
    const { silence } = (await created.json()) as { silence: { id: number } };
    await send('firing', { alertname: 'DiskFull', pool: 'batch', instance: 'batch-1' });
    await settle('AfterDiskFull');
    expect(await incidents('DiskFull')).toEqual([]);
    expect(await metric('swas_alerts_suppressed_total{reason="silenced"}')).toBeGreaterThanOrEqual(1);

    const expired = await fetch(`${swas.url}/api/v1/silences/${silence.id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${operator}` },
    });
    expect(expired.status).toBe(200);
    const incident = await openIncident('DiskFull');
    const firing = (await timeline(incident.id)).find((t) => t.kind === 'alert.firing');
    expect(firing?.message).toBe(
      `alert DiskFull firing (pool=batch, instance=batch-1) (no longer silenced by silence #${silence.id})`,
    );
    await eventually('the page', () => pagesFor(incident.id).some((p) => p.event === 'incident.opened'));
  });

  it('an alert still firing when its silence runs out by time opens its incident and pages', async () => {
    const created = await fetch(`${swas.url}/api/v1/silences`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${operator}` },
      body: JSON.stringify({ matchers: 'alertname="CertExpiring"', duration: '2s', comment: 'renewing' }),
    });
    expect(created.status).toBe(201);
    const { silence } = (await created.json()) as { silence: { id: number } };
    await send('firing', { alertname: 'CertExpiring', pool: 'edge' });
    // Nobody expires it: swas notices the end on its own re-check, then waits group_wait.
    const incident = await openIncident('CertExpiring');
    const firing = (await timeline(incident.id)).find((t) => t.kind === 'alert.firing');
    expect(firing?.message).toBe(
      `alert CertExpiring firing (pool=edge) (no longer silenced by silence #${silence.id})`,
    );
    await eventually('the page', () => pagesFor(incident.id).some((p) => p.event === 'incident.opened'));
  });

  it('a silenced alert that resolves still resolves its incident', async () => {
    await send('firing', { alertname: 'Latency', pool: 'api', instance: 'api-1' });
    const incident = await openIncident('Latency');
    await eventually('the page', () => pagesFor(incident.id).some((p) => p.event === 'incident.opened'));

    // Someone silences the alert while it fires: the incident notes it.
    const store = swas.server.parts.store;
    const now = Date.now();
    const silence = await store.silences.create({
      matchers: [{ name: 'alertname', type: '=', value: 'Latency' }],
      startsAt: now,
      endsAt: now + 3_600_000,
      createdBy: 'test',
      comment: 'known, fix deploying',
      createdAt: now,
    });
    await swas.server.parts.incidents.silencesChanged();
    const noted = (await timeline(incident.id)).find((t) => t.kind === 'alert.silenced');
    expect(noted?.message).toMatch(
      new RegExp(
        `^alert Latency \\(pool=api, instance=api-1\\) is now silenced by silence #${silence.id} \\(known, fix deploying\\) until `,
      ),
    );
    expect(noted?.data.silenceId).toBe(silence.id);

    // A second alert of the group joins while silenced: noted, no runbook, no page.
    await send('firing', { alertname: 'Latency', pool: 'api', instance: 'api-2' });
    const joined = await eventually('the silenced join', async () =>
      (await timeline(incident.id)).find((t) => t.kind === 'alert.silenced' && t.message.includes('api-2')),
    );
    expect(joined.message).toMatch(
      /^alert Latency firing \(pool=api, instance=api-2\), silenced by silence #\d+ .*: no runbook started, nobody paged$/,
    );

    await send(
      'resolved',
      { alertname: 'Latency', pool: 'api', instance: 'api-1' },
      { alertname: 'Latency', pool: 'api', instance: 'api-2' },
    );
    await eventually(
      'the incident to resolve',
      async () => (await incidents('Latency'))[0]?.status === 'resolved',
    );
    const kinds = (await timeline(incident.id)).map((t) => t.kind).filter((k) => !k.startsWith('notify.'));
    expect(kinds.slice(-3)).toEqual(['alert.resolved', 'alert.resolved', 'incident.resolved']);
    await eventually('the resolved page', () =>
      pagesFor(incident.id).some((p) => p.event === 'incident.resolved'),
    );
  });

  it('an alert muted in an incident someone resolved by hand starts afresh when it fires again', async () => {
    const labels = { alertname: 'DiskFull', pool: 'store', instance: 's-1' };
    await send('firing', labels);
    const first = await openIncident('DiskFull');
    const store = swas.server.parts.store;
    const now = Date.now();
    const silence = await store.silences.create({
      matchers: [{ name: 'alertname', type: '=', value: 'DiskFull' }],
      startsAt: now,
      endsAt: now + 3_600_000,
      createdBy: 'test',
      comment: 'cleaning up',
      createdAt: now,
    });
    await swas.server.parts.incidents.silencesChanged();
    await eventually('the silence note', async () =>
      (await timeline(first.id)).some((t) => t.kind === 'alert.silenced'),
    );
    expect((await swas.post(`/api/v1/incidents/${first.id}/resolve`, operator)).status).toBe(200);
    await send('resolved', labels);
    await store.silences.expire(silence.id, Date.now());
    await swas.server.parts.incidents.silencesChanged();

    await send('firing', labels);
    const second = await eventually('a new incident', async () =>
      (await incidents('DiskFull')).find((i) => i.id !== first.id && i.status === 'open'),
    );
    await settle('AfterDiskFull');
    await swas.server.parts.incidents.silencesChanged();
    const entries = await timeline(second.id);
    expect(entries.filter((t) => t.kind === 'alert.firing')).toHaveLength(1);
    expect(entries.some((t) => t.message.includes('no longer'))).toBe(false);
    expect(pagesFor(second.id).filter((p) => p.event === 'incident.opened')).toHaveLength(1);
  });

  it('a maintenance window keeps matching alerts out of incidents and pages', async () => {
    const before = await metric('swas_alerts_suppressed_total{reason="maintenance"}');
    await send('firing', { alertname: 'BatchLate', pool: 'batch', service: 'batch' });
    await settle('AfterBatchLate');
    expect(await incidents('BatchLate')).toEqual([]);
    expect(await metric('swas_alerts_suppressed_total{reason="maintenance"}')).toBe(before + 1);
  });

  it('marks the timeline of an open incident when an alert in maintenance joins it', async () => {
    await send('firing', { alertname: 'QueueGrowing', pool: 'jobs', service: 'api' });
    const incident = await openIncident('QueueGrowing');
    await send('firing', { alertname: 'QueueGrowing', pool: 'jobs', service: 'batch' });
    const entry = await eventually('the maintenance note', async () =>
      (await timeline(incident.id)).find((t) => t.kind === 'alert.maintenance'),
    );
    expect(entry.message).toMatch(
      /^alert QueueGrowing firing \(pool=jobs, service=batch\), in maintenance window "batch-nightly" until .*: no runbook started, nobody paged$/,
    );
  });
});

describe('incident noise control configuration', () => {
  it('refuses to start with a schedule it cannot read, naming the field', async () => {
    const tmp = await makeTempDir('incidents-noise-config');
    try {
      await expect(
        startTestServer(
          tmp.dir,
          `incidents:
  maintenance_windows:
    - name: patching
      schedule: "0 25 * * SUN"
      duration: 2h
      matchers: ['service="db"']
`,
        ),
      ).rejects.toThrow(
        /incidents\.maintenance_windows\[0\]\.schedule: hour field "25": 25 is out of range; hour runs from 0 to 23/,
      );
    } finally {
      await tmp.remove();
    }
  });

  it('refuses a reload with a bad time zone or schedule, naming the field', async () => {
    const tmp = await makeTempDir('incidents-noise-reload');
    const swas = await startTestServer(tmp.dir, 'incidents:\n  group_wait: 0s\n');
    try {
      const admin = await swas.token('admin');
      const file = join(tmp.dir, 'swas.yaml');
      const good = await readFile(file, 'utf8');
      const window = (schedule: string, zone: string) =>
        `${good.replace('incidents:\n  group_wait: 0s\n', '')}incidents:
  maintenance_windows:
    - name: patching
      schedule: "${schedule}"
      duration: 2h
      time_zone: ${zone}
      matchers: ['service="db"']
`;
      await writeFile(file, window('0 2 * * SUN', 'Europe/Atlantis'));
      const badZone = await swas.post('/-/reload', admin);
      expect(badZone.status).toBe(400);
      expect(JSON.stringify(badZone.body)).toMatch(
        /incidents\.maintenance_windows\[0\]\.time_zone: \\"Europe\/Atlantis\\" is not a time zone this system knows/,
      );
      await writeFile(file, window('0 2 * * SUNDAY', 'Europe/Berlin'));
      const badSchedule = await swas.post('/-/reload', admin);
      expect(badSchedule.status).toBe(400);
      expect(JSON.stringify(badSchedule.body)).toMatch(
        /incidents\.maintenance_windows\[0\]\.schedule: day-of-week field \\"SUNDAY\\": \\"SUNDAY\\" is not a number or a name/,
      );
      await writeFile(file, window('0 2 * * SUN', 'Europe/Berlin'));
      expect((await swas.post('/-/reload', admin)).status).toBe(200);
    } finally {
      await swas.stop();
      await tmp.remove();
    }
  });
});

describe('group_wait across a restart', { timeout: 60_000 }, () => {
  it('opens the incident for an alert that fired before the restart and still fires', async () => {
    const tmp = await makeTempDir('incidents-noise-restart');
    const rules = `groups:
  - name: always
    interval: 1s
    rules:
      - alert: AlwaysFiring
        expr: vector(1)
        labels:
          pool: web
`;
    const body = (wait: string) =>
      `rules:\n  files: [rules.yml]\nincidents:\n  group_by: [alertname, pool]\n  group_wait: ${wait}\n`;
    let swas: TestServer | null = null;
    try {
      // A long group_wait: the alert fires, but swas stops before the group's incident opens.
      swas = await startTestServer(tmp.dir, body('10m'), { 'rules.yml': rules });
      const viewer = await swas.token('viewer');
      await eventually('the alert to fire', async () => {
        const alerts = (await swas!.get('/api/v1/alerts', viewer)).body as {
          data: { alerts: { state: string }[] };
        };
        return alerts.data.alerts.some((a) => a.state === 'firing');
      });
      expect(
        ((await swas.get('/api/v1/incidents', viewer)).body as { incidents: unknown[] }).incidents,
      ).toEqual([]);
      await swas.stop();

      // After the restart the alert is still firing and its group_wait (1s) is long over: it opens at once.
      swas = await startTestServer(tmp.dir, body('1s'), { 'rules.yml': rules });
      const token = await swas.token('viewer');
      const incident = await eventually('the incident after the restart', async () => {
        const list = (await swas!.get('/api/v1/incidents', token)).body as { incidents: Incident[] };
        return list.incidents.find((i) => i.labels.alertname === 'AlwaysFiring');
      });
      expect(incident.status).toBe('open');
    } finally {
      await swas?.stop();
      await tmp.remove();
    }
  });
});
