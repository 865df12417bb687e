import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from './support/ports.js';
import { eventually, startTestServer, type TestServer } from './support/swasServer.js';
import { makeTempDir } from './support/tmp.js';
import { startWebhookReceiver } from './support/webhookReceiver.js';

// A scrape target that is down (nothing listens), an LB whose socket does not exist, and two webhooks:
// one that answers, one that is down. The alert fires, the runbook's first step fails on the missing
// socket, the run fails and the incident escalates — and the server keeps serving throughout.
describe('swas server: failures along the loop', () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let swas: TestServer;
  let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;
  let admin: string;

  beforeAll(async () => {
    tmp = await makeTempDir('server');
    receiver = await startWebhookReceiver({ failFirst: 1 });
    const deadTarget = await freePort();
    const deadWebhook = await freePort();
    swas = await startTestServer(
      tmp.dir,
      `scrape_configs:
  - job_name: app
    scrape_interval: 1s
    scrape_timeout: 500ms
    static_configs:
      - targets: ['127.0.0.1:${deadTarget}']
        labels: { pool: web, member: app-1 }
rules:
  evaluation_interval: 1s
  files: [rules.yml]
runbooks:
  files: [runbook.yml]
incidents:
  group_by: [alertname, member]
load_balancers:
  - name: edge
    type: haproxy
    socket: ${tmp.dir}/no-such-haproxy.sock
    pools: [web]
services:
  app-1:
    restart: [/bin/true]
notify:
  webhooks:
    - name: up
      url: ${receiver.url}
      retries: 2
      timeout: 1s
    - name: down
      url: http://127.0.0.1:${deadWebhook}/hook
      retries: 2
      timeout: 1s
`,
      {
        'rules.yml': `groups:
  - name: app
    interval: 1s
    rules:
      - alert: AppDown
        expr: up{job="app"} == 0
        for: 1s
      - alert: NeverSeen
        expr: metric_nobody_exposes > 1
`,
        'runbook.yml': `name: restart-app
trigger: { alert: AppDown }
target: { pool: '{{ $labels.pool }}', member: '{{ $labels.member }}' }
steps:
  - action: lb.drain
    timeout: 2s
  - action: service.restart
`,
      },
    );
    admin = await swas.token('admin');
  });

  afterAll(async () => {
    await swas?.stop();
    await receiver?.stop();
    await tmp?.remove();
  });

  it('fails the step with the adapter error, fails the run, escalates through the webhook, and keeps running', async () => {
    const incident = await eventually('an escalated incident', async () => {
      const { body } = await swas.get('/api/v1/incidents', admin);
      const found = (body as { incidents: { id: number; escalatedAt: number | null }[] }).incidents[0];
      return found?.escalatedAt ? found : null;
    });
    const detail = (await swas.get(`/api/v1/incidents/${incident.id}`, admin)).body as {
      timeline: { kind: string; message: string }[];
      runs: { run: { status: string; error: string }; steps: { status: string; error: string | null }[] }[];
    };
    const run = detail.runs[0];
    expect(run?.run.status).toBe('failed');
    expect(run?.steps[0]?.status).toBe('failed');
    expect(run?.steps[0]?.error).toContain('no-such-haproxy.sock');
    expect(run?.steps[1]?.status).toBe('pending');
    const kinds = detail.timeline.map((t) => t.kind);
    expect(kinds).toEqual(
      expect.arrayContaining([
        'incident.opened',
        'alert.firing',
        'run.started',
        'step.started',
        'step.failed',
        'run.failed',
        'incident.escalated',
      ]),
    );
    expect(kinds.indexOf('alert.firing')).toBeLessThan(kinds.indexOf('step.failed'));

    const escalation = await eventually('the escalation webhook', () =>
      receiver.received.find((n) => n.event === 'incident.escalated'),
    );
    expect(escalation).toMatchObject({ urgency: 'high', incident: { id: incident.id } });
    expect(escalation.reason).toContain('automation failed');
    expect((await swas.get('/-/ready', null)).status).toBe(200);
  });

  it('retries a failing receiver and records a receiver that stays down on the timeline, without crashing', async () => {
    const { body } = await swas.get('/api/v1/incidents', admin);
    const id = (body as { incidents: { id: number }[] }).incidents[0]?.id ?? 0;
    const failed = await eventually('a notify.failed entry', async () => {
      const detail = (await swas.get(`/api/v1/incidents/${id}`, admin)).body as {
        timeline: { kind: string; message: string }[];
      };
      return detail.timeline.find((t) => t.kind === 'notify.failed' && t.message.includes('to down'));
    });
    expect(failed.message).toMatch(/failed after 3 attempts: .*ECONNREFUSED/);
    const opened = receiver.received.filter((n) => n.event === 'incident.opened');
    expect(opened).toHaveLength(1);
    expect(receiver.attempts).toBeGreaterThan(receiver.received.length);
    expect((await swas.get('/-/healthy', null)).status).toBe(200);
  });

  it('warns about a rule that names a metric no target exposes, and keeps evaluating', async () => {
    const rule = await eventually('a warning on the rule', async () => {
      const { body } = await swas.get('/api/v1/rules', admin);
      const rules =
        (body as { data: { groups: { rules: { name: string; warnings: string[]; health: string }[] }[] } })
          .data.groups[0]?.rules ?? [];
      const neverSeen = rules.find((r) => r.name === 'NeverSeen');
      return neverSeen && neverSeen.warnings.length > 0 ? neverSeen : null;
    });
    expect(rule.health).toBe('ok');
    expect(rule.warnings[0]).toContain('"metric_nobody_exposes"');
  });

  it('answers 401 without a token, 401 for a bad one, 403 for a viewer on a mutating route', async () => {
    const viewer = await swas.token('viewer');
    const operator = await swas.token('operator');
    const without = await swas.get('/api/v1/incidents', null);
    expect(without.status).toBe(401);
    expect(without.body).toMatchObject({ error: { code: 'SWAS-AUTH-001' } });
    expect((await swas.get('/api/v1/incidents', 'swas_not-a-real-token')).status).toBe(401);
    expect((await swas.get('/metrics', null)).status).toBe(401);
    expect((await swas.get('/api/v1/incidents', viewer)).status).toBe(200);
    const refused = await swas.post('/api/v1/incidents/1/ack', viewer);
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ error: { code: 'SWAS-AUTH-004' } });
    expect((await swas.post('/-/reload', operator)).status).toBe(403);
    expect((await swas.post('/api/v1/incidents/1/ack', operator)).status).toBe(200);
  });

  it('rejects bad API input with 400 and a message naming the field', async () => {
    const bad = await swas.get('/api/v1/incidents?limit=abc', admin);
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('limit');
    expect((await swas.get('/api/v1/incidents/999999', admin)).status).toBe(404);
    const query = await swas.get('/api/v1/query?query=sum(', admin);
    expect(query.status).toBe(400);
    expect(query.body).toMatchObject({ status: 'error', errorType: 'bad_data' });
  });

  it('serves its own metrics and the audit chain verifies', async () => {
    const metrics = await swas.get('/metrics', admin);
    expect(String(metrics.body)).toContain('swas_rule_evaluations_total');
    const verify = await swas.get('/api/v1/audit/verify', admin);
    expect(verify.body).toMatchObject({ ok: true });
  });

  it('reloads a valid config, and rejects an invalid one while the old one keeps running', async () => {
    const ruleNames = async () => {
      const { body } = await swas.get('/api/v1/rules', admin);
      return (body as { data: { groups: { rules: { name: string }[] }[] } }).data.groups.flatMap((g) =>
        g.rules.map((r) => r.name),
      );
    };
    const rules = join(tmp.dir, 'rules.yml');
    await writeFile(
      rules,
      `${await readFile(rules, 'utf8')}      - alert: AddedByReload\n        expr: vector(1)\n`,
    );
    expect((await swas.post('/-/reload', admin)).status).toBe(200);
    expect(await ruleNames()).toContain('AddedByReload');

    const config = join(tmp.dir, 'swas.yaml');
    const good = await readFile(config, 'utf8');
    await writeFile(config, good.replace('evaluation_interval: 1s', 'evaluation_interval: soon'));
    const rejected = await swas.post('/-/reload', admin);
    expect(rejected.status).toBe(400);
    expect(JSON.stringify(rejected.body)).toMatch(
      /swas.yaml:\d+:\d+: rules.evaluation_interval: \\"soon\\" is not a duration/,
    );
    expect(await ruleNames()).toContain('AddedByReload');
    expect((await swas.get('/-/ready', null)).status).toBe(200);
    await writeFile(config, good);
  });
});

describe('swas server: a run that does not fix the problem', () => {
  it('escalates when a run succeeded but its alert is still firing afterwards', async () => {
    const tmp = await makeTempDir('still-firing');
    const receiver = await startWebhookReceiver();
    const swas = await startTestServer(
      tmp.dir,
      `scrape_configs:
  - job_name: app
    scrape_interval: 1s
    scrape_timeout: 500ms
    static_configs:
      - targets: ['127.0.0.1:${await freePort()}']
        labels: { member: app-1 }
rules:
  evaluation_interval: 1s
  files: [rules.yml]
runbooks:
  files: [runbook.yml]
incidents:
  still_firing_after_run: 1s
services:
  app-1:
    restart: [/bin/true]
notify:
  webhooks:
    - name: ops
      url: ${receiver.url}
`,
      {
        'rules.yml':
          'groups:\n  - name: app\n    interval: 1s\n    rules:\n      - alert: AppDown\n        expr: up == 0\n',
        'runbook.yml':
          "name: restart-app\ntrigger: { alert: AppDown }\ntarget: { member: '{{ $labels.member }}' }\nsteps:\n  - action: service.restart\n",
      },
    );
    try {
      const escalation = await eventually('an escalation', () =>
        receiver.received.find((n) => n.event === 'incident.escalated'),
      );
      expect(escalation.urgency).toBe('high');
      expect(escalation.reason).toBe('runbook restart-app succeeded, but 1 alert is still firing 1 s later');
      expect(receiver.received.map((n) => n.event)).toEqual(['incident.opened', 'incident.escalated']);
    } finally {
      await swas.stop();
      await receiver.stop();
      await tmp.remove();
    }
  });
});

describe('swas server: file-based service discovery', () => {
  it('scrapes targets listed in a file and follows changes to it', async () => {
    const tmp = await makeTempDir('file-sd');
    const [a, b] = [await freePort(), await freePort()];
    await writeFile(
      join(tmp.dir, 'targets.json'),
      JSON.stringify([{ targets: [`127.0.0.1:${a}`], labels: { pool: 'web' } }]),
    );
    const swas = await startTestServer(
      tmp.dir,
      `scrape_configs:
  - job_name: discovered
    scrape_interval: 1s
    scrape_timeout: 500ms
    file_sd_configs:
      - files: [targets.json]
        refresh_interval: 1s
`,
    );
    const targets = async () => {
      const { body } = await swas.get('/api/v1/targets', await token);
      return (body as { data: { activeTargets: { scrapeUrl: string; labels: Record<string, string> }[] } })
        .data.activeTargets;
    };
    const token = swas.token('viewer');
    try {
      const first = await eventually('the file target', async () =>
        (await targets()).length === 1 ? await targets() : null,
      );
      expect(first[0]).toMatchObject({
        scrapeUrl: `http://127.0.0.1:${a}/metrics`,
        labels: { job: 'discovered', pool: 'web', instance: `127.0.0.1:${a}` },
      });
      await writeFile(join(tmp.dir, 'targets.json'), JSON.stringify([{ targets: [`127.0.0.1:${b}`] }]));
      await eventually(
        'the changed target',
        async () =>
          (await targets()).some((t) => t.scrapeUrl === `http://127.0.0.1:${b}/metrics`) &&
          (await targets()).length === 1,
      );
    } finally {
      await swas.stop();
      await tmp.remove();
    }
  });
});

describe('swas server: alerting rules', () => {
  it('fires an alert whose expression is a scalar, as Prometheus does', async () => {
    const tmp = await makeTempDir('scalar-rule');
    const swas = await startTestServer(tmp.dir, 'rules:\n  evaluation_interval: 1s\n  files: [rules.yml]\n', {
      'rules.yml': 'groups:\n  - name: always\n    rules:\n      - alert: AlwaysOn\n        expr: 1\n',
    });
    try {
      const token = await swas.token('viewer');
      const alert = await eventually('the AlwaysOn alert', async () => {
        const { body } = await swas.get('/api/v1/alerts', token);
        return (
          body as { data: { alerts: { labels: Record<string, string>; state: string }[] } }
        ).data.alerts.find((a) => a.labels.alertname === 'AlwaysOn');
      });
      expect(alert).toMatchObject({ labels: { alertname: 'AlwaysOn' }, state: 'firing' });
    } finally {
      await swas.stop();
      await tmp.remove();
    }
  });
});
