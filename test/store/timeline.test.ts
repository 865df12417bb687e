import { describe, expect, it } from 'vitest';
import { NotFoundError } from '../../src/core/index.js';
import { IncidentNotFoundError } from '../../src/store/index.js';
import { backends, useStore } from './backends.js';

describe.each(backends)('timeline on %s', (_dialect, factory) => {
  const ctx = useStore(factory, 'timeline');

  it('appends entries and lists them by time, then insertion order', async () => {
    const inc = await ctx.store.incidents.open({ key: 't1', title: 't', severity: 'info', labels: {} }, 0);
    const other = await ctx.store.incidents.open({ key: 't2', title: 't', severity: 'info', labels: {} }, 0);
    const data = { alert: 'Down', nested: { values: [1, 2.5, null], ok: true } };
    const late = await ctx.store.timeline.append({
      incidentId: inc.id,
      at: 300,
      kind: 'run',
      message: 'c',
      data,
    });
    const early = await ctx.store.timeline.append({
      incidentId: inc.id,
      at: 100,
      kind: 'alert',
      message: 'a',
      data: {},
    });
    const tieA = await ctx.store.timeline.append({
      incidentId: inc.id,
      at: 200,
      kind: 'note',
      message: 'b1',
      data: {},
    });
    const tieB = await ctx.store.timeline.append({
      incidentId: inc.id,
      at: 200,
      kind: 'note',
      message: 'b2',
      data: {},
    });
    await ctx.store.timeline.append({
      incidentId: other.id,
      at: 150,
      kind: 'alert',
      message: 'other',
      data: {},
    });

    expect(late).toEqual({ id: late.id, incidentId: inc.id, at: 300, kind: 'run', message: 'c', data });
    expect(tieB.id).toBeGreaterThan(tieA.id);
    const list = await ctx.store.timeline.list(inc.id);
    expect(list.map((e) => e.message)).toEqual(['a', 'b1', 'b2', 'c']);
    expect(list[0]).toEqual(early);
    expect(list[3]).toEqual(late);
    expect(await ctx.store.timeline.list(999_999)).toEqual([]);
  });

  it('refuses an entry for an incident that does not exist', async () => {
    const append = ctx.store.timeline.append({
      incidentId: 424_242,
      at: 1,
      kind: 'note',
      message: 'x',
      data: {},
    });
    await expect(append).rejects.toThrow(IncidentNotFoundError);
    await expect(append).rejects.toBeInstanceOf(NotFoundError);
    await expect(append).rejects.toMatchObject({ code: 'SWAS-STORE-006' });
  });
});
