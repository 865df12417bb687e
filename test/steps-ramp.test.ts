import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runbookSchema } from '../src/config/index.js';
import type { HaproxyLoadBalancer } from '../src/lb/index.js';
import { EmbeddedPromqlQuery } from '../src/promql/index.js';
import { LocalServiceControl, RunExecutor, type StepServices } from '../src/runbooks/index.js';
import { STEP_HANDLERS, type StepContext } from '../src/runbooks/steps/index.js';
import { openStateStore, type StateStore } from '../src/store/index.js';
import { MemorySeriesStore } from '../src/tsdb/index.js';
import { startHttpBackend, type HttpBackend } from './support/backends.js';
import type { HaproxyProcess } from './support/haproxy.js';
import { eventually } from './support/swasServer.js';
import { defaultPoolGuard } from './support/poolGuard.js';
import { makeTempDir } from './support/tmp.js';
import { startWebPool } from './support/webPool.js';

const logger = pino({ level: 'silent' });
const CHECK = (member: string) => `backend_error_ratio{member="${member}"} < 0.05`;

describe('lb.ready weight ramp verified by a PromQL check, against real HAProxy', () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let haproxy: HaproxyProcess;
  let backends: HttpBackend[];
  let lb: HaproxyLoadBalancer;
  let store: StateStore;
  let series: MemorySeriesStore;
  let services: StepServices;
  let stopFeeding: () => Promise<void>;
  // The weight from which a member "breaks": its error ratio goes up once HAProxy gives it this much.
  const breaksAt: Record<string, number> = {};

  beforeAll(async () => {
    tmp = await makeTempDir('ramp');
    backends = [await startHttpBackend('m1'), await startHttpBackend('m2')];
    ({ haproxy, lb } = await startWebPool(tmp.dir, [
      { name: 'web', servers: backends, serverDefaults: 'check inter 100ms rise 1 fall 1 weight 100' },
    ]));
    store = await openStateStore({ dataDir: join(tmp.dir, 'data') });
    series = new MemorySeriesStore();
    const query = EmbeddedPromqlQuery.create({ reader: series });
    services = {
      lbs: { forPool: (pool) => (pool === 'web' ? lb : null) },
      services: new LocalServiceControl({}),
      query,
      poolGuard: defaultPoolGuard(query),
      audit: { record: (entry) => store.audit.append({ ...entry, at: Date.now() }).then(() => undefined) },
      now: Date.now,
      pollMs: 20,
    };
    stopFeeding = feedErrorRatios();
    await eventually('members up', async () =>
      (await lb.listMembers('web')).every((m) => m.operational === 'up'),
    );
  }, 30_000);

  beforeEach(async () => {
    for (const m of ['m1', 'm2']) {
      breaksAt[m] = Infinity;
      await lb.setAdminState('web', m, 'ready');
      await lb.setWeight('web', m, 100);
    }
  });

  afterAll(async () => {
    await stopFeeding?.();
    await store?.close();
    await haproxy?.stop();
    for (const b of backends ?? []) await b.stop();
    await tmp?.remove();
  });

  // Like a scrape of each member's error ratio, driven by the weight HAProxy really gives it right now.
  function feedErrorRatios(): () => Promise<void> {
    let stopped = false;
    const loop = async (): Promise<void> => {
      while (!stopped) {
        for (const m of await lb.listMembers('web')) {
          const ratio = m.weight >= (breaksAt[m.name] ?? Infinity) ? 0.3 : 0.01;
          series.append({ __name__: 'backend_error_ratio', member: m.name }, Date.now(), ratio);
        }
        await new Promise((resolve) => setTimeout(resolve, 15));
      }
    };
    const done = loop();
    return async () => {
      stopped = true;
      await done;
    };
  }

  // Records each weight HAProxy reports for a member, in order, until stopped.
  function watchWeights(member: string): () => Promise<number[]> {
    const seen: number[] = [];
    let stopped = false;
    const loop = (async () => {
      while (!stopped) {
        const { weight } = await lb.getMember('web', member);
        if (seen.at(-1) !== weight) seen.push(weight);
        await new Promise((resolve) => setTimeout(resolve, 15));
      }
    })();
    return async () => {
      stopped = true;
      await loop;
      const { weight } = await lb.getMember('web', member);
      if (seen.at(-1) !== weight) seen.push(weight);
      return seen;
    };
  }

  function ctx(timeoutMs: number): StepContext {
    return {
      ...services,
      actor: 'run:ramp-test',
      runbook: 'ramp-test',
      undo: false,
      memberBefore: null,
      signal: new AbortController().signal,
      deadline: Date.now() + timeoutMs,
    };
  }

  const ready = (member: string, check: string) =>
    STEP_HANDLERS['lb.ready'](ctx(20_000), {
      pool: 'web',
      member,
      ramp: { weights: [10, 25, 50], interval: 300, check },
    });

  it('walks 10 → 25 → 50 → 100 while the check holds at every weight, the last included', async () => {
    await lb.setAdminState('web', 'm1', 'maint');
    const stop = watchWeights('m1');
    const outcome = await ready('m1', CHECK('m1'));
    const seen = await stop();

    expect(outcome).toMatchObject({ ok: true, result: { weights: [10, 25, 50, 100] } });
    expect(seen).toEqual([100, 10, 25, 50, 100]);
    const checks = (outcome.ok ? outcome.result.checks : []) as {
      weight: number;
      ok: boolean;
      detail: string;
    }[];
    expect(checks.map((c) => [c.weight, c.ok])).toEqual([
      [10, true],
      [25, true],
      [50, true],
      [100, true],
    ]);
    expect(checks[3]?.detail).toContain('{__name__="backend_error_ratio", member="m1"} = 0.01');
    expect(await lb.getMember('web', 'm1')).toMatchObject({ admin: 'ready', operational: 'up', weight: 100 });
  });

  it('backs off to the first weight and fails, naming where it regressed and what the check saw', async () => {
    await lb.setAdminState('web', 'm1', 'maint');
    breaksAt.m1 = 50;
    const stop = watchWeights('m1');
    const outcome = await ready('m1', CHECK('m1'));
    const seen = await stop();

    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    expect(outcome.error).toBe(
      'web/m1 regressed at weight 50 (50% of 100): ramp check `backend_error_ratio{member="m1"} < 0.05` ' +
        'did not hold (empty vector (condition false)); backed off to weight 10',
    );
    expect(seen).toEqual([100, 10, 25, 50, 10]);
    expect(outcome.result).toMatchObject({
      weights: [10, 25, 50],
      checks: [
        { weight: 10, ok: true },
        { weight: 25, ok: true },
        { weight: 50, ok: false, detail: 'empty vector (condition false)' },
      ],
    });
    expect((await lb.getMember('web', 'm1')).weight).toBe(10);
    const backOff = (await store.audit.list({})).filter(
      (a) => a.action === 'lb.weight' && a.reason?.includes('backing off') === true,
    );
    expect(backOff.at(-1)).toMatchObject({
      actor: 'run:ramp-test',
      target: 'web/m1',
      before: { weight: 50 },
      after: { weight: 10 },
      reason: 'runbook ramp-test: ramp check failed at weight 50, backing off',
    });
  });

  it('fails on a query error at the first weight and ramps no further', async () => {
    await lb.setAdminState('web', 'm1', 'maint');
    const stop = watchWeights('m1');
    const outcome = await ready('m1', 'backend_error_ratio{member="m1"} <');
    const seen = await stop();

    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    expect(outcome.error).toMatch(
      /^web\/m1 regressed at weight 10 \(10% of 100\): ramp check `backend_error_ratio\{member="m1"\} <` did not hold \(query error: .+\); backed off to weight 10$/,
    );
    expect(seen).toEqual([100, 10]);
    expect(outcome.result).toMatchObject({ weights: [10], checks: [{ weight: 10, ok: false }] });
  });

  it('through the RunExecutor: the run fails on the regression and its undo restores the member', async () => {
    await lb.setWeight('web', 'm2', 80);
    breaksAt.m2 = 50;
    const repair = runbookSchema.parse({
      name: 'repair',
      trigger: { alert: 'Down' },
      target: { pool: '{{ $labels.pool }}', member: '{{ $labels.member }}' },
      steps: [
        { action: 'lb.drain', timeout: '5s' },
        {
          action: 'lb.ready',
          timeout: '20s',
          with: {
            ramp: {
              weights: [10, 25, 50],
              interval: '300ms',
              check: 'backend_error_ratio{member="{{ $target.member }}"} < 0.05',
            },
          },
        },
      ],
    });
    const executor = RunExecutor.create({
      runs: store.runs,
      quarantines: store.quarantines,
      services,
      observer: () => Promise.resolve(),
      logger,
      abortGraceMs: 500,
    });
    executor.setRunbooks([repair]);
    const started = await executor.start(repair, {
      labels: { alertname: 'Down', pool: 'web', member: 'm2' },
      incidentId: null,
      trigger: {},
    });
    if (!started.started) throw new Error(started.reason);
    const run = await eventually('the run to finish', async () => {
      const r = (await store.runs.get(started.run.id))?.run;
      return r && ['succeeded', 'failed'].includes(r.status) ? r : null;
    });

    expect(run.status).toBe('failed');
    expect(run.error).toContain(
      'failed: web/m2 regressed at weight 50 (50% of 100): ramp check `backend_error_ratio{member="m2"} < 0.05`',
    );
    expect(run.error).toContain('backed off to weight 10; undone (2 undo steps succeeded)');
    const { steps } = (await store.runs.get(run.id)) ?? { steps: [] };
    expect(steps.map((s) => s.status)).toEqual(['succeeded', 'failed', 'succeeded', 'succeeded']);
    // Never reached full weight; backed off, then the undo put back the weight it had before the run.
    const weights = (await store.audit.list({}))
      .filter((a) => a.actor === `run:${run.id}` && a.action === 'lb.weight')
      .map((a) => (a.after as { weight: number }).weight);
    expect(weights).toEqual([10, 25, 50, 10, 80]);
    expect(await lb.getMember('web', 'm2')).toMatchObject({ admin: 'ready', weight: 80 });
  });
});
