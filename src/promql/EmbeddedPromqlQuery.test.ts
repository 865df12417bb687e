import { describe, expect, it } from 'vitest';
import { InputError } from '../core/index.js';
import { MemorySeriesStore } from '../tsdb/index.js';
import { EmbeddedPromqlQuery } from './EmbeddedPromqlQuery.js';
import { appendSeriesNotation } from './seriesNotation.js';

function storeWith(data: string): MemorySeriesStore {
  const store = new MemorySeriesStore();
  appendSeriesNotation(store, data, 60_000);
  return store;
}

describe('EmbeddedPromqlQuery limits', () => {
  const store = storeWith('x{i="1"} 0+1x99\nx{i="2"} 0+1x99');

  it('fails with a timeout once the (injected) clock passes the deadline', async () => {
    let clock = 0;
    const engine = EmbeddedPromqlQuery.create({ reader: store, timeoutMs: 5_000, now: () => (clock += 100) });
    const r = await engine.range('sum(rate(x[5m]))', 0, 99 * 60_000, 1_000);
    expect(r).toMatchObject({ ok: false, error: { errorType: 'timeout' } });
    expect(r.ok ? '' : r.error.message).toMatch(/^query timed out in expression evaluation/);
  });

  it('does not time out while the clock stays within the limit', async () => {
    const engine = EmbeddedPromqlQuery.create({ reader: store, timeoutMs: 5_000, now: () => 0 });
    expect((await engine.range('sum(rate(x[5m]))', 0, 99 * 60_000, 1_000)).ok).toBe(true);
  });

  it('fails when a query would hold more samples than allowed', async () => {
    const engine = EmbeddedPromqlQuery.create({ reader: store, maxSamples: 150 });
    const r = await engine.instant('x[2h]', 99 * 60_000);
    expect(r).toMatchObject({ ok: false, error: { errorType: 'execution' } });
    expect(r.ok ? '' : r.error.message).toMatch(
      /^query processing would load too many samples into memory in query execution/,
    );
    expect((await engine.instant('x[1h]', 99 * 60_000)).ok).toBe(true);
    expect((await engine.range('x', 0, 99 * 60_000, 60_000)).ok).toBe(false);
    expect((await engine.range('x', 0, 60 * 60_000, 60_000)).ok).toBe(true);
  });

  it('rejects invalid limits when it is created', () => {
    expect(() => EmbeddedPromqlQuery.create({ reader: store, timeoutMs: 0 })).toThrow(InputError);
    expect(() => EmbeddedPromqlQuery.create({ reader: store, maxSamples: -1 })).toThrow(
      /maxSamples must be a positive number/,
    );
  });
});

describe('EmbeddedPromqlQuery errors and metadata', () => {
  const store = storeWith('up{job="api"} 1x10');
  const engine = EmbeddedPromqlQuery.create({ reader: store });

  it('reports parse errors as bad_data with the position', async () => {
    expect(await engine.instant('sum(up', 0)).toEqual({
      ok: false,
      error: {
        errorType: 'bad_data',
        message: '1:7: parse error: unexpected end of input in argument list',
        position: { line: 1, column: 7 },
      },
    });
  });

  it('lists the selected metric names the store has never seen', async () => {
    expect(
      await engine.unknownMetrics(
        'up + on() group_left sum(upp) or {__name__="typo_total"} or {__name__=~"x.*"}',
      ),
    ).toEqual(['typo_total', 'upp']);
    expect(await engine.unknownMetrics('rate(up[5m])')).toEqual([]);
    expect(await engine.unknownMetrics('not valid (')).toEqual([]);
  });
});
