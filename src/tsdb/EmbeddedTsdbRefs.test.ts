import { afterAll, describe, expect, it } from 'vitest';
import { makeTempDir } from '../../test/support/tmp.js';
import type { Labels } from '../core/index.js';
import { EmbeddedTsdb } from './EmbeddedTsdb.js';

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups) await cleanup();
});

async function openTemp(): Promise<{ db: EmbeddedTsdb; dir: string }> {
  const { dir, remove } = await makeTempDir('tsdb-refs');
  const db = await EmbeddedTsdb.open({ dir });
  cleanups.push(async () => {
    await db.close().catch(() => undefined);
    await remove();
  });
  return { db, dir };
}

const byName = (name: string) => [{ name: '__name__', type: '=' as const, value: name }];

describe('EmbeddedTsdb references', () => {
  it('gives one stable ref per label set, whatever the label order, and appends through it', async () => {
    const { db } = await openTemp();
    const ref = db.getOrCreateRef({ __name__: 'up', job: 'a', instance: 'x' });
    expect(ref).not.toBeNull();
    expect(db.getOrCreateRef({ instance: 'x', job: 'a', __name__: 'up' })).toBe(ref);
    expect(db.getOrCreateRef({ __name__: 'up', job: 'b' })).not.toBe(ref);
    expect(db.appendRef(ref ?? -1, 1000, 1)).toEqual({ ok: true });
    expect(db.append({ job: 'a', __name__: 'up', instance: 'x' }, 2000, 2)).toEqual({ ok: true });
    expect(db.appendRef(ref ?? -1, 3000.4, 3)).toEqual({ ok: true });
    const [series] = db.select(byName('up').concat([{ name: 'job', type: '=', value: 'a' }]), 0, 10_000);
    expect([...(series?.t ?? [])]).toEqual([1000, 2000, 3000]);
    expect([...(series?.v ?? [])]).toEqual([1, 2, 3]);
  });

  it('hands out the stored, frozen labels of a ref, with strings shared between series', async () => {
    const { db } = await openTemp();
    const a = db.getOrCreateRef({ job: 'api', __name__: 'up', instance: 'h1:9100' }) ?? -1;
    const b = db.getOrCreateRef({ __name__: 'up', job: 'api', instance: 'h2:9100' }) ?? -1;
    const labels = db.labelsOf(a);
    expect(labels).toEqual({ __name__: 'up', instance: 'h1:9100', job: 'api' });
    expect(Object.keys(labels ?? {})).toEqual(['__name__', 'instance', 'job']);
    expect(Object.isFrozen(labels)).toBe(true);
    expect(db.labelsOf(b)?.job).toBe('api');
    expect(db.labelsOf(12345)).toBeUndefined();
    const odd = db.getOrCreateRef(
      JSON.parse('{"__name__":"up","__proto__":"p","constructor":"c"}') as Labels,
    );
    expect(Object.entries(db.labelsOf(odd ?? -1) ?? {})).toEqual([
      ['__name__', 'up'],
      ['__proto__', 'p'],
      ['constructor', 'c'],
    ]);
  });

  it('refuses out-of-order and duplicate samples by ref and counts them', async () => {
    const { db } = await openTemp();
    const ref = db.getOrCreateRef({ __name__: 'm' }) ?? -1;
    db.appendRef(ref, 2000, 1);
    expect(db.appendRef(ref, 2000, 1)).toEqual({ ok: false, reason: 'duplicate' });
    expect(db.appendRef(ref, 1000, 1)).toEqual({ ok: false, reason: 'out_of_order' });
    expect(db.rejectedSamples()).toEqual({ out_of_order: 1, duplicate: 1, invalid_labels: 0 });
  });

  it('returns null for unusable labels and unknown refs, and throws on a bad timestamp', async () => {
    const { db } = await openTemp();
    expect(db.getOrCreateRef({ job: 'no-name' })).toBeNull();
    expect(db.getOrCreateRef({ __name__: '' })).toBeNull();
    expect(db.appendRef(987_654, 1000, 1)).toBeNull();
    const ref = db.getOrCreateRef({ __name__: 'm' }) ?? -1;
    expect(() => db.appendRef(ref, Number.NaN, 1)).toThrow(/finite number of milliseconds/);
    expect(db.seriesCount()).toBe(1);
  });

  it('rounds fractional timestamps by ref as append() does, and finds refs of series created before', async () => {
    const { db } = await openTemp();
    const refs = [0, 1, 2].map((i) => db.getOrCreateRef({ __name__: 'r', i: String(i) }) ?? -1);
    for (const ref of [...refs].reverse()) expect(db.appendRef(ref, 1000.4, 1)).toEqual({ ok: true });
    expect(db.appendRef(refs[0] ?? -1, 1000.2, 2)).toEqual({ ok: false, reason: 'duplicate' });
    expect(db.appendRef(refs[1] ?? -1, 1999.6, 3)).toEqual({ ok: true });
    expect(db.appendRef(-1, 3000, 1)).toBeNull();
    expect(db.appendRef(0.5, 3000, 1)).toBeNull();
    const found = db.select(byName('r'), 0, 10_000).map((series) => [...series.t]);
    expect(found).toEqual([[1000], [1000, 2000], [1000]]);
  });

  it('invalidates a ref once retention forgets its series', async () => {
    const { db } = await openTemp();
    const ref = db.getOrCreateRef({ __name__: 'old' }) ?? -1;
    db.appendRef(ref, 1000, 1);
    await db.deleteBefore(5000);
    expect(db.appendRef(ref, 6000, 2)).toBeNull();
    const again = db.getOrCreateRef({ __name__: 'old' });
    expect(again).not.toBe(ref);
    expect(db.appendRef(again ?? -1, 6000, 2)).toEqual({ ok: true });
  });

  it('keeps samples appended by ref across a reopen', async () => {
    const { db, dir } = await openTemp();
    const ref = db.getOrCreateRef({ __name__: 'kept', a: '1' }) ?? -1;
    for (let t = 1000; t <= 5000; t += 1000) db.appendRef(ref, t, t / 1000);
    await db.commit();
    await db.close();
    const reopened = await EmbeddedTsdb.open({ dir });
    try {
      const [series] = reopened.select(byName('kept'), 0, 10_000);
      expect([...(series?.t ?? [])]).toEqual([1000, 2000, 3000, 4000, 5000]);
      expect(reopened.getOrCreateRef({ a: '1', __name__: 'kept' })).toBe(ref);
    } finally {
      await reopened.close();
    }
  });

  it('refuses every call after close', async () => {
    const { db } = await openTemp();
    const ref = db.getOrCreateRef({ __name__: 'm' }) ?? -1;
    await db.close();
    expect(() => db.appendRef(ref, 1000, 1)).toThrow(/after close/);
    expect(() => db.getOrCreateRef({ __name__: 'm' })).toThrow(/after close/);
  });
});
