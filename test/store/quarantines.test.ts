import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/core/index.js';
import { StoreInputError } from '../../src/store/index.js';
import type { NewQuarantine } from '../../src/store/index.js';
import { backends, useStore } from './backends.js';

const base: NewQuarantine = {
  targetKey: 'pool=web,member=web-2',
  target: { pool: 'web', member: 'web-2' },
  runbook: 'restart-web',
  reason: '3 runs in 1h; flap budget spent',
  runIds: ['run-a', 'run-b', 'run-c'],
  createdAt: 10_000,
};

describe.each(backends)('quarantines on %s', (_dialect, factory) => {
  const ctx = useStore(factory, 'quarantines');

  it('creates a quarantine, finds it active, and returns it again instead of a second one', async () => {
    const first = await ctx.store.quarantines.create({ ...base, targetKey: 'create' });
    expect(first.created).toBe(true);
    expect(first.quarantine).toEqual({
      id: first.quarantine.id,
      targetKey: 'create',
      target: { pool: 'web', member: 'web-2' },
      runbook: 'restart-web',
      reason: '3 runs in 1h; flap budget spent',
      runIds: ['run-a', 'run-b', 'run-c'],
      createdAt: 10_000,
      releasedAt: null,
      releasedBy: null,
    });
    expect(Number.isInteger(first.quarantine.id)).toBe(true);
    expect(await ctx.store.quarantines.active('create')).toEqual(first.quarantine);
    expect(await ctx.store.quarantines.active('no-such-target')).toBeNull();

    const again = await ctx.store.quarantines.create({
      ...base,
      targetKey: 'create',
      reason: 'other',
      runIds: ['run-z'],
      createdAt: 20_000,
    });
    expect(again).toEqual({ quarantine: first.quarantine, created: false });
  });

  it('creates exactly one of two concurrent quarantines of the same target', async () => {
    for (let round = 0; round < 5; round++) {
      const targetKey = `race-${round}`;
      const results = await Promise.all([
        ctx.store.quarantines.create({ ...base, targetKey, reason: 'first' }),
        ctx.store.quarantines.create({ ...base, targetKey, reason: 'second' }),
      ]);
      expect(results.filter((r) => r.created)).toHaveLength(1);
      expect(results[0]?.quarantine).toEqual(results[1]?.quarantine);
      const rows = await ctx.location.raw('select count(*) as n from quarantines where target_key = ?', [
        targetKey,
      ]);
      expect(Number(rows[0]?.n)).toBe(1);
    }
  });

  it('creates exactly one across two stores sharing the database', async () => {
    const other = await ctx.location.open();
    try {
      const results = await Promise.all([
        ctx.store.quarantines.create({ ...base, targetKey: 'two-servers' }),
        other.quarantines.create({ ...base, targetKey: 'two-servers' }),
      ]);
      expect(results.map((r) => r.created).sort()).toEqual([false, true]);
      expect(results[0]?.quarantine).toEqual(results[1]?.quarantine);
    } finally {
      await other.close();
    }
  });

  it('releases once, keeping the first release, and quarantines a released target again', async () => {
    const { quarantine } = await ctx.store.quarantines.create({ ...base, targetKey: 'release' });
    const released = await ctx.store.quarantines.release(quarantine.id, 'alice', 30_000);
    expect(released).toEqual({ ...quarantine, releasedAt: 30_000, releasedBy: 'alice' });
    expect(await ctx.store.quarantines.release(quarantine.id, 'bob', 40_000)).toEqual(released);
    expect(await ctx.store.quarantines.active('release')).toBeNull();
    expect(await ctx.store.quarantines.release(999_999, 'alice', 30_000)).toBeNull();

    const second = await ctx.store.quarantines.create({ ...base, targetKey: 'release', createdAt: 50_000 });
    expect(second.created).toBe(true);
    expect(second.quarantine.id).not.toBe(quarantine.id);
    expect(await ctx.store.quarantines.active('release')).toEqual(second.quarantine);
  });

  it('lists newest first, only active ones when asked, and limits', async () => {
    const fresh = await factory('quarantines_list');
    const store = await fresh.open();
    try {
      const a = (await store.quarantines.create({ ...base, targetKey: 'a' })).quarantine;
      const b = (await store.quarantines.create({ ...base, targetKey: 'b' })).quarantine;
      const c = (await store.quarantines.create({ ...base, targetKey: 'c' })).quarantine;
      const releasedB = await store.quarantines.release(b.id, 'alice', 20_000);

      expect(await store.quarantines.list()).toEqual([c, releasedB, a]);
      expect(await store.quarantines.list({ active: false })).toEqual([c, releasedB, a]);
      expect(await store.quarantines.list({ active: true })).toEqual([c, a]);
      expect(await store.quarantines.list({ limit: 1 })).toEqual([c]);
      expect(await store.quarantines.list({ active: true, limit: 10_000 })).toEqual([c, a]);
    } finally {
      await store.close();
      await fresh.cleanup();
    }
  });

  it.each([
    [{ targetKey: '' }, /quarantines.create: targetKey is empty/],
    [{ target: null }, /quarantines.create: target is not an object/],
    [{ target: { member: 2 } }, /quarantines.create: target.member is number, not a string/],
    [{ runbook: ' ' }, /quarantines.create: runbook is empty/],
    [{ reason: '' }, /quarantines.create: reason is empty; say why/],
    [{ runIds: 'run-a' }, /quarantines.create: runIds is not a list/],
    [{ runIds: ['run-a', 7] }, /quarantines.create: runIds\[1\] 7 is not a run id/],
    [{ createdAt: Number.NaN }, /quarantines.create: createdAt NaN is not a time/],
    [{ createdAt: Number.POSITIVE_INFINITY }, /createdAt Infinity is not a time/],
    [{ createdAt: 1.5 }, /createdAt 1.5 is not a time; give epoch milliseconds/],
  ])('refuses a bad quarantine %#', async (patch, message) => {
    const bad = { ...base, targetKey: 'bad', ...patch } as unknown as NewQuarantine;
    const attempt = ctx.store.quarantines.create(bad);
    await expect(attempt).rejects.toThrow(StoreInputError);
    await expect(attempt).rejects.toBeInstanceOf(InputError);
    await expect(attempt).rejects.toThrow(message);
    await expect(attempt).rejects.toMatchObject({ code: 'SWAS-STORE-005' });
    expect(await ctx.store.quarantines.active('bad')).toBeNull();
  });

  it('refuses bad lookups, limits and releases', async () => {
    const q = ctx.store.quarantines;
    await expect(q.active('')).rejects.toThrow(/quarantines.active: targetKey is empty/);
    await expect(q.list({ limit: 0 })).rejects.toThrow(/quarantines.list: limit 0 is invalid/);
    await expect(q.list({ limit: 10_001 })).rejects.toThrow(StoreInputError);
    await expect(q.release(1.5, 'alice', 1)).rejects.toThrow(/quarantines.release: id 1.5 is not/);
    await expect(q.release(1, '', 1)).rejects.toThrow(/quarantines.release: by is empty/);
    await expect(q.release(1, 'alice', Number.NaN)).rejects.toThrow(
      /quarantines.release: at NaN is not a time/,
    );
  });

  it('keeps quarantines across reopening the store, still blocking a second one', async () => {
    const fresh = await factory('quarantines_reopen');
    try {
      const first = await fresh.open();
      const { quarantine } = await first.quarantines.create(base);
      await first.close();
      const second = await fresh.open();
      try {
        expect(await second.quarantines.active(base.targetKey)).toEqual(quarantine);
        expect(await second.quarantines.create(base)).toEqual({ quarantine, created: false });
      } finally {
        await second.close();
      }
    } finally {
      await fresh.cleanup();
    }
  });
});
