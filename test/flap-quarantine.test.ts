import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HaproxyLoadBalancer } from '../src/lb/index.js';
import { startHttpBackend, type HttpBackend } from './support/backends.js';
import type { HaproxyProcess } from './support/haproxy.js';
import { eventually, startTestServer, type TestServer } from './support/swasServer.js';
import { makeTempDir } from './support/tmp.js';
import { startWebhookReceiver } from './support/webhookReceiver.js';
import { edgeLbYaml, startWebPool } from './support/webPool.js';

// Issue 5 "Proof": a flapping member is quarantined after its budget, and a page is sent once, not per attempt.
describe('a flapping member, end to end', { timeout: 90_000 }, () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let haproxy: HaproxyProcess;
  let backends: HttpBackend[];
  let lb: HaproxyLoadBalancer;
  let swas: TestServer;
  let hook: Awaited<ReturnType<typeof startWebhookReceiver>>;
  let operator: string;

  beforeAll(async () => {
    tmp = await makeTempDir('flap');
    backends = await Promise.all(['m1', 'm2', 'm3'].map((name) => startHttpBackend(name)));
    ({ haproxy, lb } = await startWebPool(tmp.dir, [
      { name: 'web', servers: backends, serverDefaults: 'check inter 100ms rise 1 fall 2' },
    ]));
    hook = await startWebhookReceiver();
    swas = await startTestServer(
      tmp.dir,
      `${edgeLbYaml(haproxy.socketPath, ['web'])}runbooks:
  files: [bounce.yaml]
incidents:
  group_by: [alertname, member]
notify:
  webhooks:
    - name: pager
      url: ${hook.url}
      retries: 0
      events: [incident.escalated]
`,
      {
        'bounce.yaml': `name: bounce
trigger:
  alert: Flaky
target:
  pool: '{{ $labels.pool }}'
  member: '{{ $labels.member }}'
guards:
  flap_budget: { runs: 2, window: 1h }
steps:
  - action: lb.drain
    timeout: 5s
  - action: lb.ready
    timeout: 10s
    with: { ramp: none }
`,
      },
    );
    operator = await swas.token('operator');
  }, 30_000);

  afterAll(async () => {
    await swas?.stop();
    await hook?.stop();
    await haproxy?.stop();
    for (const b of backends ?? []) await b.stop();
    await tmp?.remove();
  });

  async function send(status: 'firing' | 'resolved'): Promise<void> {
    const response = await fetch(`${swas.url}/api/v1/intake/alertmanager`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${operator}` },
      body: JSON.stringify({
        version: '4',
        status,
        receiver: 'swas',
        groupKey: '{}:{alertname="Flaky"}',
        alerts: [
          {
            status,
            labels: { alertname: 'Flaky', pool: 'web', member: 'm1' },
            annotations: {},
            startsAt: new Date(Date.now() - 1000).toISOString(),
            ...(status === 'resolved' ? { endsAt: new Date().toISOString() } : {}),
          },
        ],
      }),
    });
    expect(response.status).toBe(200);
  }

  const runs = async () => {
    const body = (await swas.get('/api/v1/runs', operator)).body as {
      runs: { id: string; status: string }[];
    };
    return body.runs;
  };
  const openIncidents = async () => {
    const body = (await swas.get('/api/v1/incidents?status=open', operator)).body as {
      incidents: { id: number }[];
    };
    return body.incidents;
  };

  async function flap(expectRun: boolean): Promise<void> {
    const before = (await runs()).length;
    await send('firing');
    if (expectRun)
      await eventually('the run to succeed', async () => {
        const all = await runs();
        return all.length === before + 1 && all[0]?.status === 'succeeded';
      });
    else await eventually('the incident to open', async () => (await openIncidents()).length > 0);
    await send('resolved');
    await eventually('the incident to resolve', async () => (await openIncidents()).length === 0);
  }

  it('runs twice, then quarantines m1, takes it out of rotation and pages once; later alerts only note it', async () => {
    await flap(true);
    await flap(true);
    expect(hook.received).toEqual([]);

    await flap(false);
    expect((await runs()).length).toBe(2);
    await eventually('one page', () => Promise.resolve(hook.received.length === 1));
    expect(hook.received[0]).toMatchObject({ event: 'incident.escalated', urgency: 'high' });
    expect(hook.received[0]?.reason).toMatch(/target quarantined: flap budget spent: 2 runs in 60 min/);
    expect(hook.received[0]?.reason).toMatch(/web\/m1 is in maintenance \(out of rotation\)/);
    expect((await lb.getMember('web', 'm1')).admin).toBe('maint');

    const { quarantines } = (await swas.get('/api/v1/quarantines?active=true', operator)).body as {
      quarantines: { id: number; target: Record<string, string>; runIds: string[] }[];
    };
    expect(quarantines).toHaveLength(1);
    expect(quarantines[0]?.target).toEqual({ pool: 'web', member: 'm1' });
    expect(quarantines[0]?.runIds).toHaveLength(2);

    // Flapping on: no run, no second page; the refusal is on the incident's timeline.
    await flap(false);
    await flap(false);
    expect((await runs()).length).toBe(2);
    expect(hook.received).toHaveLength(1);
    const incidents = (await swas.get('/api/v1/incidents', operator)).body as { incidents: { id: number }[] };
    const latest = (await swas.get(`/api/v1/incidents/${incidents.incidents[0]?.id}`, operator)).body as {
      timeline: { kind: string; message: string }[];
    };
    expect(latest.timeline.find((t) => t.kind === 'run.refused')?.message).toMatch(/quarantined since/);
    expect((await lb.getMember('web', 'm1')).admin).toBe('maint');
    expect((await lb.getMember('web', 'm2')).admin).toBe('ready');
  });
});
