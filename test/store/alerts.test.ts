import { describe, expect, it } from 'vitest';
import { alertFingerprint } from '../../src/core/index.js';
import { StoreInputError } from '../../src/store/index.js';
import type { AlertRow } from '../../src/store/index.js';
import { backends, useStore } from './backends.js';

function alert(rule: string, labels: Record<string, string>, over: Partial<AlertRow> = {}): AlertRow {
  return {
    fingerprint: alertFingerprint(rule, labels),
    rule,
    labels,
    annotations: { summary: `${rule} on ${labels.instance ?? '?'}` },
    state: 'pending',
    activeAt: 1000,
    firedAt: null,
    resolvedAt: null,
    lastValue: 0.5,
    updatedAt: 1000,
    ...over,
  };
}

describe.each(backends)('alerts on %s', (_dialect, factory) => {
  const ctx = useStore(factory, 'alerts');

  it('upserts: inserts, then replaces every field of the same fingerprint', async () => {
    const pending = alert('Down', { instance: 'web-1' }, { lastValue: Number.POSITIVE_INFINITY });
    await ctx.store.alerts.upsert(pending);
    expect(await ctx.store.alerts.get(pending.fingerprint)).toEqual(pending);

    const firing = {
      ...pending,
      state: 'firing' as const,
      firedAt: 2000,
      lastValue: 3.25,
      annotations: { summary: 'down', runbook: 'restart' },
      updatedAt: 2000,
    };
    await ctx.store.alerts.upsert(firing);
    expect(await ctx.store.alerts.get(pending.fingerprint)).toEqual(firing);
    const rows = await ctx.location.raw('select count(*) as n from alerts where fingerprint = ?', [
      pending.fingerprint,
    ]);
    expect(Number(rows[0]?.n)).toBe(1);
  });

  it('returns null for an unknown fingerprint and stores NaN as null', async () => {
    expect(await ctx.store.alerts.get('nope')).toBeNull();
    const a = alert('NaNRule', { instance: 'x' }, { lastValue: Number.NaN });
    await ctx.store.alerts.upsert(a);
    expect((await ctx.store.alerts.get(a.fingerprint))?.lastValue).toBeNull();
  });

  it('lists active alerts (pending and firing) oldest activation first, and filters the full list', async () => {
    const older = alert(
      'Active',
      { instance: 'a' },
      { state: 'firing', activeAt: 500, firedAt: 600, updatedAt: 5000 },
    );
    const newer = alert('Active', { instance: 'b' }, { state: 'pending', activeAt: 700, updatedAt: 5001 });
    const done = alert('Active', { instance: 'c' }, { state: 'resolved', resolvedAt: 800, updatedAt: 5002 });
    for (const a of [newer, done, older]) await ctx.store.alerts.upsert(a);

    const active = (await ctx.store.alerts.listActive()).filter((a) => a.rule === 'Active');
    expect(active.map((a) => a.labels.instance)).toEqual(['a', 'b']);
    expect((await ctx.store.alerts.listActive()).every((a) => a.state !== 'resolved')).toBe(true);

    const resolved = await ctx.store.alerts.list({ state: 'resolved' });
    expect(resolved.map((a) => a.fingerprint)).toContain(done.fingerprint);
    expect(resolved.every((a) => a.state === 'resolved')).toBe(true);

    const latest = await ctx.store.alerts.list({ limit: 2 });
    expect(latest.map((a) => a.fingerprint)).toEqual([done.fingerprint, newer.fingerprint]);
    const two = await ctx.store.alerts.list({ state: ['pending', 'resolved'] });
    expect(new Set(two.map((a) => a.state))).toEqual(new Set(['pending', 'resolved']));
    expect(await ctx.store.alerts.list({ state: [] })).toEqual([]);
  });

  it('deletes only resolved alerts resolved before the cut-off', async () => {
    const old = alert('Cleanup', { instance: 'old' }, { state: 'resolved', resolvedAt: 10_000 });
    const recent = alert('Cleanup', { instance: 'recent' }, { state: 'resolved', resolvedAt: 20_000 });
    const firing = alert('Cleanup', { instance: 'firing' }, { state: 'firing', firedAt: 1 });
    for (const a of [old, recent, firing]) await ctx.store.alerts.upsert(a);
    const before = (await ctx.store.alerts.list({ state: 'resolved' })).filter(
      (a) => a.resolvedAt !== null && a.resolvedAt < 15_000,
    ).length;
    expect(before).toBeGreaterThan(0);
    expect(await ctx.store.alerts.deleteResolvedBefore(15_000)).toBe(before);
    expect(await ctx.store.alerts.get(old.fingerprint)).toBeNull();
    expect(await ctx.store.alerts.get(recent.fingerprint)).not.toBeNull();
    expect(await ctx.store.alerts.get(firing.fingerprint)).not.toBeNull();
    expect(await ctx.store.alerts.deleteResolvedBefore(15_000)).toBe(0);
  });

  it('refuses a limit that is not a whole number from 1 to 10000', async () => {
    for (const limit of [0, -1, 1.5, 10_001, Number.NaN]) {
      await expect(ctx.store.alerts.list({ limit })).rejects.toThrow(StoreInputError);
    }
  });
});
