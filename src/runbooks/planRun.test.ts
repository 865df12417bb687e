import { describe, expect, it } from 'vitest';
import { runbookSchema } from '../config/index.js';
import { deriveUndo, planRun } from './planRun.js';

const base = {
  name: 'repair',
  trigger: { alert: 'Down' },
  target: { pool: '{{ $labels.pool }}', member: '{{ $labels.member }}' },
  steps: [{ action: 'lb.drain' }, { action: 'service.restart' }],
};
const labels = { alertname: 'Down', pool: 'web', member: 'web-2' };

describe('undo planning', () => {
  it('plans declared undo steps with the run’s target', () => {
    const plan = planRun(
      runbookSchema.parse({ ...base, undo: [{ action: 'lb.ready', with: { ramp: 'none' } }] }),
      labels,
    );
    expect(plan.ok && plan.undo).toEqual([
      {
        name: 'lb.ready web/web-2',
        action: 'lb.ready',
        timeoutMs: 120_000,
        params: { pool: 'web', member: 'web-2', ramp: 'none' },
      },
    ]);
  });

  it('leaves undo to derivation when the runbook declares none', () => {
    const plan = planRun(runbookSchema.parse(base), labels);
    expect(plan.ok && plan.undo).toBeNull();
  });

  it('rejects an empty undo list and a bad undo step with the field that is wrong', () => {
    const empty = runbookSchema.safeParse({ ...base, undo: [] });
    expect(empty.error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([
      ['undo', 'undo needs at least one step; leave it out to let swas derive the undo'],
    ]);
    const bad = runbookSchema.safeParse({
      ...base,
      undo: [{ action: 'lb.weight', with: { weight: 'ten' } }],
    });
    expect(bad.error?.issues[0]?.path.join('.')).toBe('undo.0.with.weight');
  });

  it('refuses to plan an undo step whose template comes out empty', () => {
    const plan = planRun(
      runbookSchema.parse({
        ...base,
        undo: [{ action: 'lb.ready', with: { member: '{{ $labels.other }}' } }],
      }),
      labels,
    );
    expect(plan).toEqual({
      ok: false,
      error: 'undo[0] (lb.ready): with.member: {{ $labels.other }} is empty: the alert has no label "other"',
    });
  });

  it('derives a restore to the state before the run first touched each member', () => {
    const steps = [
      {
        status: 'succeeded',
        result: { memberBefore: { pool: 'web', member: 'web-2', admin: 'ready', weight: 10 } },
      },
      {
        status: 'succeeded',
        result: { memberBefore: { pool: 'web', member: 'web-2', admin: 'drain', weight: 5 } },
      },
      {
        status: 'failed',
        result: { memberBefore: { pool: 'web', member: 'web-3', admin: 'maint', weight: 7 } },
      },
      {
        status: 'pending',
        result: { memberBefore: { pool: 'web', member: 'web-4', admin: 'ready', weight: 1 } },
      },
      { status: 'succeeded', result: { output: '' } },
    ];
    expect(deriveUndo(steps).map((s) => [s.name, s.params])).toEqual([
      ['undo: lb.weight web/web-2', { pool: 'web', member: 'web-2', weight: 10 }],
      ['undo: lb.ready web/web-2', { pool: 'web', member: 'web-2', ramp: 'slowstart' }],
      ['undo: lb.weight web/web-3', { pool: 'web', member: 'web-3', weight: 7 }],
      ['undo: lb.maint web/web-3', { pool: 'web', member: 'web-3' }],
      ['undo: lb.weight web/web-4', { pool: 'web', member: 'web-4', weight: 1 }],
      ['undo: lb.ready web/web-4', { pool: 'web', member: 'web-4', ramp: 'slowstart' }],
    ]);
  });

  it('derives nothing when the run touched no member', () => {
    expect(deriveUndo([{ status: 'failed', result: null }])).toEqual([]);
  });
});
