import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HaproxyLoadBalancer } from '../src/lb/index.js';
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

describe(
  'swas lb: load-balancer operations with the pool guards, against real HAProxy',
  { timeout: 60_000 },
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

    const change = (pool: string, member: string, op: string, body: Record<string, unknown> = {}) =>
      api('POST', `/api/v1/pools/${pool}/members/${member}/${op}`, body);

    async function ready(pool: string, member: string): Promise<void> {
      expect((await change(pool, member, 'ready', { force: true })).status).toBe(200);
      await eventually(`${pool}/${member} to serve again`, async () => {
        const m = await lb.getMember(pool, member);
        return m.admin === 'ready' && m.operational === 'up';
      });
    }

    beforeAll(async () => {
      if (!existsSync(BUILT_CLI)) throw new Error(`${BUILT_CLI} is missing: run \`npm run build\``);
      tmp = await makeTempDir('lb-ops');
      backends = [];
      for (const name of ['m1', 'm2', 'm3', 's1']) backends.push(await startHttpBackend(name));
      ({ haproxy, lb } = await startWebPool(tmp.dir, [
        {
          name: 'web',
          servers: backends.slice(0, 3),
          serverDefaults: 'check inter 100ms rise 1 fall 1 weight 10 slowstart 1s',
        },
        {
          name: 'solo',
          servers: backends.slice(3),
          serverDefaults: 'check inter 100ms rise 1 fall 1 weight 10 slowstart 3s',
        },
      ]));
      swas = await startTestServer(
        tmp.dir,
        `${edgeLbYaml(haproxy.socketPath, ['web', 'solo'])}pools:
  web:
    max_out: 1
runbooks:
  files: [hold.yaml]
`,
        {
          // Holds its target without touching it: a run that owns web/m3 for 30 s.
          'hold.yaml': `name: hold
trigger:
  manual: true
target:
  pool: '{{ $labels.pool }}'
  member: '{{ $labels.member }}'
steps:
  - action: wait.until
    timeout: 30s
    with:
      expr: vector(0) > 1
      interval: 200ms
`,
        },
      );
      operator = await swas.token('operator');
      viewer = await swas.token('viewer');
      for (const m of ['m1', 'm2', 'm3'])
        await eventually(`web/${m} up`, async () => (await lb.getMember('web', m)).operational === 'up');
      await eventually('solo/s1 up', async () => (await lb.getMember('solo', 's1')).operational === 'up');
    }, 30_000);

    afterAll(async () => {
      await swas?.stop();
      await haproxy?.stop();
      for (const b of backends ?? []) await b.stop();
      await tmp?.remove();
    });

    it('lists one pool’s members; an unknown pool or member is a 404 naming what exists', async () => {
      const listed = await api('GET', '/api/v1/pools/web/members', undefined, viewer);
      expect(listed.status).toBe(200);
      expect((listed.body.members as { name: string }[]).map((m) => m.name)).toEqual(['m1', 'm2', 'm3']);
      const unknownPool = await api('GET', '/api/v1/pools/nope/members');
      expect(unknownPool.status).toBe(404);
      expect(JSON.stringify(unknownPool.body)).toContain('known pools: web, solo');
      const unknownMember = await change('web', 'm9', 'drain');
      expect(unknownMember.status).toBe(404);
      expect(JSON.stringify(unknownMember.body)).toContain('its members: m1, m2, m3');
      expect((await change('nope', 'm1', 'drain')).status).toBe(404);
      // A viewer may read but not change.
      expect((await api('POST', '/api/v1/pools/web/members/m1/drain', {}, viewer)).status).toBe(403);
    });

    it('refuses to drain the last serving member (409 with every guard), and with force drains it and audits the force', async () => {
      const { store } = swas.server.parts;
      const refused = await change('solo', 's1', 'drain', { reason: 'disk full' });
      expect(refused.status).toBe(409);
      const guards = refused.body.guards as Guard[];
      expect(guards).toContainEqual(expect.objectContaining({ guard: 'last_member', ok: false }));
      expect(guards).toContainEqual(expect.objectContaining({ guard: 'blast_radius', ok: true }));
      expect((refused.body.error as { message: string }).message).toContain('REFUSED  last_member');
      expect((await lb.getMember('solo', 's1')).admin).toBe('ready');
      const refusedAudit = (await store.audit.list({})).at(-1);
      expect(refusedAudit).toMatchObject({
        actor: 'user:test-operator',
        target: 'solo/s1',
        result: 'refused',
      });

      const forced = await change('solo', 's1', 'drain', { reason: 'disk full', force: true });
      expect(forced.status).toBe(200);
      expect(forced.body).toMatchObject({ changed: true, forced: true, after: { admin: 'drain' } });
      expect((await lb.getMember('solo', 's1')).admin).toBe('drain');
      const entry = (await store.audit.list({})).at(-1);
      expect(entry).toMatchObject({
        actor: 'user:test-operator',
        action: 'lb.drain',
        target: 'solo/s1',
        reason: 'disk full',
        result: 'ok',
        before: { admin: 'ready', weight: 10 },
        after: { admin: 'drain', weight: 10, force: true },
      });
      expect((entry?.after as { refusedGuards: Guard[] }).refusedGuards).toEqual([
        expect.objectContaining({ guard: 'last_member', ok: false }),
      ]);
    });

    it('ready from drain goes through maint and ends ready and serving', async () => {
      const { store } = swas.server.parts;
      if ((await lb.getMember('solo', 's1')).admin !== 'drain')
        expect((await change('solo', 's1', 'drain', { force: true })).status).toBe(200);
      const answer = await change('solo', 's1', 'ready', { reason: 'disk cleaned' });
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({
        changed: true,
        forced: false,
        before: { admin: 'drain' },
        after: { admin: 'ready' },
      });
      // Slow start applies only from maint: a throttle proves the member went drain → maint → ready.
      await eventually('solo/s1 to slow-start', async () => {
        const m = await lb.getMember('solo', 's1');
        return m.throttlePercent !== null && m.throttlePercent < 100;
      });
      await eventually(
        'solo/s1 serving again',
        async () => (await lb.getMember('solo', 's1')).operational === 'up',
      );
      expect((await store.audit.list({})).at(-1)).toMatchObject({
        action: 'lb.ready',
        before: { admin: 'drain' },
        after: { admin: 'ready', force: false },
      });
      // Idempotent: asking again changes nothing and says so.
      const again = await change('solo', 's1', 'ready');
      expect(again.status).toBe(200);
      expect(again.body).toMatchObject({ changed: false, after: { admin: 'ready' } });
    });

    it('keeps the blast radius: with max_out 1 and one member in maint, a second drain is refused', async () => {
      expect((await change('web', 'm1', 'maint', { reason: 'kernel update' })).status).toBe(200);
      expect((await lb.getMember('web', 'm1')).admin).toBe('maint');
      const second = await change('web', 'm2', 'drain');
      expect(second.status).toBe(409);
      const blast = (second.body.guards as Guard[]).find((g) => g.guard === 'blast_radius');
      expect(blast).toMatchObject({ ok: false });
      expect(blast?.detail).toContain('m1 (MAINT)');
      expect((await lb.getMember('web', 'm2')).admin).toBe('ready');
      await ready('web', 'm1');
    });

    it('sets weights: lowering meets the guards, the same weight again changes nothing, weight 0 counts as out', async () => {
      const lowered = await change('web', 'm2', 'weight', { weight: 5, reason: 'warm cache' });
      expect(lowered.status).toBe(200);
      expect(lowered.body).toMatchObject({ changed: true, before: { weight: 10 }, after: { weight: 5 } });
      expect((await lb.getMember('web', 'm2')).weight).toBe(5);
      const same = await change('web', 'm2', 'weight', { weight: 5 });
      expect(same.body).toMatchObject({ changed: false });
      expect((await change('web', 'm1', 'maint')).status).toBe(200);
      const zero = await change('web', 'm2', 'weight', { weight: 0 });
      expect(zero.status).toBe(409);
      expect(zero.body.guards).toContainEqual(expect.objectContaining({ guard: 'blast_radius', ok: false }));
      await ready('web', 'm1');
      expect((await change('web', 'm2', 'weight', { weight: 10 })).status).toBe(200);
      expect((await lb.getMember('web', 'm2')).weight).toBe(10);
    });

    it('refuses a member an unfinished run targets, naming the run and how to cancel it', async () => {
      const started = await api('POST', '/api/v1/runbooks/hold/run', {
        labels: { pool: 'web', member: 'm3' },
      });
      expect(started.status).toBe(201);
      const runId = (started.body.run as { id: string }).id;
      try {
        const held = await change('web', 'm3', 'drain');
        expect(held.status).toBe(409);
        expect(held.body.heldBy).toBe(runId);
        const message = (held.body.error as { message: string }).message;
        expect(message).toContain(`held by run ${runId}`);
        expect(message).toContain(`swas runbook cancel ${runId}`);
        expect((await lb.getMember('web', 'm3')).admin).toBe('ready');
      } finally {
        expect((await api('POST', `/api/v1/runs/${runId}/cancel`)).status).toBe(202);
        await eventually(
          'the hold run to end',
          async () => (await swas.server.parts.store.runs.listUnfinished()).length === 0,
        );
      }
    });

    it('answers bad bodies with 400 naming the field', async () => {
      const cases: [string, Record<string, unknown>, string][] = [
        ['weight', {}, 'weight'],
        ['weight', { weight: 300 }, 'weight'],
        ['weight', { weight: 1.5 }, 'weight'],
        ['drain', { weight: 3 }, 'weight'],
        ['drain', { force: 'yes' }, 'force'],
        ['drain', { reasn: 'typo' }, 'reasn'],
        ['explode', {}, 'op'],
      ];
      for (const [op, body, field] of cases) {
        const answer = await change('web', 'm1', op, body);
        expect(answer.status, `${op} ${JSON.stringify(body)}`).toBe(400);
        expect((answer.body.error as { message: string }).message).toContain(field);
      }
      expect((await lb.getMember('web', 'm1')).admin).toBe('ready');
    });

    it('drives the same operations through the swas CLI', async () => {
      const pools = await swasCli(['lb', 'pools'], swas, viewer);
      expect(pools.code).toBe(0);
      expect(pools.stdout).toMatch(/web\s+edge/);
      const members = await swasCli(['lb', 'members', 'web'], swas, viewer);
      expect(members.code).toBe(0);
      expect(members.stdout).toMatch(/m2\s+127\.0\.0\.1:\d+\s+ready\s+up\s+10\/10/);

      const refused = await swasCli(['lb', 'drain', 'solo', 's1', '--reason', 'cli test'], swas, operator);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('HTTP 409');
      expect(refused.stderr).toContain('REFUSED  last_member');
      expect(refused.stderr).toContain('ok  blast_radius');

      const weighed = await swasCli(
        ['lb', 'weight', 'web', 'm3', '4', '--reason', 'cli test'],
        swas,
        operator,
      );
      expect(weighed.code).toBe(0);
      expect(weighed.stdout).toContain('web/m3: weight: ready/up weight 10 → ready/up weight 4');
      expect((await lb.getMember('web', 'm3')).weight).toBe(4);
      expect((await swasCli(['lb', 'weight', 'web', 'm3', '10'], swas, operator)).code).toBe(0);

      const badWeight = await swasCli(['lb', 'weight', 'web', 'm3', '300'], swas, operator);
      expect(badWeight.code).toBe(2);
      expect(badWeight.stderr).toContain('the weight is an integer 0..256, not "300"');

      const forced = await swasCli(['lb', 'maint', 'solo', 's1', '--force'], swas, operator);
      expect(forced.code).toBe(0);
      expect(forced.stdout).toContain('FORCED');
      const back = await swasCli(['lb', 'ready', 'solo', 's1'], swas, operator);
      expect(back.code).toBe(0);
      expect(back.stdout).toContain('solo/s1: ready: maint/');
    });
  },
);
