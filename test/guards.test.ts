import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { GuardDecision } from '../src/core/index.js';
import { runbookSchema, type PoolGuardsConfig, type RunbookConfig } from '../src/config/index.js';
import type { HaproxyLoadBalancer } from '../src/lb/index.js';
import { type PoolMember } from '../src/lb/index.js';
import { EmbeddedPromqlQuery } from '../src/promql/index.js';
import {
  LocalServiceControl,
  RunExecutor,
  type PoolGuard,
  type StepNotifier,
  type StepServices,
} from '../src/runbooks/index.js';
import { openStateStore, type Run, type StateStore } from '../src/store/index.js';
import { MemorySeriesStore } from '../src/tsdb/index.js';
import { startHttpBackend, type HttpBackend } from './support/backends.js';
import type { HaproxyProcess } from './support/haproxy.js';
import { defaultPoolGuard } from './support/poolGuard.js';
import { freePort } from './support/ports.js';
import { eventually } from './support/swasServer.js';
import { makeTempDir } from './support/tmp.js';
import { startWebPool } from './support/webPool.js';

const logger = pino({ level: 'silent' });
const MEMBERS = ['m1', 'm2', 'm3', 'm4'];
type Notice = Parameters<StepNotifier['notify']>[0];

/** A manual runbook acting on web/<member>; `yaml` overrides any field. */
function runbook(name: string, yaml: Record<string, unknown>): RunbookConfig {
  return runbookSchema.parse({
    name,
    trigger: { manual: true },
    target: { pool: 'web', member: '{{ $labels.member }}' },
    ...yaml,
  });
}

/** Capacity guard: one member carries 10 (pool_load units) at full weight, 20 % headroom. */
function capacity(fallback: 'shed' | 'page'): NonNullable<PoolGuardsConfig['capacity']> {
  return { load: 'sum(pool_load)', member_capacity: 10, headroom: 0.2, fallback };
}

/** A daily window that starts `hoursFromNow` hours from the current UTC hour. */
function dailyWindow(hoursFromNow: number, duration: string): Record<string, string> {
  const hour = (new Date().getUTCHours() + hoursFromNow + 24) % 24;
  return { schedule: `0 ${hour} * * *`, duration, time_zone: 'UTC' };
}
const closedWindow = () => dailyWindow(12, '1h');
const openWindow = () => dailyWindow(0, '2h');

const decision = (decisions: readonly GuardDecision[], guard: GuardDecision['guard']) =>
  decisions.find((d) => d.guard === guard);

describe('runbook guards against real HAProxy, a real store and the embedded PromQL engine', () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let haproxy: HaproxyProcess;
  let backends: HttpBackend[];
  let lb: HaproxyLoadBalancer;
  // Fresh for every test: flap budgets count every run on a target in the store.
  let store: StateStore;
  let series: MemorySeriesStore;
  let pools: Record<string, PoolGuardsConfig>;
  let poolGuard: PoolGuard;
  let services: StepServices;
  let notices: Notice[];
  let testNo = 0;
  let frontendPort: number;

  beforeAll(async () => {
    tmp = await makeTempDir('guards');
    backends = [];
    for (const m of MEMBERS) backends.push(await startHttpBackend(m));
    frontendPort = await freePort();
    ({ haproxy, lb } = await startWebPool(
      tmp.dir,
      [{ name: 'web', servers: backends, serverDefaults: 'check inter 100ms rise 1 fall 2 weight 100' }],
      frontendPort,
    ));
  }, 30_000);

  beforeEach(async () => {
    for (const b of backends) await b.start();
    for (const m of MEMBERS) {
      await lb.setAdminState('web', m, 'ready');
      await lb.setWeight('web', m, 100);
    }
    await eventually('every member up', async () =>
      (await lb.listMembers('web')).every((m) => m.operational === 'up'),
    );
    store = await openStateStore({ dataDir: join(tmp.dir, `data-${++testNo}`) });
    series = new MemorySeriesStore();
    const query = EmbeddedPromqlQuery.create({ reader: series });
    pools = { web: { max_out: 1 } };
    // The guard reads `pools` at every check, so a test may change the pool's guards as it goes.
    poolGuard = defaultPoolGuard(query, pools);
    notices = [];
    services = {
      lbs: { forPool: (pool) => (pool === 'web' ? lb : null) },
      services: new LocalServiceControl(
        Object.fromEntries(MEMBERS.map((m) => [m, { restart: ['/bin/true'], timeoutMs: 5000 }])),
      ),
      query,
      audit: { record: (entry) => store.audit.append({ ...entry, at: Date.now() }).then(() => undefined) },
      now: Date.now,
      pollMs: 20,
      poolGuard,
      notifications: {
        notify: (notice) => {
          notices.push(notice);
          return Promise.resolve({ ok: true, detail: 'recorded' });
        },
      },
    };
  });

  afterEach(async () => {
    await store?.close();
  });

  afterAll(async () => {
    await haproxy?.stop();
    for (const b of backends ?? []) await b.stop();
    await tmp?.remove();
  });

  const setLoad = (value: number) => series.append({ __name__: 'pool_load', pool: 'web' }, Date.now(), value);
  const setGate = (member: string, value: number) =>
    series.append({ __name__: 'gate', member }, Date.now(), value);
  const check = (member: string, change: Parameters<PoolGuard['check']>[3]) =>
    poolGuard.check(lb, 'web', member, change);
  const maint = (...members: string[]) =>
    Promise.all(members.map((m) => lb.setAdminState('web', m, 'maint')));
  const member = (name: string) => lb.getMember('web', name);
  const get = (url: string) => fetch(url, { signal: AbortSignal.timeout(5000) });

  const executor = (runbooks: readonly RunbookConfig[], overrides: Partial<StepServices> = {}) => {
    const e = RunExecutor.create({
      runs: store.runs,
      quarantines: store.quarantines,
      services: { ...services, ...overrides },
      observer: () => Promise.resolve(),
      logger,
      abortGraceMs: 500,
    });
    e.setRunbooks(runbooks);
    return e;
  };
  const start = async (e: RunExecutor, rb: RunbookConfig, memberName: string): Promise<Run> => {
    const started = await e.start(rb, { labels: { member: memberName }, incidentId: null, trigger: {} });
    if (!started.started) throw new Error(`run on ${memberName} was refused: ${started.reason}`);
    return started.run;
  };
  const finished = (runId: string, timeoutMs = 20_000) =>
    eventually(
      `run ${runId} to finish`,
      async () => {
        const run = (await store.runs.get(runId))?.run;
        return run && ['succeeded', 'failed', 'cancelled'].includes(run.status) ? run : null;
      },
      timeoutMs,
    );
  const auditBy = async (actor: string) => (await store.audit.list({})).filter((a) => a.actor === actor);

  /** Samples a member's admin state and weight every 20 ms until stopped. */
  function watch(name: string): () => Promise<Pick<PoolMember, 'admin' | 'weight'>[]> {
    const seen: Pick<PoolMember, 'admin' | 'weight'>[] = [];
    let stopped = false;
    const loop = (async () => {
      while (!stopped) {
        const { admin, weight } = await member(name);
        const last = seen.at(-1);
        if (last?.admin !== admin || last.weight !== weight) seen.push({ admin, weight });
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    return async () => {
      stopped = true;
      await loop;
      const { admin, weight } = await member(name);
      const last = seen.at(-1);
      if (last?.admin !== admin || last.weight !== weight) seen.push({ admin, weight });
      return seen;
    };
  }

  describe('PoolGuard.check', () => {
    it('never lets the last serving member go out, whatever the blast radius allows', async () => {
      pools.web = { max_out: 10 };
      await maint('m2', 'm3');
      expect((await check('m1', { kind: 'out' })).ok).toBe(true);
      await maint('m4');
      const refused = await check('m1', { kind: 'out' });
      expect(refused.ok).toBe(false);
      expect(decision(refused.decisions, 'last_member')).toEqual({
        guard: 'last_member',
        ok: false,
        detail: 'web/m1 is the last member of web serving traffic; taking it out would stop the pool',
      });
      expect(decision(refused.decisions, 'blast_radius')?.ok).toBe(true);
      // Weight 0 is out of service too.
      expect((await check('m1', { kind: 'weight', weight: 0 })).ok).toBe(false);
    });

    it('limits the members out at once by max_out and by max_out_percent, the stricter winning', async () => {
      pools.web = { max_out: 1 };
      expect(decision((await check('m1', { kind: 'out' })).decisions, 'blast_radius')).toMatchObject({
        ok: true,
        detail: expect.stringContaining('none out now') as string,
      });
      await maint('m2');
      const refused = await check('m1', { kind: 'out' });
      expect(refused.ok).toBe(false);
      expect(decision(refused.decisions, 'blast_radius')?.detail).toBe(
        'over the limit of 1 member(s) of 4 out at once with this one; out now: m2 (MAINT)',
      );
      expect(decision(refused.decisions, 'last_member')?.ok).toBe(true);
      // A member already out takes nothing more away.
      expect((await check('m2', { kind: 'out' })).ok).toBe(true);

      pools.web = { max_out: 4, max_out_percent: 50 };
      expect((await check('m1', { kind: 'out' })).ok).toBe(true);
      await maint('m3');
      const byPercent = await check('m1', { kind: 'out' });
      expect(byPercent.ok).toBe(false);
      expect(decision(byPercent.decisions, 'blast_radius')?.detail).toContain(
        'over the limit of 2 member(s) of 4',
      );
    });

    it('counts a member failing its health checks as out', async () => {
      pools.web = { max_out: 1 };
      const m3 = backends[2];
      if (m3 === undefined) throw new Error('no backend m3');
      await m3.stop();
      await eventually('m3 down', async () => (await member('m3')).operational === 'down');
      expect((await member('m3')).admin).toBe('ready');
      const refused = await check('m1', { kind: 'out' });
      expect(refused.ok).toBe(false);
      expect(decision(refused.decisions, 'blast_radius')?.detail).toMatch(/out now: m3 \(DOWN/);
      await m3.start();
      await eventually('m3 up', async () => (await member('m3')).operational === 'up');
      expect((await check('m1', { kind: 'out' })).ok).toBe(true);
    });

    it('always allows raising a weight, even on the last member of an overloaded pool', async () => {
      pools.web = { max_out: 0, capacity: capacity('page') };
      setLoad(1000);
      await lb.setWeight('web', 'm1', 50);
      await maint('m2', 'm3', 'm4');
      const raised = await check('m1', { kind: 'weight', weight: 80 });
      expect(raised).toMatchObject({ ok: true, shedTo: null, fallback: null });
      expect((await check('m1', { kind: 'weight', weight: 40 })).ok).toBe(false);
    });

    it('lets a member leave only when the rest carry the load with headroom; else says what it must keep', async () => {
      pools.web = { max_out: 1, capacity: capacity('shed') };
      setLoad(20);
      const ok = await check('m1', { kind: 'out' });
      expect(ok.ok).toBe(true);
      expect(decision(ok.decisions, 'capacity')).toEqual({
        guard: 'capacity',
        ok: true,
        detail: 'load 20, the rest carry 24 at 80% of capacity (10 per member)',
      });

      setLoad(30);
      const refused = await check('m1', { kind: 'out' });
      expect(refused.ok).toBe(false);
      expect(decision(refused.decisions, 'capacity')?.detail).toBe(
        'the remaining members cannot carry the load: load 30, the rest carry 24 at 80% of capacity (10 per member); it must keep weight 75 of 100',
      );
      // (30 / 0.8 − 3 × 10) / 10 = 0.75 of its weight.
      expect(refused).toMatchObject({ shedTo: 75, fallback: 'shed' });
      // Lowering the weight to what it must keep is allowed; below it is not.
      expect((await check('m1', { kind: 'weight', weight: 75 })).ok).toBe(true);
      expect((await check('m1', { kind: 'weight', weight: 74 })).ok).toBe(false);

      pools.web = { max_out: 1, capacity: capacity('page') };
      expect(await check('m1', { kind: 'out' })).toMatchObject({ ok: false, shedTo: null, fallback: 'page' });
    });

    it('refuses when the load cannot be read', async () => {
      pools.web = { max_out: 1, capacity: capacity('page') };
      const refused = await check('m1', { kind: 'out' });
      expect(refused.ok).toBe(false);
      expect(decision(refused.decisions, 'capacity')?.detail).toBe(
        'cannot tell whether the pool can spare it: capacity.load (sum(pool_load)) returned no sample',
      );
    });
  });

  describe('capacity fallbacks in lb.drain', () => {
    const drain = (timeout: string, extra: Record<string, unknown>[] = []) =>
      runbook('drain', { steps: [{ action: 'lb.drain', timeout }, ...extra] });

    it('shed: lowers the weight (never below what the pool needs), pages once, fails at the timeout and undoes', async () => {
      pools.web = { max_out: 1, capacity: capacity('shed') };
      // (27 / 0.8 − 30) / 10 = 0.375: m1 must keep weight 38; halving goes 100 → 50 → 38, not 25.
      setLoad(27);
      const rb = drain('4500ms');
      const stop = watch('m1');
      const began = Date.now();
      const run = await finished((await start(executor([rb]), rb, 'm1')).id);
      const elapsed = Date.now() - began;
      const seen = await stop();

      expect(run.status).toBe('failed');
      expect(elapsed).toBeGreaterThanOrEqual(4500);
      expect(run.error).toMatch(
        /^step 1 \(lb\.drain web\/m1\) failed: refused by the pool guards until the step timeout: capacity: the remaining members cannot carry the load: load 27, .*it must keep weight 38 of 100; weight shed to 50 → 38; undone/,
      );
      expect(seen.every((s) => s.admin === 'ready')).toBe(true);
      expect(seen.map((s) => s.weight)).toEqual([100, 50, 38, 100]);
      expect(await member('m1')).toMatchObject({ admin: 'ready', weight: 100 });
      expect(notices).toHaveLength(1);
      expect(notices[0]).toMatchObject({ runId: run.id, runbook: 'drain', urgency: 'high' });
      expect(notices[0]?.message).toContain('web/m1 cannot be taken out');
      expect(await auditBy(`run:${run.id}`)).toMatchObject([
        { action: 'lb.weight', after: { weight: 50 } },
        { action: 'lb.weight', after: { weight: 38 } },
        { action: 'lb.weight', after: { weight: 100 } },
      ]);
    });

    it('shed: drains once the load falls while the step waits, and the member comes back at full weight', async () => {
      pools.web = { max_out: 1, capacity: capacity('shed') };
      setLoad(26);
      setGate('m1', 0);
      const rb = drain('15s', [
        {
          action: 'wait.until',
          timeout: '20s',
          with: { expr: 'gate{member="m1"} == 1', interval: '100ms' },
        },
        { action: 'lb.ready', timeout: '10s' },
      ]);
      const run = await start(executor([rb]), rb, 'm1');
      await eventually('m1 weight shed', async () => (await member('m1')).weight < 100);
      expect((await member('m1')).admin).toBe('ready');
      setLoad(10);
      await eventually('m1 drained', async () => (await member('m1')).admin === 'drain');
      expect(notices).toHaveLength(1);
      // Out of rotation, it gets back the weight it shed; it stays drained and takes no new requests.
      await eventually('m1 weight restored', async () => (await member('m1')).weight === 100);
      expect((await member('m1')).admin).toBe('drain');
      const served = backends[0]?.served ?? -1;
      for (let i = 0; i < 8; i++) expect((await get(`http://127.0.0.1:${frontendPort}/`)).status).toBe(200);
      expect(backends[0]?.served).toBe(served);
      setGate('m1', 1);
      const done = await finished(run.id);
      expect(done.status).toBe('succeeded');
      expect((await auditBy(`run:${run.id}`)).map((a) => a.action)).toEqual([
        'lb.weight',
        'lb.drain',
        'lb.weight',
        'lb.maint',
        'lb.ready',
      ]);
      expect(await member('m1')).toMatchObject({ admin: 'ready', weight: 100 });
    });

    it('shed: a drain resumed after a crash between draining and giving back the shed weight gives it back', async () => {
      pools.web = { max_out: 1, capacity: capacity('shed') };
      setLoad(27);
      const rb = drain('20s', [{ action: 'lb.ready', timeout: '10s' }]);
      const first = executor([rb]);
      const run = await start(first, rb, 'm1');
      await eventually('m1 weight shed', async () => (await member('m1')).weight < 100);
      // swas stops mid-step (the step is recorded as not done), and the state a crash right after the drain
      // leaves is made by hand: drained, still at the shed weight.
      await first.shutdown(100);
      expect((await store.runs.get(run.id))?.run.status).toBe('parked');
      await lb.setAdminState('web', 'm1', 'drain');
      expect((await member('m1')).weight).toBeLessThan(100);
      setLoad(10);

      const second = executor([rb]);
      expect(await second.resumeUnfinished()).toBe(1);
      const done = await finished(run.id);
      expect(done.status).toBe('succeeded');
      const restores = (await auditBy(`run:${run.id}`)).filter(
        (a) => a.action === 'lb.weight' && (a.reason ?? '').includes('restoring the weight shed'),
      );
      expect(restores).toHaveLength(1);
      expect(restores[0]?.after).toMatchObject({ admin: 'drain', weight: 100 });
      expect(await member('m1')).toMatchObject({ admin: 'ready', weight: 100 });
    });

    it('page: fails at once, refused by the pool guards, and leaves the member untouched', async () => {
      pools.web = { max_out: 1, capacity: capacity('page') };
      setLoad(30);
      const rb = drain('10s');
      const stop = watch('m1');
      const began = Date.now();
      const run = await finished((await start(executor([rb]), rb, 'm1')).id);
      const seen = await stop();
      expect(Date.now() - began).toBeLessThan(3000);
      expect(run.status).toBe('failed');
      expect(run.error).toContain(
        'failed: refused by the pool guards: capacity: the remaining members cannot carry the load: load 30',
      );
      expect(seen).toEqual([{ admin: 'ready', weight: 100 }]);
      expect(await auditBy(`run:${run.id}`)).toEqual([]);
      expect(notices).toEqual([]);
    });
  });

  describe('flap budget and quarantine', () => {
    const flappy = runbook('flappy', {
      guards: { flap_budget: { runs: 2, window: '1h' } },
      steps: [
        { action: 'lb.drain', timeout: '2s' },
        { action: 'lb.ready', timeout: '5s', with: { ramp: 'none' } },
      ],
    });

    it('quarantines the target past its budget, takes it out of rotation, pages once', async () => {
      let offset = 0;
      const e = executor([flappy], { now: () => Date.now() + offset });
      for (let i = 0; i < 2; i++)
        expect((await finished((await start(e, flappy, 'm1')).id)).status).toBe('succeeded');
      const auditBefore = (await store.audit.list({})).length;

      const third = await e.start(flappy, { labels: { member: 'm1' }, incidentId: null, trigger: {} });
      expect(third).toMatchObject({ started: false, escalate: true });
      expect(third.started ? '' : third.reason).toMatch(
        /^target quarantined: flap budget spent: 2 runs in 60 min \(budget 2\): .*; web\/m1 is in maintenance/,
      );
      const key = JSON.stringify([
        ['member', 'm1'],
        ['pool', 'web'],
      ]);
      const quarantine = await store.quarantines.active(key);
      expect(quarantine).not.toBeNull();
      expect(quarantine?.runIds).toHaveLength(2);
      expect((await member('m1')).admin).toBe('maint');
      const quarantineAudit = (await store.audit.list({})).slice(auditBefore);
      expect(quarantineAudit).toMatchObject([
        { actor: `quarantine:${quarantine?.id}`, action: 'lb.maint', target: 'web/m1', result: 'ok' },
      ]);
      expect((await store.runs.list({})).length).toBe(2);

      const fourth = await e.start(flappy, { labels: { member: 'm1' }, incidentId: null, trigger: {} });
      expect(fourth).toMatchObject({ started: false, escalate: false });
      expect(fourth.started ? '' : fourth.reason).toContain('quarantined since');
      // Another member of the pool is not quarantined (max_out 2: m1 is out, in maint).
      pools.web = { max_out: 2 };
      expect((await finished((await start(e, flappy, 'm2')).id)).status).toBe('succeeded');

      // Released, the target gets a fresh budget: runs before the release no longer count.
      await store.quarantines.release(quarantine?.id ?? -1, 'test', Date.now());
      const fifth = await start(e, flappy, 'm1');
      expect((await finished(fifth.id)).status).toBe('succeeded');
      expect((await member('m1')).admin).toBe('ready');
      const sixth = await start(e, flappy, 'm1');
      expect((await finished(sixth.id)).status).toBe('succeeded');
      // The fresh budget is spent again: quarantined and paged again.
      const seventh = await e.start(flappy, { labels: { member: 'm1' }, incidentId: null, trigger: {} });
      expect(seventh).toMatchObject({ started: false, escalate: true });
      const again = await store.quarantines.active(key);
      expect(again?.id).not.toBe(quarantine?.id);
      await store.quarantines.release(again?.id ?? -1, 'test', Date.now());

      // Once the window has passed the earlier runs, a run may start again (m1 is in maint: it is re-added).
      offset = 61 * 60_000;
      const eighth = await start(e, flappy, 'm1');
      expect((await finished(eighth.id)).status).toBe('succeeded');
      expect((await member('m1')).admin).toBe('ready');
    });
  });

  describe('serialisation on a pool', () => {
    const waitGate = {
      action: 'wait.until',
      timeout: '20s',
      with: { expr: 'gate{member="{{ $target.member }}"} == 1', interval: '100ms' },
    };

    it('runs on the same pool wait their turn: the second starts no step until the first finishes', async () => {
      const rb = runbook('gated', { steps: [waitGate] });
      const e = executor([rb]);
      setGate('m1', 0);
      setGate('m2', 1);
      const a = await start(e, rb, 'm1');
      const b = await start(e, rb, 'm2');
      await eventually(
        'run a waiting',
        async () => (await store.runs.get(a.id))?.steps[0]?.status === 'running',
      );
      await new Promise((resolve) => setTimeout(resolve, 600));
      const waiting = await store.runs.get(b.id);
      expect(waiting?.run.status).toBe('pending');
      expect(waiting?.steps.map((s) => [s.status, s.startedAt])).toEqual([['pending', null]]);
      setGate('m1', 1);
      const [doneA, doneB] = [await finished(a.id), await finished(b.id)];
      expect([doneA.status, doneB.status]).toEqual(['succeeded', 'succeeded']);
      expect(doneB.startedAt).toBeGreaterThanOrEqual(doneA.finishedAt ?? Infinity);
    });

    const independent = runbook('independent', {
      guards: { concurrency: 'independent' },
      steps: [
        { action: 'lb.drain', timeout: '2s' },
        waitGate,
        { action: 'lb.ready', timeout: '5s', with: { ramp: 'none' } },
      ],
    });

    it('independent runs act side by side, as far as the blast radius allows (max_out 2)', async () => {
      pools.web = { max_out: 2 };
      const e = executor([independent]);
      setGate('m1', 0);
      setGate('m2', 0);
      const a = await start(e, independent, 'm1');
      const b = await start(e, independent, 'm2');
      await eventually(
        'both drained at once',
        async () => (await member('m1')).admin === 'drain' && (await member('m2')).admin === 'drain',
      );
      setGate('m1', 1);
      setGate('m2', 1);
      expect((await finished(a.id)).status).toBe('succeeded');
      expect((await finished(b.id)).status).toBe('succeeded');
      expect((await lb.listMembers('web')).map((m) => m.admin)).toEqual(['ready', 'ready', 'ready', 'ready']);
    });

    it('independent runs past the blast radius (max_out 1): the second drain is refused', async () => {
      pools.web = { max_out: 1 };
      const e = executor([independent]);
      setGate('m1', 0);
      const a = await start(e, independent, 'm1');
      await eventually('m1 drained', async () => (await member('m1')).admin === 'drain');
      const b = await finished((await start(e, independent, 'm2')).id);
      expect(b.status).toBe('failed');
      expect(b.error).toContain(
        'refused by the pool guards: blast_radius: over the limit of 1 member(s) of 4 out at once with this one; out now: m1 (DRAIN)',
      );
      expect((await member('m2')).admin).toBe('ready');
      setGate('m1', 1);
      expect((await finished(a.id)).status).toBe('succeeded');
    });
  });

  describe('time windows', () => {
    it('a step outside its windows fails and the run undoes what it did', async () => {
      const rb = runbook('windowed-step', {
        steps: [
          { action: 'lb.drain', timeout: '2s' },
          { action: 'lb.weight', with: { weight: 50 }, allowed_windows: [closedWindow()] },
        ],
      });
      const run = await finished((await start(executor([rb]), rb, 'm1')).id);
      expect(run.status).toBe('failed');
      expect(run.error).toMatch(
        /^step 2 \(lb\.weight web\/m1\) failed: lb\.weight may act only inside an allowed window \("0 \d+ \* \* \*" for 1h UTC\), but none is open at .*; undone \(2 undo steps succeeded\)$/,
      );
      expect((await store.runs.get(run.id))?.steps.map((s) => s.status)).toEqual([
        'succeeded',
        'failed',
        'succeeded',
        'succeeded',
      ]);
      expect(await member('m1')).toMatchObject({ admin: 'ready', weight: 100 });
      expect((await auditBy(`run:${run.id}`)).map((a) => a.action)).toEqual([
        'lb.drain',
        'lb.maint',
        'lb.ready',
      ]);
    });

    it('a runbook outside its windows does not start; inside one it runs', async () => {
      const steps = [{ action: 'lb.drain', timeout: '2s' }];
      const closed = runbook('closed', { guards: { allowed_windows: [closedWindow()] }, steps });
      const refused = await executor([closed]).start(closed, {
        labels: { member: 'm1' },
        incidentId: null,
        trigger: {},
      });
      expect(refused).toMatchObject({ started: false, escalate: true });
      expect(refused.started ? '' : refused.reason).toContain(
        'runbook closed may start only inside an allowed window ("0 ',
      );
      expect(await store.runs.list({})).toEqual([]);
      expect((await member('m1')).admin).toBe('ready');

      const open = runbook('open', { guards: { allowed_windows: [openWindow()] }, steps });
      const run = await finished((await start(executor([open]), open, 'm1')).id);
      expect(run.status).toBe('succeeded');
      expect((await member('m1')).admin).toBe('drain');
    });
  });

  describe('target sanity', () => {
    const rolling = (members: string, maxTargets: number) =>
      runbook('roll', {
        target: {},
        rolling: { pool: 'web', members },
        guards: { max_targets: maxTargets },
        steps: [{ action: 'lb.drain', timeout: '2s' }],
      });
    const refusedStart = async (rb: RunbookConfig) => {
      const result = await executor([rb]).start(rb, { labels: {}, incidentId: null, trigger: {} });
      if (result.started) throw new Error('the run started');
      return result;
    };

    it('refuses an empty target set and one larger than max_targets, before any action', async () => {
      const empty = await refusedStart(rolling('db-.*', 5));
      expect(empty).toEqual({
        started: false,
        escalate: true,
        reason: 'target sanity: the target set is empty; a run never widens to "all"',
      });
      const large = await refusedStart(rolling('m.*', 3));
      expect(large.reason).toBe('target sanity: 4 target(s), at most 3 allowed (guards.max_targets)');
      expect(await store.runs.list({})).toEqual([]);
      expect(await store.audit.list({})).toEqual([]);
      expect((await lb.listMembers('web')).map((m) => m.admin)).toEqual(['ready', 'ready', 'ready', 'ready']);
    });
  });

  describe('dry run', () => {
    const repair = runbook('repair', {
      steps: [
        { action: 'lb.drain', timeout: '30s' },
        { action: 'service.restart' },
        { action: 'lb.ready', with: { ramp: 'none' } },
      ],
    });
    const state = async () => (await lb.listMembers('web')).map((m) => [m.name, m.admin, m.weight]);

    it('reports target, start guards, each step’s guard decisions and the derived undo; acts on nothing', async () => {
      pools.web = { max_out: 1, capacity: capacity('shed') };
      setLoad(20);
      const e = executor([repair]);
      const before = await state();
      const report = await e.dryRun(repair, { member: 'm1' });
      expect(report).toMatchObject({ runbook: 'repair', ok: true, error: null, undo: 'derived' });
      expect(report.target).toEqual({ pool: 'web', member: 'm1' });
      expect(report.guards.map((g) => [g.guard, g.ok])).toEqual([
        ['target_sanity', true],
        ['quarantine', true],
        ['flap_budget', true],
        ['window', true],
        ['concurrency', true],
      ]);
      expect(report.steps.map((s) => s.action)).toEqual(['lb.drain', 'service.restart', 'lb.ready']);
      expect(report.steps[0]?.guards).toEqual([
        { guard: 'last_member', ok: true, detail: '3 other member(s) of web keep serving' },
        {
          guard: 'blast_radius',
          ok: true,
          detail: 'within the limit of 1 member(s) of 4 out at once with this one; none out now',
        },
        {
          guard: 'capacity',
          ok: true,
          detail: 'load 20, the rest carry 24 at 80% of capacity (10 per member)',
        },
      ]);

      // Over capacity: the capacity numbers, the fallback, and the blast radius with a member out.
      setLoad(26);
      const refused = await e.dryRun(repair, { member: 'm1' });
      expect(refused.ok).toBe(false);
      expect(refused.steps[0]?.guards.filter((g) => g.guard === 'capacity')).toEqual([
        {
          guard: 'capacity',
          ok: false,
          detail:
            'the remaining members cannot carry the load: load 26, the rest carry 24 at 80% of capacity (10 per member); it must keep weight 25 of 100',
        },
        {
          guard: 'capacity',
          ok: false,
          detail:
            "fallback: shed the member's weight down to 25 and wait for capacity until the step timeout, paging once",
        },
      ]);
      await maint('m3');
      const blast = await e.dryRun(repair, { member: 'm1' });
      expect(decision(blast.steps[0]?.guards ?? [], 'blast_radius')).toMatchObject({
        ok: false,
        detail: expect.stringContaining('out now: m3 (MAINT)') as string,
      });
      await lb.setAdminState('web', 'm3', 'ready');

      expect(await state()).toEqual(before);
      expect(await store.runs.list({})).toEqual([]);
      expect(await store.audit.list({})).toEqual([]);
      expect(notices).toEqual([]);
    });

    it('shows a spent flap budget without quarantining anything', async () => {
      const now = Date.now();
      for (let i = 0; i < 3; i++)
        await store.runs.create(
          {
            runbook: 'repair',
            incidentId: null,
            target: { pool: 'web', member: 'm1' },
            trigger: {},
            createdAt: now - 1000 + i,
            status: 'failed',
          },
          [],
        );
      const report = await executor([repair]).dryRun(repair, { member: 'm1' });
      expect(report.ok).toBe(false);
      expect(decision(report.guards, 'flap_budget')).toEqual({
        guard: 'flap_budget',
        ok: false,
        detail: '3 run(s) on this target in the last 60 min; the budget is 3',
      });
      expect(await store.quarantines.list({})).toEqual([]);
      expect((await member('m1')).admin).toBe('ready');
      expect(await store.audit.list({})).toEqual([]);
    });
  });
});
