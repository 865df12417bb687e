import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runbookSchema, type PoolGuardsConfig, type RunbookConfig } from '../src/config/index.js';
import type { HaproxyLoadBalancer } from '../src/lb/index.js';
import { EmbeddedPromqlQuery } from '../src/promql/index.js';
import { LocalServiceControl, RunExecutor, type StepServices } from '../src/runbooks/index.js';
import { openStateStore, type AuditEntry, type StateStore } from '../src/store/index.js';
import { MemorySeriesStore } from '../src/tsdb/index.js';
import { startHttpBackend, type HttpBackend } from './support/backends.js';
import type { HaproxyProcess } from './support/haproxy.js';
import { defaultPoolGuard } from './support/poolGuard.js';
import { eventually } from './support/swasServer.js';
import { makeTempDir } from './support/tmp.js';
import { startWebPool } from './support/webPool.js';

const logger = pino({ level: 'silent' });
const MEMBERS = ['m1', 'm2', 'm3'];
const OUT_ACTIONS = new Set(['lb.drain', 'lb.maint']);

/** The rolling restart of the brief: drain, restart, re-add, verify, member after member. */
function rollingRestart(batch: number | string): RunbookConfig {
  return runbookSchema.parse({
    name: 'rolling-restart',
    trigger: { manual: true },
    rolling: { pool: 'web', batch },
    guards: { max_targets: 5 },
    steps: [
      { action: 'lb.drain', timeout: '2s' },
      { action: 'service.restart', timeout: '5s' },
      { action: 'lb.ready', timeout: '10s', with: { ramp: 'none' } },
      {
        action: 'verify',
        timeout: '5s',
        with: { expr: 'healthy{member="{{ $target.member }}"} == 1', for: '300ms', interval: '100ms' },
      },
    ],
  });
}

/**
 * Replays load-balancer actions from the audit log in order: the most members out of rotation at
 * once, and the order in which members were first acted on.
 */
function replay(entries: readonly AuditEntry[]): { maxOut: number; order: string[] } {
  const out = new Set<string>();
  const order: string[] = [];
  let maxOut = 0;
  for (const entry of entries) {
    const member = entry.target.replace(/^web\//, '');
    if (!order.includes(member)) order.push(member);
    if (OUT_ACTIONS.has(entry.action)) out.add(member);
    if (entry.action === 'lb.ready') out.delete(member);
    maxOut = Math.max(maxOut, out.size);
  }
  return { maxOut, order };
}

describe('rolling runs across a pool, against real HAProxy', () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let haproxy: HaproxyProcess;
  let backends: HttpBackend[];
  let lb: HaproxyLoadBalancer;
  let store: StateStore;
  let series: MemorySeriesStore;
  let pools: Record<string, PoolGuardsConfig>;
  let testNo = 0;

  beforeAll(async () => {
    tmp = await makeTempDir('rolling');
    backends = [];
    for (const m of MEMBERS) backends.push(await startHttpBackend(m));
    ({ haproxy, lb } = await startWebPool(tmp.dir, [
      { name: 'web', servers: backends, serverDefaults: 'check inter 100ms rise 1 fall 2 weight 100' },
    ]));
  }, 30_000);

  beforeEach(async () => {
    for (const m of MEMBERS) {
      await lb.setAdminState('web', m, 'ready');
      await lb.setWeight('web', m, 100);
    }
    await eventually('every member up', async () =>
      (await lb.listMembers('web')).every((m) => m.operational === 'up'),
    );
    store = await openStateStore({ dataDir: join(tmp.dir, `data-${++testNo}`) });
    series = new MemorySeriesStore();
    for (const m of MEMBERS) series.append({ __name__: 'healthy', member: m }, Date.now(), 1);
    pools = { web: { max_out: 1 } };
  });

  afterEach(async () => {
    await store?.close();
  });

  afterAll(async () => {
    await haproxy?.stop();
    for (const b of backends ?? []) await b.stop();
    await tmp?.remove();
  });

  /** Runs the runbook to its end; `failing` members' restart command exits 3. */
  async function roll(rb: RunbookConfig, failing: readonly string[] = []) {
    const query = EmbeddedPromqlQuery.create({ reader: series });
    const services: StepServices = {
      lbs: { forPool: (pool) => (pool === 'web' ? lb : null) },
      services: new LocalServiceControl(
        Object.fromEntries(
          MEMBERS.map((m) => [
            m,
            {
              restart: failing.includes(m)
                ? ['/bin/sh', '-c', 'echo will not start >&2; exit 3']
                : ['/bin/true'],
              timeoutMs: 5000,
            },
          ]),
        ),
      ),
      query,
      audit: { record: (entry) => store.audit.append({ ...entry, at: Date.now() }).then(() => undefined) },
      now: Date.now,
      pollMs: 20,
      poolGuard: defaultPoolGuard(query, pools),
    };
    const executor = RunExecutor.create({
      runs: store.runs,
      quarantines: store.quarantines,
      services,
      observer: () => Promise.resolve(),
      logger,
      abortGraceMs: 500,
    });
    executor.setRunbooks([rb]);
    const started = await executor.start(rb, { labels: {}, incidentId: null, trigger: {} });
    if (!started.started) throw new Error(`the rolling run was refused: ${started.reason}`);
    const run = await eventually('the rolling run to finish', async () => {
      const r = (await store.runs.get(started.run.id))?.run;
      return r && ['succeeded', 'failed'].includes(r.status) ? r : null;
    });
    const audit = (await store.audit.list({})).filter((a) => a.actor === `run:${run.id}`);
    return { run, audit, lbAudit: audit.filter((a) => a.action.startsWith('lb.')) };
  }

  it('restarts every member, one at a time, each drained, restarted, re-added and verified', async () => {
    const { run, audit, lbAudit } = await roll(rollingRestart(1));
    expect(run.status).toBe('succeeded');
    expect(run.target).toEqual({ pool: 'web', members: 'm1,m2,m3' });
    expect(audit.map((a) => `${a.action} ${a.target}`)).toEqual(
      MEMBERS.flatMap((m) => [`lb.drain web/${m}`, `service.restart ${m}`, `lb.ready web/${m}`]),
    );
    expect(replay(lbAudit)).toEqual({ maxOut: 1, order: MEMBERS });
    const steps = (await store.runs.get(run.id))?.steps ?? [];
    expect(steps).toHaveLength(12);
    expect(steps.every((s) => s.status === 'succeeded')).toBe(true);
    expect((await lb.listMembers('web')).map((m) => [m.admin, m.weight])).toEqual(
      MEMBERS.map(() => ['ready', 100]),
    );
  });

  it('with batch 67% acts on two members at once (max_out 2)', async () => {
    pools.web = { max_out: 2 };
    const { run, lbAudit } = await roll(rollingRestart('67%'));
    expect(run.status).toBe('succeeded');
    expect(replay(lbAudit)).toEqual({ maxOut: 2, order: MEMBERS });
    // m1 and m2 go out together; m3 only after both are back.
    expect(lbAudit.map((a) => `${a.action} ${a.target}`)).toEqual([
      'lb.drain web/m1',
      'lb.drain web/m2',
      'lb.ready web/m1',
      'lb.ready web/m2',
      'lb.drain web/m3',
      'lb.ready web/m3',
    ]);
  });

  it('halts on a failed restart: restores that member, never touches the next, keeps the done ones ready', async () => {
    await lb.setWeight('web', 'm2', 80);
    const { run, audit } = await roll(rollingRestart(1), ['m2']);
    expect(run.status).toBe('failed');
    expect(run.error).toMatch(
      /^step 6 \(m2: service\.restart m2\) failed: restart of m2 failed: .*exited with code 3; undone \(\d+ undo steps succeeded\)$/,
    );
    expect(await lb.getMember('web', 'm2')).toMatchObject({ admin: 'ready', weight: 80, operational: 'up' });
    expect(audit.filter((a) => a.target === 'web/m3' || a.target === 'm3')).toEqual([]);
    expect(await lb.getMember('web', 'm3')).toMatchObject({ admin: 'ready', weight: 100 });
    expect(await lb.getMember('web', 'm1')).toMatchObject({ admin: 'ready', weight: 100 });
    // After m1's three actions, only m2 is touched: drained, restart failed, put back by the undo.
    expect(
      audit.slice(3).map((a) => `${a.action} ${a.target} ${a.result === 'ok' ? 'ok' : 'error'}`),
    ).toEqual(['lb.drain web/m2 ok', 'service.restart m2 error', 'lb.maint web/m2 ok', 'lb.ready web/m2 ok']);
  });
});
