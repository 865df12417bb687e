import { describe, expect, it } from 'vitest';
import { formatSeries } from '../core/index.js';
import { MemorySeriesStore } from '../tsdb/index.js';
import { EmbeddedPromqlQuery } from './EmbeddedPromqlQuery.js';
import { appendSeriesNotation } from './seriesNotation.js';

function engineWith(data: string): EmbeddedPromqlQuery {
  const store = new MemorySeriesStore();
  appendSeriesNotation(store, data, 60_000);
  return EmbeddedPromqlQuery.create({ reader: store });
}

/** Evaluates at t=5m and returns series → value, keyed by formatSeries. */
async function at5m(engine: EmbeddedPromqlQuery, expr: string): Promise<Record<string, number>> {
  const r = await engine.instant(expr, 300_000);
  if (!r.ok) throw new Error(`${expr}: ${r.error.message}`);
  if (r.value.resultType === 'scalar') return { scalar: r.value.result[1] };
  if (r.value.resultType !== 'vector') throw new Error(`unexpected ${r.value.resultType}`);
  return Object.fromEntries(r.value.result.map((s) => [formatSeries(s.labels), s.value]));
}

async function failure(engine: EmbeddedPromqlQuery, expr: string): Promise<string> {
  const r = await engine.instant(expr, 300_000);
  if (r.ok) throw new Error(`${expr} should fail`);
  return `${r.error.errorType}: ${r.error.message}`;
}

const data = `
  http_requests{job="api", instance="a", group="prod"} 0+10x5
  http_requests{job="api", instance="b", group="prod"} 0+20x5
  http_requests{job="db", instance="c", group="canary"} 0+30x5
  capacity{job="api", instance="a"} 100x5
  capacity{job="api", instance="b"} 200x5
  team{job="api", team="web"} 1x5
  team{job="db", team="storage"} 1x5
`;

describe('arithmetic operators', () => {
  const engine = engineWith(data);

  it('evaluates scalar arithmetic with Prometheus float semantics', async () => {
    expect(await at5m(engine, '1 + 2 * 3 - 4 / 2')).toEqual({ scalar: 5 });
    expect(await at5m(engine, '2 ^ 3 ^ 2')).toEqual({ scalar: 512 });
    expect(await at5m(engine, '-2 ^ 2')).toEqual({ scalar: -4 });
    expect(await at5m(engine, '7 % 3')).toEqual({ scalar: 1 });
    expect(await at5m(engine, '1 / 0')).toEqual({ scalar: Infinity });
    expect((await at5m(engine, '0 / 0')).scalar).toBeNaN();
    expect(await at5m(engine, '1 ^ NaN')).toEqual({ scalar: 1 });
    expect(await at5m(engine, '1 atan2 1')).toEqual({ scalar: Math.PI / 4 });
  });

  it('applies a scalar to every element and drops the metric name', async () => {
    expect(await at5m(engine, 'http_requests{job="api"} * 2')).toEqual({
      '{group="prod", instance="a", job="api"}': 100,
      '{group="prod", instance="b", job="api"}': 200,
    });
    expect(await at5m(engine, '1000 - http_requests{instance="c"}')).toEqual({
      '{group="canary", instance="c", job="db"}': 850,
    });
    expect(await at5m(engine, '-http_requests{instance="a"}')).toEqual({
      '{group="prod", instance="a", job="api"}': -50,
    });
  });

  it('matches vectors one-to-one on all labels but the name, or on/ignoring some', async () => {
    expect(await at5m(engine, 'http_requests / ignoring(group) capacity')).toEqual({
      '{instance="a", job="api"}': 0.5,
      '{instance="b", job="api"}': 0.5,
    });
    expect(await at5m(engine, 'http_requests / on(instance) capacity')).toEqual({
      '{instance="a"}': 0.5,
      '{instance="b"}': 0.5,
    });
    expect(await at5m(engine, 'http_requests / capacity')).toEqual({});
  });

  it('joins many-to-one with group_left, copying labels from the one side', async () => {
    expect(await at5m(engine, 'http_requests * on(job) group_left(team) team')).toEqual({
      '{group="prod", instance="a", job="api", team="web"}': 50,
      '{group="prod", instance="b", job="api", team="web"}': 100,
      '{group="canary", instance="c", job="db", team="storage"}': 150,
    });
    expect(await at5m(engine, 'team * on(job) group_right(team) http_requests')).toEqual({
      '{group="prod", instance="a", job="api", team="web"}': 50,
      '{group="prod", instance="b", job="api", team="web"}': 100,
      '{group="canary", instance="c", job="db", team="storage"}': 150,
    });
  });

  it('refuses many-to-many matching like Prometheus', async () => {
    expect(await failure(engine, 'http_requests + on(job) team')).toBe(
      'execution: multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)',
    );
    expect(await failure(engine, 'team + on(job) http_requests')).toMatch(
      /^execution: found duplicate series for the match group \{job="api"\} on the right hand-side of the operation: \[\{__name__="http_requests", group="prod", instance="a", job="api"\}, \{__name__="http_requests", group="prod", instance="b", job="api"\}\];many-to-many matching not allowed/,
    );
  });
});

describe('comparison operators', () => {
  const engine = engineWith(data);

  it('filter and keep the metric name, or return 0/1 with bool', async () => {
    expect(await at5m(engine, 'http_requests > 60')).toEqual({
      'http_requests{group="prod", instance="b", job="api"}': 100,
      'http_requests{group="canary", instance="c", job="db"}': 150,
    });
    expect(await at5m(engine, 'http_requests > bool 60')).toEqual({
      '{group="prod", instance="a", job="api"}': 0,
      '{group="prod", instance="b", job="api"}': 1,
      '{group="canary", instance="c", job="db"}': 1,
    });
    expect(await at5m(engine, '60 < http_requests{job="api"}')).toEqual({
      'http_requests{group="prod", instance="b", job="api"}': 100,
    });
    expect(await at5m(engine, '1 >= bool 2')).toEqual({ scalar: 0 });
    expect(await at5m(engine, '2 == bool 2')).toEqual({ scalar: 1 });
  });

  it('compare two vectors element by element', async () => {
    // One-to-one matching with ignoring() drops the ignored labels from the result, as in Prometheus.
    expect(await at5m(engine, 'http_requests <= ignoring(group) capacity')).toEqual({
      'http_requests{instance="a", job="api"}': 50,
      'http_requests{instance="b", job="api"}': 100,
    });
    expect(await at5m(engine, 'http_requests != bool ignoring(group) capacity')).toEqual({
      '{instance="a", job="api"}': 1,
      '{instance="b", job="api"}': 1,
    });
  });
});

describe('set operators', () => {
  const engine = engineWith(data);

  it('and, or, unless match on labels (minus the name) unless told otherwise', async () => {
    expect(Object.keys(await at5m(engine, 'http_requests and on(instance) capacity'))).toEqual([
      'http_requests{group="prod", instance="a", job="api"}',
      'http_requests{group="prod", instance="b", job="api"}',
    ]);
    expect(Object.keys(await at5m(engine, 'http_requests unless on(instance) capacity'))).toEqual([
      'http_requests{group="canary", instance="c", job="db"}',
    ]);
    expect(await at5m(engine, 'http_requests{instance="a"} or capacity')).toEqual({
      'http_requests{group="prod", instance="a", job="api"}': 50,
      'capacity{instance="a", job="api"}': 100,
      'capacity{instance="b", job="api"}': 200,
    });
    expect(await at5m(engine, 'capacity{instance="a"} or on(instance) http_requests')).toEqual({
      'capacity{instance="a", job="api"}': 100,
      'http_requests{group="prod", instance="b", job="api"}': 100,
      'http_requests{group="canary", instance="c", job="db"}': 150,
    });
    expect(await at5m(engine, 'http_requests and nothing')).toEqual({});
  });
});

describe('metric name removal', () => {
  const engine = engineWith(data);

  it('is deferred, so label_replace can still read the name', async () => {
    expect(
      await at5m(engine, 'label_replace(http_requests{instance="a"} * 1, "src", "$1", "__name__", "(.*)")'),
    ).toEqual({
      '{group="prod", instance="a", job="api", src="http_requests"}': 50,
    });
  });

  it('turns into a duplicate-series error when two names collapse onto one label set', async () => {
    const e = engineWith('a{x="1"} 1x5\nb{x="1"} 2x5');
    expect(await failure(e, '-{__name__=~"a|b"}')).toBe(
      'execution: vector cannot contain metrics with the same labelset',
    );
  });
});
