import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/core/index.js';
import { StoreInputError } from '../../src/store/index.js';
import type { NewSilence } from '../../src/store/index.js';
import { backends, useStore } from './backends.js';

const base: NewSilence = {
  matchers: [{ name: 'alertname', type: '=', value: 'HostDown' }],
  startsAt: 1000,
  endsAt: 5000,
  createdBy: 'alice',
  comment: 'planned maintenance',
  createdAt: 900,
};

describe.each(backends)('silences on %s', (_dialect, factory) => {
  const ctx = useStore(factory, 'silences');

  it('creates a silence and reads it back', async () => {
    const created = await ctx.store.silences.create({
      ...base,
      matchers: [
        { name: 'alertname', type: '=', value: 'HostDown' },
        { name: 'instance', type: '=~', value: 'web-.*' },
        { name: 'env', type: '!=', value: 'dev' },
        { name: 'job', type: '!~', value: 'batch|cron' },
      ],
    });
    expect(created).toEqual({
      id: created.id,
      matchers: [
        { name: 'alertname', type: '=', value: 'HostDown' },
        { name: 'instance', type: '=~', value: 'web-.*' },
        { name: 'env', type: '!=', value: 'dev' },
        { name: 'job', type: '!~', value: 'batch|cron' },
      ],
      startsAt: 1000,
      endsAt: 5000,
      createdBy: 'alice',
      comment: 'planned maintenance',
      createdAt: 900,
      expiredAt: null,
    });
    expect(Number.isInteger(created.id)).toBe(true);
    expect(await ctx.store.silences.get(created.id)).toEqual(created);
    expect(await ctx.store.silences.get(999_999)).toBeNull();
  });

  it('stores only name, type and value of each matcher', async () => {
    const extra = { name: 'alertname', type: '=', value: 'X', isRegex: true } as const;
    const created = await ctx.store.silences.create({ ...base, matchers: [extra] });
    expect((await ctx.store.silences.get(created.id))?.matchers).toEqual([
      { name: 'alertname', type: '=', value: 'X' },
    ]);
  });

  it.each([
    [{ matchers: [] }, /matchers: no matchers given/],
    [
      { matchers: [{ name: '1bad', type: '=', value: 'x' }] },
      /matchers\[0\]\.name: "1bad" is not a label name/,
    ],
    [
      { matchers: [base.matchers[0], { name: 'a', type: '==', value: 'x' }] },
      /matchers\[1\]\.type: "==" is not a match type; use one of =, !=, =~, !~/,
    ],
    [{ matchers: [{ name: 'a', type: '=~', value: 'web-(' }] }, /matchers\[0\]\.value: error parsing regexp/],
    [{ matchers: [{ name: 'a', type: '=', value: 7 }] }, /matchers\[0\]\.value: must be a string/],
    [
      { matchers: [{ name: 'a', type: '=', value: '' }] },
      /matchers: every matcher also matches alerts without/,
    ],
    [{ matchers: [{ name: 'a', type: '=~', value: '.*' }] }, /would mute all alerts/],
    [{ matchers: [{ name: 'a', type: '!=', value: 'x' }] }, /would mute all alerts/],
    [{ matchers: [{ name: 'a', type: '!~', value: 'x+' }] }, /would mute all alerts/],
    [{ endsAt: 1000 }, /endsAt: ends at 1970-01-01T00:00:01.000Z, not after it starts/],
    [{ endsAt: 500 }, /endsAt: .* give a later end/],
    [{ startsAt: Number.NaN }, /startsAt: NaN is not a time/],
    [{ endsAt: 1.5e3 + 0.5 }, /endsAt: 1500.5 is not a time/],
    [{ comment: '  ' }, /comment: is empty; say why/],
    [{ createdBy: '' }, /createdBy: is empty/],
  ])('refuses a bad silence %#', async (patch, message) => {
    const bad = { ...base, ...patch } as unknown as NewSilence;
    const attempt = ctx.store.silences.create(bad);
    await expect(attempt).rejects.toThrow(StoreInputError);
    await expect(attempt).rejects.toBeInstanceOf(InputError);
    await expect(attempt).rejects.toThrow(message);
    await expect(attempt).rejects.toMatchObject({ code: 'SWAS-STORE-005' });
  });

  it('accepts a silence whose empty-matching matchers are joined by one that needs a value', async () => {
    const created = await ctx.store.silences.create({
      ...base,
      matchers: [
        { name: 'instance', type: '=~', value: '.*' },
        { name: 'alertname', type: '=~', value: 'Host.+' },
      ],
    });
    expect(created.matchers).toHaveLength(2);
  });

  it('lists newest first, filters by activity, hides expired ones, and limits', async () => {
    const fresh = await factory('silences_list');
    const store = await fresh.open();
    try {
      const past = await store.silences.create({ ...base, startsAt: 100, endsAt: 200 });
      const now = await store.silences.create({ ...base, startsAt: 1000, endsAt: 2000 });
      const future = await store.silences.create({ ...base, startsAt: 3000, endsAt: 4000 });
      const ended = await store.silences.create({ ...base, startsAt: 1000, endsAt: 9000 });
      await store.silences.expire(ended.id, 1100);

      const ids = (list: Array<{ id: number }>) => list.map((s) => s.id);
      expect(ids(await store.silences.list())).toEqual([future.id, now.id, past.id]);
      expect(ids(await store.silences.list({ includeExpired: true }))).toEqual([
        ended.id,
        future.id,
        now.id,
        past.id,
      ]);
      // startsAt is inclusive, endsAt exclusive.
      expect(ids(await store.silences.list({ activeAt: 1000 }))).toEqual([now.id]);
      expect(ids(await store.silences.list({ activeAt: 1999 }))).toEqual([now.id]);
      expect(ids(await store.silences.list({ activeAt: 2000 }))).toEqual([]);
      expect(ids(await store.silences.list({ activeAt: 3500 }))).toEqual([future.id]);
      // An expired silence is never active, even at a time before it was expired.
      expect(ids(await store.silences.list({ activeAt: 1050, includeExpired: true }))).toEqual([now.id]);
      expect(ids(await store.silences.list({ limit: 2 }))).toEqual([future.id, now.id]);
      expect(ids(await store.silences.list({ inactiveAt: 1500 }))).toEqual([future.id, past.id]);
      expect(ids(await store.silences.list({ inactiveAt: 1500, includeExpired: true }))).toEqual([
        ended.id,
        future.id,
        past.id,
      ]);
      await expect(store.silences.list({ limit: 0 })).rejects.toThrow(/silences.list: limit 0 is invalid/);
      await expect(store.silences.list({ activeAt: Number.NaN })).rejects.toThrow(
        /silences.list: activeAt NaN is not a time/,
      );
      await expect(store.silences.list({ inactiveAt: 1.5 })).rejects.toThrow(StoreInputError);
    } finally {
      await store.close();
      await fresh.cleanup();
    }
  });

  it('expires a silence once: later calls change nothing', async () => {
    const s = await ctx.store.silences.create({ ...base, startsAt: 1000, endsAt: 5000 });
    const expired = await ctx.store.silences.expire(s.id, 2000);
    expect(expired).toEqual({ ...s, endsAt: 2000, expiredAt: 2000 });
    expect(await ctx.store.silences.expire(s.id, 3000)).toEqual(expired);
    expect(await ctx.store.silences.get(s.id)).toEqual(expired);
    expect(await ctx.store.silences.expire(999_999, 3000)).toBeNull();
  });

  it('keeps the end of a silence expired after it ended, and expires one that has not started', async () => {
    const over = await ctx.store.silences.create({ ...base, startsAt: 1000, endsAt: 2000 });
    expect(await ctx.store.silences.expire(over.id, 7000)).toEqual({ ...over, expiredAt: 7000 });

    const pending = await ctx.store.silences.create({ ...base, startsAt: 5000, endsAt: 9000 });
    const expired = await ctx.store.silences.expire(pending.id, 3000);
    expect(expired).toEqual({ ...pending, endsAt: 3000, expiredAt: 3000 });
    expect((await ctx.store.silences.list({ activeAt: 6000 })).map((s) => s.id)).not.toContain(pending.id);
  });

  it('refuses a non-integer expiry time', async () => {
    const s = await ctx.store.silences.create(base);
    await expect(ctx.store.silences.expire(s.id, Number.NaN)).rejects.toThrow(
      /silences.expire: at NaN is not a time/,
    );
  });

  it('keeps silences across reopening the store', async () => {
    const fresh = await factory('silences_reopen');
    try {
      const first = await fresh.open();
      const s = await first.silences.create({ ...base, comment: 'survives restarts' });
      await first.close();
      const second = await fresh.open();
      try {
        expect(await second.silences.get(s.id)).toEqual(s);
      } finally {
        await second.close();
      }
    } finally {
      await fresh.cleanup();
    }
  });
});
