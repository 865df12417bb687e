import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HaproxyLoadBalancer } from '../src/lb/index.js';
import { type PoolMember } from '../src/lb/index.js';
import type { Run, RunWithSteps } from '../src/store/index.js';
import { startHttpBackend, type HttpBackend } from './support/backends.js';
import type { HaproxyProcess } from './support/haproxy.js';
import { eventually, startTestServer, type TestServer } from './support/swasServer.js';
import { BUILT_CLI, swasCli } from './support/swasCli.js';
import { makeTempDir } from './support/tmp.js';
import { edgeLbYaml, startWebPool } from './support/webPool.js';

interface Guard {
  guard: string;
  ok: boolean;
  detail: string;
}

interface Report {
  ok: boolean;
  error: string | null;
  target: Record<string, string> | null;
  guards: Guard[];
  steps: { name: string; action: string; params: Record<string, unknown>; guards: Guard[] }[];
  undo: unknown;
}

const stateOf = (members: PoolMember[]) => members.map((m) => `${m.name}:${m.admin}:${m.weight}`);

describe(
  'runbook dry-run, run, show, cancel and quarantines, against real HAProxy',
  { timeout: 90_000 },
  () => {
    let tmp: Awaited<ReturnType<typeof makeTempDir>>;
    let haproxy: HaproxyProcess;
    let backends: HttpBackend[];
    let lb: HaproxyLoadBalancer;
    let swas: TestServer;
    let operator: string;
    let viewer: string;

    const api = async (method: 'GET' | 'POST', path: string, body?: unknown, token = operator) =>
      (await swas.request(method, path, token, body)) as { status: number; body: Record<string, unknown> };

    const runOf = async (id: string): Promise<RunWithSteps> => {
      const full = await swas.server.parts.store.runs.get(id);
      if (full === null) throw new Error(`run ${id} is not in the store`);
      return full;
    };

    beforeAll(async () => {
      if (!existsSync(BUILT_CLI)) throw new Error(`${BUILT_CLI} is missing: run \`npm run build\``);
      tmp = await makeTempDir('runbook-ops');
      backends = [await startHttpBackend('m1'), await startHttpBackend('m2')];
      ({ haproxy, lb } = await startWebPool(tmp.dir, [
        { name: 'web', servers: backends, serverDefaults: 'check inter 100ms rise 1 fall 1 weight 10' },
      ]));
      const target = `target:
  pool: '{{ $labels.pool }}'
  member: '{{ $labels.member }}'
`;
      swas = await startTestServer(
        tmp.dir,
        `${edgeLbYaml(haproxy.socketPath, ['web'])}runbooks:
  files: [hold.yaml, quick.yaml, on-alert.yaml]
`,
        {
          // Drains, then waits for a condition that never holds: cancelling it must undo the drain.
          'hold.yaml': `name: hold
trigger:
  manual: true
${target}steps:
  - action: lb.drain
    timeout: 5s
  - action: wait.until
    timeout: 40s
    with:
      expr: vector(0) > 1
      interval: 200ms
`,
          'quick.yaml': `name: quick
trigger:
  manual: true
${target}steps:
  - action: lb.weight
    with:
      weight: 5
  - action: lb.weight
    with:
      weight: 10
undo:
  - action: lb.weight
    with:
      weight: 10
`,
          'on-alert.yaml': `name: on-alert
trigger:
  alert: WebSick
${target}steps:
  - action: lb.maint
  - action: lb.ready
    with:
      ramp: none
`,
        },
      );
      operator = await swas.token('operator');
      viewer = await swas.token('viewer');
      for (const m of ['m1', 'm2'])
        await eventually(`web/${m} up`, async () => (await lb.getMember('web', m)).operational === 'up');
    }, 30_000);

    afterAll(async () => {
      await swas?.stop();
      await haproxy?.stop();
      for (const b of backends ?? []) await b.stop();
      await tmp?.remove();
    });

    it('dry-run reports every guard and step, and acts on nothing', async () => {
      const { store } = swas.server.parts;
      const haproxyBefore = stateOf(await lb.listMembers('web'));
      const auditBefore = (await store.audit.list({})).length;
      const answer = await api(
        'POST',
        '/api/v1/runbooks/on-alert/dry-run',
        { labels: { pool: 'web', member: 'm1' } },
        viewer,
      );
      expect(answer.status).toBe(200);
      const report = answer.body as unknown as Report;
      expect(report).toMatchObject({
        ok: true,
        error: null,
        target: { pool: 'web', member: 'm1' },
        undo: 'derived',
      });
      expect(report.guards.map((g) => g.guard)).toEqual(
        expect.arrayContaining(['target_sanity', 'flap_budget', 'concurrency']),
      );
      expect(report.steps.map((s) => s.action)).toEqual(['lb.maint', 'lb.ready']);
      expect(report.steps[0]?.params).toMatchObject({ pool: 'web', member: 'm1' });
      expect(report.steps[0]?.guards).toContainEqual(
        expect.objectContaining({ guard: 'last_member', ok: true }),
      );
      expect(report.steps[0]?.guards).toContainEqual(
        expect.objectContaining({ guard: 'blast_radius', ok: true }),
      );

      // With m2 out, taking m1 out too would stop the pool: the report says so, still without acting.
      await lb.setAdminState('web', 'm2', 'maint');
      try {
        const refused = (
          await api('POST', '/api/v1/runbooks/on-alert/dry-run', { labels: { pool: 'web', member: 'm1' } })
        ).body as unknown as Report;
        expect(refused.ok).toBe(false);
        expect(refused.steps[0]?.guards).toContainEqual(
          expect.objectContaining({ guard: 'last_member', ok: false }),
        );
        const cli = await swasCli(
          ['runbook', 'dry-run', 'on-alert', '--label', 'pool=web', '--label', 'member=m1'],
          swas,
          viewer,
        );
        expect(cli.code).toBe(3);
        expect(cli.stdout).toContain('runbook on-alert: REFUSED');
        expect(cli.stdout).toContain('target: pool=web member=m1');
        expect(cli.stdout).toMatch(/1\. .*\(lb\.maint\) pool=web member=m1/);
        expect(cli.stdout).toContain('REFUSED  last_member');
        expect(cli.stdout).toContain('undo: derived');
      } finally {
        await lb.setAdminState('web', 'm2', 'ready');
      }
      await eventually('m2 up', async () => (await lb.getMember('web', 'm2')).operational === 'up');
      const ok = await swasCli(
        ['runbook', 'dry-run', 'on-alert', '--label', 'pool=web', '--label', 'member=m1'],
        swas,
        viewer,
      );
      expect(ok.code).toBe(0);
      expect(ok.stdout).toContain('runbook on-alert: would act as shown');

      expect(stateOf(await lb.listMembers('web'))).toEqual(haproxyBefore);
      expect(await store.runs.list({})).toEqual([]);
      expect((await store.audit.list({})).length).toBe(auditBefore);
    });

    it('dry-run and run answer 404 for an unknown runbook, 400 for bad labels; the CLI checks --label', async () => {
      const unknown = await api('POST', '/api/v1/runbooks/nope/dry-run', {});
      expect(unknown.status).toBe(404);
      expect(JSON.stringify(unknown.body)).toContain('loaded runbooks: hold, quick, on-alert');
      expect((await api('POST', '/api/v1/runbooks/nope/run', {})).status).toBe(404);
      const bad = await api('POST', '/api/v1/runbooks/hold/run', { labels: { pool: 3 } });
      expect(bad.status).toBe(400);
      expect(JSON.stringify(bad.body)).toContain('labels.pool');
      const cli = await swasCli(['runbook', 'run', 'hold', '--label', 'pool'], swas, operator);
      expect(cli.code).toBe(2);
      expect(cli.stderr).toContain('expected name=value');
    });

    it('runs a manual runbook, refuses a second run on the same target, and cancel runs the undo path', async () => {
      const started = await api('POST', '/api/v1/runbooks/hold/run', {
        labels: { pool: 'web', member: 'm1' },
      });
      expect(started.status).toBe(201);
      const run = started.body.run as Run;
      expect(run.trigger).toMatchObject({ manual: true, by: 'test-operator' });
      await eventually(
        'the run to drain m1 and wait',
        async () => (await runOf(run.id)).steps[1]?.status === 'running',
      );
      expect((await lb.getMember('web', 'm1')).admin).toBe('drain');

      const again = await api('POST', '/api/v1/runbooks/hold/run', { labels: { pool: 'web', member: 'm1' } });
      expect(again.status).toBe(409);
      expect(JSON.stringify(again.body)).toContain('is already acting on web/m1');

      const cancel = await swasCli(['runbook', 'cancel', run.id], swas, operator);
      expect(cancel.code).toBe(0);
      expect(cancel.stdout).toContain(`run ${run.id} is cancelling`);
      await eventually(
        'the run to be cancelled',
        async () => (await runOf(run.id)).run.status === 'cancelled',
      );
      expect((await lb.getMember('web', 'm1')).admin).toBe('ready');
      const audit = await swas.server.parts.store.audit.list({});
      expect(audit).toContainEqual(
        expect.objectContaining({
          actor: 'user:test-operator',
          action: 'run.cancel',
          target: `run:${run.id}`,
        }),
      );

      const finished = await api('POST', `/api/v1/runs/${run.id}/cancel`);
      expect(finished.status).toBe(409);
      expect(JSON.stringify(finished.body)).toContain(`run ${run.id} is already cancelled`);
      expect((await api('POST', '/api/v1/runs/no-such-run/cancel')).status).toBe(404);
      // A run the store calls running but no executor in this process runs (another swas, or mid-restart).
      const { store } = swas.server.parts;
      const orphan = await store.runs.create(
        {
          runbook: 'hold',
          incidentId: null,
          target: { host: 'elsewhere' },
          trigger: {},
          createdAt: Date.now(),
          status: 'running',
        },
        [{ name: 'wait', action: 'wait.until', params: {} }],
      );
      const notHere = await api('POST', `/api/v1/runs/${orphan.run.id}/cancel`);
      expect(notHere.status).toBe(409);
      expect(JSON.stringify(notHere.body)).toContain('is running but not executing in this swas process');
      await store.runs.update(orphan.run.id, { status: 'failed', finishedAt: Date.now() });

      const shown = await swasCli(['runbook', 'show', run.id], swas, viewer);
      expect(shown.code).toBe(0);
      expect(shown.stdout).toContain(`run ${run.id}: hold, cancelled`);
      expect(shown.stdout).toContain('1. succeeded lb.drain web/m1 (lb.drain)');
      expect(shown.stdout).toMatch(/succeeded undo: lb\.ready web\/m1 \(lb\.ready\) \[undo\]/);
      expect(shown.stdout).toContain(`error: cancelled by user:test-operator`);
      expect(shown.stdout).toContain('web/m1 drained');
    });

    it('runs through the CLI, shows the finished run, and lists manual runbooks as manual', async () => {
      const started = await swasCli(
        ['runbook', 'run', 'quick', '--label', 'pool=web', '--label', 'member=m2'],
        swas,
        operator,
      );
      expect(started.code).toBe(0);
      const id = /run (\S+) started \(quick\)/.exec(started.stdout)?.[1] ?? '';
      expect(id).not.toBe('');
      await eventually('the quick run to succeed', async () => (await runOf(id)).run.status === 'succeeded');
      const shown = await swasCli(['runbook', 'show', id], swas, viewer);
      expect(shown.stdout).toContain(`run ${id}: quick, succeeded`);
      expect(shown.stdout).toContain('web/m2 weight 10 → 5');
      expect(shown.stdout).toContain('web/m2 weight 5 → 10');
      expect((await lb.getMember('web', 'm2')).weight).toBe(10);

      const list = await swasCli(['runbook', 'list'], swas, viewer);
      expect(list.code).toBe(0);
      expect(list.stdout).toMatch(/hold\s+manual/);
      expect(list.stdout).toMatch(/on-alert\s+WebSick/);
    });

    it('lists active quarantines and releases one (API and CLI); a second release is a 409', async () => {
      const { store } = swas.server.parts;
      const { quarantine } = await store.quarantines.create({
        targetKey: JSON.stringify([
          ['member', 'm2'],
          ['pool', 'web'],
        ]),
        target: { pool: 'web', member: 'm2' },
        runbook: 'on-alert',
        reason: 'flap budget spent: 3 runs in 1h',
        runIds: ['r1', 'r2', 'r3'],
        createdAt: Date.now(),
      });
      const active = await api('GET', '/api/v1/quarantines?active=true', undefined, viewer);
      expect(active.status).toBe(200);
      expect(active.body.quarantines).toEqual([
        expect.objectContaining({ id: quarantine.id, releasedAt: null }),
      ]);
      const listed = await swasCli(['runbook', 'quarantine', 'list'], swas, viewer);
      expect(listed.code).toBe(0);
      expect(listed.stdout).toMatch(new RegExp(`${quarantine.id}\\s+web/m2\\s+on-alert\\s+3`));

      expect(
        (await swasCli(['runbook', 'quarantine', 'release', String(quarantine.id)], swas, viewer)).code,
      ).toBe(1);
      const released = await swasCli(
        ['runbook', 'quarantine', 'release', String(quarantine.id)],
        swas,
        operator,
      );
      expect(released.code).toBe(0);
      expect(released.stdout).toContain(`quarantine ${quarantine.id} released`);
      expect(released.stdout).toContain('swas lb ready web m2');
      expect(await store.quarantines.active(quarantine.targetKey)).toBeNull();
      expect((await api('GET', '/api/v1/quarantines?active=true')).body.quarantines).toEqual([]);
      const twice = await api('POST', `/api/v1/quarantines/${quarantine.id}/release`);
      expect(twice.status).toBe(409);
      expect(JSON.stringify(twice.body)).toContain('already released by user:test-operator');
      expect((await api('POST', '/api/v1/quarantines/9999/release')).status).toBe(404);
      expect((await swasCli(['runbook', 'quarantine', 'release', 'x1'], swas, operator)).code).toBe(2);
    });
  },
);
