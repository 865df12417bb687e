import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { IncidentNotFoundError, RunIdConflictError, StoreInputError } from '../../src/store/index.js';
import type { NewRun, NewRunStep, StepStatus } from '../../src/store/index.js';
import { backends, useStore } from './backends.js';

const baseRun: NewRun = {
  runbook: 'restart-web',
  incidentId: null,
  target: { pool: 'web', member: 'web-2' },
  trigger: { alert: 'HighLatency', value: 2.5, labels: { instance: 'web-2' } },
  createdAt: 1000,
};
const baseSteps: NewRunStep[] = [
  { name: 'drain', action: 'lb.drain', params: { timeout: '60s' } },
  { name: 'restart', action: 'service.restart', params: { unit: 'app.service', retries: 2 } },
  { name: 're-add', action: 'lb.ready', params: {}, status: 'skipped' },
];

describe.each(backends)('runs on %s', (_dialect, factory) => {
  const ctx = useStore(factory, 'runs');

  it('creates a run with its steps and reads them back', async () => {
    const created = await ctx.store.runs.create(baseRun, baseSteps);
    expect(created.run).toEqual({
      ...baseRun,
      id: created.run.id,
      status: 'pending',
      startedAt: null,
      finishedAt: null,
      error: null,
      currentStep: 0,
    });
    expect(created.run.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(created.steps).toEqual([
      {
        ...baseSteps[0],
        runId: created.run.id,
        index: 0,
        status: 'pending',
        startedAt: null,
        endedAt: null,
        result: null,
        error: null,
      },
      {
        ...baseSteps[1],
        runId: created.run.id,
        index: 1,
        status: 'pending',
        startedAt: null,
        endedAt: null,
        result: null,
        error: null,
      },
      {
        ...baseSteps[2],
        runId: created.run.id,
        index: 2,
        status: 'skipped',
        startedAt: null,
        endedAt: null,
        result: null,
        error: null,
      },
    ]);
    expect(await ctx.store.runs.get(created.run.id)).toEqual(created);
    expect(await ctx.store.runs.get(randomUUID())).toBeNull();
  });

  it('accepts a caller-chosen id once and links runs to incidents', async () => {
    const inc = await ctx.store.incidents.open(
      { key: 'runs', title: 'r', severity: 'warning', labels: {} },
      1,
    );
    const id = randomUUID();
    const created = await ctx.store.runs.create(
      { ...baseRun, id, incidentId: inc.id, status: 'running' },
      [],
    );
    expect(created).toEqual({
      run: expect.objectContaining({ id, incidentId: inc.id, status: 'running' }) as unknown,
      steps: [],
    });
    await expect(ctx.store.runs.create({ ...baseRun, id }, [])).rejects.toThrow(RunIdConflictError);
    await expect(ctx.store.runs.create({ ...baseRun, id }, [])).rejects.toMatchObject({
      code: 'SWAS-STORE-007',
    });
    await expect(ctx.store.runs.create({ ...baseRun, incidentId: 777_777 }, [])).rejects.toThrow(
      IncidentNotFoundError,
    );
  });

  it('creates a run and its steps atomically: a bad step leaves no run behind', async () => {
    const id = randomUUID();
    const bad = [...baseSteps, { name: 'x', action: 'noop', params: {}, status: 'exploded' as StepStatus }];
    await expect(ctx.store.runs.create({ ...baseRun, id }, bad)).rejects.toThrow();
    expect(await ctx.store.runs.get(id)).toBeNull();
    const orphans = await ctx.location.raw('select count(*) as n from run_steps where run_id = ?', [id]);
    expect(Number(orphans[0]?.n)).toBe(0);
  });

  it('updates runs and steps, returning null for unknown ones', async () => {
    const { run } = await ctx.store.runs.create(baseRun, baseSteps);
    const started = await ctx.store.runs.update(run.id, {
      status: 'running',
      startedAt: 2000,
      currentStep: 1,
    });
    expect(started).toEqual({ ...run, status: 'running', startedAt: 2000, currentStep: 1 });
    expect(await ctx.store.runs.update(run.id, {})).toEqual(started);
    const failed = await ctx.store.runs.update(run.id, {
      status: 'failed',
      finishedAt: 3000,
      error: 'timeout',
    });
    expect(failed).toMatchObject({ status: 'failed', finishedAt: 3000, error: 'timeout', startedAt: 2000 });
    expect(await ctx.store.runs.update(randomUUID(), { status: 'failed' })).toBeNull();

    const step = await ctx.store.runs.updateStep(run.id, 1, {
      status: 'succeeded',
      startedAt: 2100,
      endedAt: 2200,
      result: { exitCode: 0, output: ['ok'], nested: { a: 1 } },
    });
    expect(step).toMatchObject({
      index: 1,
      name: 'restart',
      status: 'succeeded',
      startedAt: 2100,
      endedAt: 2200,
      result: { exitCode: 0, output: ['ok'], nested: { a: 1 } },
      error: null,
    });
    expect(await ctx.store.runs.updateStep(run.id, 1, {})).toEqual(step);
    const cleared = await ctx.store.runs.updateStep(run.id, 1, { result: null, error: 'retried' });
    expect(cleared).toMatchObject({ result: null, error: 'retried' });
    expect(await ctx.store.runs.updateStep(run.id, 9, { status: 'failed' })).toBeNull();
    expect((await ctx.store.runs.get(run.id))?.steps[1]).toEqual(cleared);
  });

  it('lists newest first with filters, and unfinished runs oldest first', async () => {
    const inc = await ctx.store.incidents.open({ key: 'list', title: 'l', severity: 'info', labels: {} }, 1);
    const statuses = ['pending', 'running', 'parked', 'succeeded', 'failed', 'cancelled'] as const;
    const made = [];
    for (const [i, status] of statuses.entries()) {
      made.push(
        (await ctx.store.runs.create({ ...baseRun, status, incidentId: inc.id, createdAt: 50_000 + i }, []))
          .run,
      );
    }
    const byIncident = await ctx.store.runs.list({ incidentId: inc.id });
    expect(byIncident.map((r) => r.status)).toEqual([...statuses].reverse());
    expect(await ctx.store.runs.list({ incidentId: inc.id, limit: 2 })).toEqual([made[5], made[4]]);
    const parked = await ctx.store.runs.list({ status: 'parked', incidentId: inc.id });
    expect(parked).toEqual([made[2]]);
    const done = await ctx.store.runs.list({ status: ['succeeded', 'failed'], limit: 10_000 });
    expect(done.every((r) => r.status === 'succeeded' || r.status === 'failed')).toBe(true);
    expect(await ctx.store.runs.list({ status: [] })).toEqual([]);
    const latest = await ctx.store.runs.list();
    expect(latest[0]).toEqual(made[5]);

    const unfinished = await ctx.store.runs.listUnfinished();
    expect(unfinished.every((r) => ['pending', 'running', 'parked'].includes(r.status))).toBe(true);
    const mine = unfinished.filter((r) => r.incidentId === inc.id);
    expect(mine).toEqual([made[0], made[1], made[2]]);
    const times = unfinished.map((r) => r.createdAt);
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });

  it('lists only runs created at or after `since`, with the other filters', async () => {
    const inc = await ctx.store.incidents.open({ key: 'since', title: 's', severity: 'info', labels: {} }, 1);
    const at = async (createdAt: number, status: 'pending' | 'failed' = 'failed') =>
      (await ctx.store.runs.create({ ...baseRun, incidentId: inc.id, createdAt, status }, [])).run;
    const old = await at(70_000);
    const edge = await at(71_000);
    const inWindow = await at(72_000, 'pending');
    const latest = await at(73_000);

    const mine = { incidentId: inc.id };
    expect(await ctx.store.runs.list({ ...mine, since: 71_000 })).toEqual([latest, inWindow, edge]);
    expect(await ctx.store.runs.list({ ...mine, since: 71_001 })).toEqual([latest, inWindow]);
    expect(await ctx.store.runs.list({ ...mine, since: 0 })).toEqual([latest, inWindow, edge, old]);
    expect(await ctx.store.runs.list({ ...mine, since: 73_001 })).toEqual([]);
    expect(await ctx.store.runs.list({ ...mine, since: 71_000, status: 'failed' })).toEqual([latest, edge]);
    expect(await ctx.store.runs.list({ ...mine, since: 70_000, limit: 1 })).toEqual([latest]);
    await expect(ctx.store.runs.list({ since: Number.NaN })).rejects.toThrow(
      /runs.list: since NaN is not a time/,
    );
    await expect(ctx.store.runs.list({ since: 1.5 })).rejects.toThrow(StoreInputError);
  });
});
