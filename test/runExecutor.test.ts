import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runbookSchema, type RunbookConfig } from '../src/config/index.js';
import type { HaproxyLoadBalancer } from '../src/lb/index.js';
import { EmbeddedPromqlQuery } from '../src/promql/index.js';
import { LocalServiceControl, RunExecutor, type RunEvent, type StepServices } from '../src/runbooks/index.js';
import { openStateStore, type StateStore } from '../src/store/index.js';
import { MemorySeriesStore } from '../src/tsdb/index.js';
import { startHttpBackend, type HttpBackend } from './support/backends.js';
import type { HaproxyProcess } from './support/haproxy.js';
import { freePort } from './support/ports.js';
import { eventually } from './support/swasServer.js';
import { makeTempDir } from './support/tmp.js';
import { defaultPoolGuard } from './support/poolGuard.js';
import { startWebPool } from './support/webPool.js';

const logger = pino({ level: 'silent' });

function runbook(yaml: Record<string, unknown>): RunbookConfig {
  return runbookSchema.parse({
    name: 'repair',
    trigger: { alert: 'Down' },
    target: { pool: '{{ $labels.pool }}', member: '{{ $labels.member }}' },
    ...yaml,
  });
}

const repair = runbook({
  steps: [
    { action: 'lb.drain', timeout: '5s' },
    { action: 'service.restart', timeout: '5s' },
    {
      action: 'wait.until',
      timeout: '20s',
      with: { expr: 'repaired{member="{{ $target.member }}"} == 1', interval: '100ms' },
    },
    { action: 'lb.ready', timeout: '20s', with: { ramp: 'slowstart' } },
  ],
});

describe('RunExecutor against real HAProxy and a real store', () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let haproxy: HaproxyProcess;
  let backends: HttpBackend[];
  let lb: HaproxyLoadBalancer;
  let store: StateStore;
  let series: MemorySeriesStore;
  let services: StepServices;
  let events: RunEvent[];

  beforeAll(async () => {
    tmp = await makeTempDir('executor');
    backends = [await startHttpBackend('m1'), await startHttpBackend('m2')];
    const frontend = await freePort();
    ({ haproxy, lb } = await startWebPool(
      tmp.dir,
      [{ name: 'web', servers: backends, serverDefaults: 'check inter 100ms rise 1 fall 1 slowstart 2s' }],
      frontend,
    ));
    store = await openStateStore({ dataDir: join(tmp.dir, 'data') });
    series = new MemorySeriesStore();
    services = {
      lbs: { forPool: (pool) => (pool === 'web' ? lb : null) },
      services: new LocalServiceControl({
        m1: { restart: ['/bin/true'], timeoutMs: 5000 },
        m2: { restart: ['/bin/sh', '-c', 'echo disk full >&2; exit 3'], timeoutMs: 5000 },
      }),
      query: EmbeddedPromqlQuery.create({ reader: series }),
      audit: { record: (entry) => store.audit.append({ ...entry, at: Date.now() }).then(() => undefined) },
      now: Date.now,
      pollMs: 50,
      poolGuard: defaultPoolGuard(EmbeddedPromqlQuery.create({ reader: series })),
    };
    await eventually('members up', async () =>
      (await lb.listMembers('web')).every((m) => m.operational === 'up'),
    );
  }, 30_000);

  beforeEach(async () => {
    events = [];
    for (const m of ['m1', 'm2']) await lb.setAdminState('web', m, 'ready');
  });

  afterAll(async () => {
    await store?.close();
    await haproxy?.stop();
    for (const b of backends ?? []) await b.stop();
    await tmp?.remove();
  });

  const executor = () => {
    const e = RunExecutor.create({
      runs: store.runs,
      quarantines: store.quarantines,
      services,
      observer: (ev) => {
        events.push(ev);
        return Promise.resolve();
      },
      logger,
      abortGraceMs: 500,
    });
    e.setRunbooks([repair]);
    return e;
  };
  const finished = (runId: string) =>
    eventually(`run ${runId} to finish`, async () => {
      const run = (await store.runs.get(runId))?.run;
      return run && ['succeeded', 'failed'].includes(run.status) ? run : null;
    });

  it('drains, restarts, waits, and re-adds with slow start; every action is audited', async () => {
    const started = await executor().start(repair, {
      labels: { alertname: 'Down', pool: 'web', member: 'm1' },
      incidentId: null,
      trigger: {},
    });
    if (!started.started) throw new Error(started.reason);
    await eventually(
      'the member to be drained',
      async () => (await lb.getMember('web', 'm1')).admin === 'drain',
    );
    series.append({ __name__: 'repaired', member: 'm1' }, Date.now(), 1);
    const run = await finished(started.run.id);
    expect(run.status).toBe('succeeded');
    const { steps } = (await store.runs.get(run.id)) ?? { steps: [] };
    expect(steps.map((s) => s.status)).toEqual(['succeeded', 'succeeded', 'succeeded', 'succeeded']);
    expect((steps[3]?.result as { throttle: number[] }).throttle.length).toBeGreaterThan(0);
    expect(await lb.getMember('web', 'm1')).toMatchObject({ admin: 'ready', operational: 'up' });
    const audit = (await store.audit.list({}))
      .filter((a) => a.actor === `run:${run.id}`)
      .map((a) => a.action);
    expect(audit).toEqual(['lb.drain', 'service.restart', 'lb.maint', 'lb.ready']);
    expect(events.map((e) => e.type)).toEqual([
      'run.started',
      ...Array<string>(4)
        .fill('step.started')
        .flatMap((s) => [s, 'step.finished']),
      'run.finished',
    ]);
  });

  it('parks a run on shutdown and resumes it after a restart; the member does not stay drained', async () => {
    series.append({ __name__: 'repaired', member: 'm1' }, Date.now(), 0);
    const first = executor();
    const started = await first.start(repair, {
      labels: { alertname: 'Down', pool: 'web', member: 'm1', other: 'x' },
      incidentId: null,
      trigger: {},
    });
    if (!started.started) throw new Error(started.reason);
    await eventually(
      'the wait step to run',
      async () => (await store.runs.get(started.run.id))?.run.currentStep === 2,
    );
    await first.shutdown(100);
    const parked = await store.runs.get(started.run.id);
    expect(parked?.run.status).toBe('parked');
    expect(parked?.steps.map((s) => s.status)).toEqual(['succeeded', 'succeeded', 'pending', 'pending']);
    expect((await lb.getMember('web', 'm1')).admin).toBe('drain');

    series.append({ __name__: 'repaired', member: 'm1' }, Date.now(), 1);
    const second = executor();
    expect(await second.resumeUnfinished()).toBe(1);
    expect((await finished(started.run.id)).status).toBe('succeeded');
    expect(events.map((e) => e.type)).toContain('run.resumed');
    expect((await lb.getMember('web', 'm1')).admin).toBe('ready');
  });

  it('resumes a run a crash left running, from the step that did not finish', async () => {
    // What a kill -9 during step 2 leaves behind: step 1 done, step 2 marked running.
    await lb.setAdminState('web', 'm1', 'drain');
    const { run } = await store.runs.create(
      {
        runbook: 'repair',
        incidentId: null,
        target: { pool: 'web', member: 'm1' },
        trigger: {},
        createdAt: Date.now(),
        status: 'running',
        startedAt: Date.now(),
        currentStep: 1,
      },
      [
        {
          name: 'drain',
          action: 'lb.drain',
          params: { pool: 'web', member: 'm1', on_timeout: 'continue', timeout_ms: 5000 },
          status: 'succeeded',
        },
        {
          name: 'restart',
          action: 'service.restart',
          params: { service: 'm1', timeout_ms: 5000 },
          status: 'running',
          startedAt: Date.now(),
        },
        {
          name: 'ready',
          action: 'lb.ready',
          params: { pool: 'web', member: 'm1', ramp: 'none', timeout_ms: 10000 },
        },
      ],
    );
    await executor().resumeUnfinished();
    expect((await finished(run.id)).status).toBe('succeeded');
    expect((await lb.getMember('web', 'm1')).admin).toBe('ready');
  });

  it('allows one run per target at a time', async () => {
    const e = executor();
    const labels = { alertname: 'Down', pool: 'web', member: 'm2' };
    const [a, b] = await Promise.all([
      e.start(repair, { labels, incidentId: null, trigger: {} }),
      e.start(repair, { labels, incidentId: null, trigger: {} }),
    ]);
    expect([a.started, b.started].sort()).toEqual([false, true]);
    const refused = a.started ? b : a;
    expect(refused.started ? '' : refused.reason).toContain('already acting on web/m2');
    await e.shutdown(100);
    const winner = a.started ? a : b;
    if (winner.started) await store.runs.update(winner.run.id, { status: 'cancelled' });
  });

  it('refuses to plan a run whose target would be empty, before acting', async () => {
    const result = await executor().start(repair, {
      labels: { alertname: 'Down', pool: 'web' },
      incidentId: null,
      trigger: {},
    });
    expect(result).toEqual({
      started: false,
      reason:
        'run not planned: target.member: {{ $labels.member }} is empty: the alert has no label "member"',
      escalate: true,
    });
    expect((await lb.getMember('web', 'm1')).admin).toBe('ready');
  });

  it('fails the run with the command output when a service command fails, undoes the drain and asks to escalate', async () => {
    const started = await executor().start(repair, {
      labels: { alertname: 'Down', pool: 'web', member: 'm2' },
      incidentId: null,
      trigger: {},
    });
    if (!started.started) throw new Error(started.reason);
    const run = await finished(started.run.id);
    expect(run.status).toBe('failed');
    expect(run.error).toBe(
      'step 2 (service.restart m2) failed: restart of m2 failed: /bin/sh -c echo disk full >&2; exit 3 exited with code 3; undone (2 undo steps succeeded)',
    );
    const { steps } = (await store.runs.get(run.id)) ?? { steps: [] };
    expect(steps[1]?.result).toMatchObject({ output: 'disk full\n' });
    expect(steps.slice(2, 4).map((s) => s.status)).toEqual(['pending', 'pending']);
    expect(events.find((e) => e.type === 'run.finished')).toMatchObject({ escalate: true });
    // The derived undo put the member back where the run found it.
    expect((await lb.getMember('web', 'm2')).admin).toBe('ready');
  });
});
