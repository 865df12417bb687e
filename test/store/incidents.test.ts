import { describe, expect, it } from 'vitest';
import { ConflictError } from '../../src/core/index.js';
import { IncidentKeyConflictError, StoreInputError } from '../../src/store/index.js';
import type { Incident } from '../../src/store/index.js';
import { backends, useStore } from './backends.js';

describe.each(backends)('incidents on %s', (_dialect, factory) => {
  const ctx = useStore(factory, 'incidents');
  const open = (key: string, nowMs = 1000) =>
    ctx.store.incidents.open(
      { key, title: `trouble ${key}`, severity: 'critical', labels: { pool: key } },
      nowMs,
    );

  it('opens an incident and reads it back by id and by key', async () => {
    const inc = await open('web', 1000);
    expect(inc).toEqual({
      id: inc.id,
      key: 'web',
      title: 'trouble web',
      severity: 'critical',
      status: 'open',
      labels: { pool: 'web' },
      openedAt: 1000,
      acknowledgedAt: null,
      acknowledgedBy: null,
      resolvedAt: null,
      escalatedAt: null,
      updatedAt: 1000,
    });
    expect(Number.isInteger(inc.id)).toBe(true);
    expect(await ctx.store.incidents.get(inc.id)).toEqual(inc);
    expect(await ctx.store.incidents.findOpenByKey('web')).toEqual(inc);
    expect(await ctx.store.incidents.get(999_999)).toBeNull();
    expect(await ctx.store.incidents.findOpenByKey('nothing')).toBeNull();
  });

  it('keeps one unresolved incident per key through acknowledge and resolve', async () => {
    const first = await open('db', 1000);
    const conflict = open('db', 1100);
    await expect(conflict).rejects.toThrow(IncidentKeyConflictError);
    await expect(conflict).rejects.toBeInstanceOf(ConflictError);
    await expect(conflict).rejects.toMatchObject({ code: 'SWAS-STORE-004' });

    const acked = await ctx.store.incidents.update(
      first.id,
      { status: 'acknowledged', acknowledgedAt: 1200, acknowledgedBy: 'alice' },
      1200,
    );
    expect(acked).toMatchObject({
      status: 'acknowledged',
      acknowledgedAt: 1200,
      acknowledgedBy: 'alice',
      updatedAt: 1200,
    });
    expect((await ctx.store.incidents.findOpenByKey('db'))?.id).toBe(first.id);
    await expect(open('db', 1250)).rejects.toThrow(IncidentKeyConflictError);

    await ctx.store.incidents.update(first.id, { status: 'resolved', resolvedAt: 1300 }, 1300);
    expect(await ctx.store.incidents.findOpenByKey('db')).toBeNull();
    const second = await open('db', 1400);
    expect(second.id).toBeGreaterThan(first.id);
    expect((await ctx.store.incidents.findOpenByKey('db'))?.id).toBe(second.id);

    // Re-opening the old incident would make two unresolved incidents with one key.
    await expect(ctx.store.incidents.update(first.id, { status: 'open' }, 1500)).rejects.toThrow(
      IncidentKeyConflictError,
    );
    expect((await ctx.store.incidents.get(first.id))?.status).toBe('resolved');
  });

  it('updates only the patched fields, stamps updatedAt, and returns null for an unknown id', async () => {
    const inc = await open('patch', 1000);
    const updated = await ctx.store.incidents.update(
      inc.id,
      { title: 'new title', severity: 'warning', labels: { pool: 'patch', dc: 'fra' }, escalatedAt: 1700 },
      1800,
    );
    expect(updated).toEqual({
      ...inc,
      title: 'new title',
      severity: 'warning',
      labels: { pool: 'patch', dc: 'fra' },
      escalatedAt: 1700,
      updatedAt: 1800,
    });
    expect(await ctx.store.incidents.get(inc.id)).toEqual(updated);
    expect(await ctx.store.incidents.update(inc.id, {}, 1900)).toEqual({ ...updated, updatedAt: 1900 });
    expect(await ctx.store.incidents.update(999_999, { title: 'x' }, 1)).toBeNull();
  });

  it('lists newest first, filters by status, and pages with beforeId', async () => {
    const made = [];
    for (let i = 0; i < 55; i += 1) made.push(await open(`list-${i}`, 2000 + i));
    const ids = made.map((m) => m.id);
    await ctx.store.incidents.update(ids[0] ?? 0, { status: 'resolved', resolvedAt: 3000 }, 3000);
    await ctx.store.incidents.update(ids[1] ?? 0, { status: 'acknowledged' }, 3000);

    const page1 = await ctx.store.incidents.list();
    expect(page1).toHaveLength(50);
    expect(page1.map((i) => i.id)).toEqual([...page1.map((i) => i.id)].sort((a, b) => b - a));
    expect(page1[0]?.id).toBe(ids[54]);

    const page2 = await ctx.store.incidents.list({ beforeId: page1.at(-1)?.id ?? 0, limit: 3 });
    expect(page2.map((i) => i.id)).toEqual([ids[4], ids[3], ids[2]]);

    const resolved = await ctx.store.incidents.list({ status: 'resolved' });
    expect(resolved.map((i) => i.id)).toContain(ids[0]);
    expect(resolved.every((i) => i.status === 'resolved')).toBe(true);
    const unresolved = await ctx.store.incidents.list({ status: ['open', 'acknowledged'], limit: 10_000 });
    expect(unresolved.map((i) => i.id)).toContain(ids[1]);
    expect(unresolved.map((i) => i.id)).not.toContain(ids[0]);
    expect(await ctx.store.incidents.list({ status: [] })).toEqual([]);
  });

  it('refuses an empty key and a bad limit', async () => {
    await expect(open('')).rejects.toThrow(StoreInputError);
    await expect(ctx.store.incidents.list({ limit: 0 })).rejects.toMatchObject({ code: 'SWAS-STORE-005' });
  });
});

describe.each(backends)('incident list filters on %s', (_dialect, factory) => {
  const ctx = useStore(factory, 'incident_filters');

  it('filters by severity, opened time and label matchers, paging through label matches in order', async () => {
    const store = ctx.store;
    const made: Incident[] = [];
    // More rows than one scan batch, so matching pages across batches.
    for (let i = 0; i < 230; i += 1) {
      const labels = { alertname: i % 100 === 0 ? 'Rare' : 'Common', instance: `web-${i}` };
      const severity = i % 2 === 0 ? 'critical' : 'warning';
      made.push(await store.incidents.open({ key: `k${i}`, title: 't', severity, labels }, 1000 + i));
    }
    const ids = (list: Array<{ id: number }>) => list.map((i) => i.id);
    const idOf = (i: number) => made[i]?.id;
    const rare = [
      { name: 'alertname', type: '=', value: 'Rare' },
      { name: 'instance', type: '=~', value: 'web-.*' },
    ] as const;

    expect(ids(await store.incidents.list({ matchers: rare }))).toEqual([idOf(200), idOf(100), idOf(0)]);
    const first = await store.incidents.list({ matchers: rare, limit: 1 });
    expect(ids(first)).toEqual([idOf(200)]);
    const second = await store.incidents.list({ matchers: rare, limit: 1, beforeId: first[0]?.id });
    expect(ids(second)).toEqual([idOf(100)]);
    const third = await store.incidents.list({ matchers: rare, limit: 5, beforeId: second[0]?.id });
    expect(ids(third)).toEqual([idOf(0)]);
    expect(
      await store.incidents.list({ matchers: [{ name: 'alertname', type: '=', value: 'None' }] }),
    ).toEqual([]);

    expect(ids(await store.incidents.list({ openedSince: 1227, limit: 10 }))).toEqual([
      idOf(229),
      idOf(228),
      idOf(227),
    ]);
    expect(ids(await store.incidents.list({ openedUntil: 1002 }))).toEqual([idOf(1), idOf(0)]);
    expect(
      ids(await store.incidents.list({ severity: 'warning', openedSince: 1001, openedUntil: 1004 })),
    ).toEqual([idOf(3), idOf(1)]);
    expect(ids(await store.incidents.list({ severity: ['critical', 'warning'], openedUntil: 1002 }))).toEqual(
      [idOf(1), idOf(0)],
    );
    expect(await store.incidents.list({ severity: [] })).toEqual([]);
    expect(
      ids(
        await store.incidents.list({
          status: 'open',
          severity: 'critical',
          matchers: [{ name: 'alertname', type: '!=', value: 'Common' }],
          openedSince: 1050,
        }),
      ),
    ).toEqual([idOf(200), idOf(100)]);
  });

  it('refuses bad regexes and times with the parameter name', async () => {
    await expect(
      ctx.store.incidents.list({ matchers: [{ name: 'a', type: '=~', value: '(' }] }),
    ).rejects.toThrow(/incidents.list: invalid regular expression in matcher a=~"\("/);
    await expect(ctx.store.incidents.list({ openedSince: Number.NaN })).rejects.toThrow(
      /incidents.list: openedSince NaN is not a time/,
    );
    await expect(ctx.store.incidents.list({ openedUntil: 1.5 })).rejects.toThrow(StoreInputError);
  });
});
