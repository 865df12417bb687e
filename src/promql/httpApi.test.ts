import { describe, expect, it } from 'vitest';
import { MemorySeriesStore } from '../tsdb/index.js';
import { EmbeddedPromqlQuery } from './EmbeddedPromqlQuery.js';
import { handleLabels, handleLabelValues, handleQuery, handleQueryRange, handleSeries } from './httpApi.js';
import { appendSeriesNotation } from './seriesNotation.js';

const store = new MemorySeriesStore();
appendSeriesNotation(
  store,
  `
  up{job="api", instance="a:1"} 1x10
  up{job="db", instance="b:1"} 0x10
  ratio 0.0000001x10
  big 1e21x10
  odd NaN Inf -Inf
`,
  60_000,
);
const engine = EmbeddedPromqlQuery.create({ reader: store });

describe('handleQuery', () => {
  it('answers an instant vector in Prometheus JSON (seconds, string values, sorted labels)', async () => {
    const r = await handleQuery({ query: 'up', time: '120.5' }, engine, 0);
    expect(r).toEqual({
      status: 200,
      body: {
        status: 'success',
        data: {
          resultType: 'vector',
          result: [
            { metric: { __name__: 'up', instance: 'a:1', job: 'api' }, value: [120.5, '1'] },
            { metric: { __name__: 'up', instance: 'b:1', job: 'db' }, value: [120.5, '0'] },
          ],
        },
      },
    });
  });

  it('defaults time to now and accepts RFC 3339', async () => {
    const now = await handleQuery({ query: 'time()' }, engine, 90_000);
    expect(now.body).toEqual({ status: 'success', data: { resultType: 'scalar', result: [90, '90'] } });
    const rfc = await handleQuery({ query: 'time()', time: '1970-01-01T00:01:00.250Z' }, engine, 0);
    expect(rfc.body).toEqual({ status: 'success', data: { resultType: 'scalar', result: [60.25, '60.25'] } });
  });

  it('writes special and extreme values as Prometheus does', async () => {
    const value = async (q: string, t = '0') => {
      const r = await handleQuery({ query: q, time: t }, engine, 0);
      return r.body.status === 'success'
        ? (r.body.data as { result: Array<{ value: [number, string] }> }).result[0]?.value[1]
        : r.body;
    };
    expect(await value('ratio')).toBe('1e-07');
    expect(await value('big')).toBe('1e+21');
    expect(await value('odd')).toBe('NaN');
    expect(await value('odd', '60')).toBe('+Inf');
    expect(await value('odd', '120')).toBe('-Inf');
    expect((await handleQuery({ query: '"hi"', time: '3' }, engine, 0)).body).toEqual({
      status: 'success',
      data: { resultType: 'string', result: [3, 'hi'] },
    });
  });

  it('truncates to limit with a warning', async () => {
    const r = await handleQuery({ query: 'up', time: '60', limit: '1' }, engine, 0);
    expect(r.body).toMatchObject({ status: 'success', warnings: ['results truncated due to limit'] });
  });

  it('maps errors to Prometheus types and status codes', async () => {
    expect(await handleQuery({ query: 'sum(up' }, engine, 0)).toEqual({
      status: 400,
      body: {
        status: 'error',
        errorType: 'bad_data',
        error: 'invalid parameter "query": 1:7: parse error: unexpected end of input in argument list',
      },
    });
    expect(await handleQuery({ query: 'up', time: 'yesterday' }, engine, 0)).toEqual({
      status: 400,
      body: {
        status: 'error',
        errorType: 'bad_data',
        error:
          'invalid parameter "time": invalid time value for \'time\': cannot parse "yesterday" to a valid timestamp',
      },
    });
    expect((await handleQuery({}, engine, 0)).status).toBe(400);
    expect((await handleQuery({ query: 'up', limit: '-1' }, engine, 0)).body).toMatchObject({
      error: 'invalid parameter "limit": limit must be non-negative',
    });
    const exec = await handleQuery({ query: 'up + on() up', time: '60' }, engine, 0);
    expect(exec).toMatchObject({ status: 422, body: { status: 'error', errorType: 'execution' } });
  });

  it('answers 503 on timeout', async () => {
    let clock = 0;
    const slow = EmbeddedPromqlQuery.create({ reader: store, timeoutMs: 1, now: () => (clock += 10) });
    expect(await handleQuery({ query: 'up', time: '60' }, slow, 0)).toMatchObject({
      status: 503,
      body: { errorType: 'timeout' },
    });
  });
});

describe('handleQueryRange', () => {
  it('answers a matrix', async () => {
    const r = await handleQueryRange({ query: 'up{job="api"}', start: '0', end: '120', step: '1m' }, engine);
    expect(r.body).toEqual({
      status: 'success',
      data: {
        resultType: 'matrix',
        result: [
          {
            metric: { __name__: 'up', instance: 'a:1', job: 'api' },
            values: [
              [0, '1'],
              [60, '1'],
              [120, '1'],
            ],
          },
        ],
      },
    });
    const floatStep = await handleQueryRange(
      { query: 'vector(1)', start: '0', end: '1', step: '0.5' },
      engine,
    );
    expect(floatStep.body).toMatchObject({
      data: {
        result: [
          {
            values: [
              [0, '1'],
              [0.5, '1'],
              [1, '1'],
            ],
          },
        ],
      },
    });
  });

  it('rejects bad ranges with Prometheus messages', async () => {
    const error = async (params: Record<string, string>) =>
      (await handleQueryRange({ query: 'up', ...params }, engine)).body;
    expect(await error({ start: '10', end: '0', step: '1' })).toEqual({
      status: 'error',
      errorType: 'bad_data',
      error: 'invalid parameter "end": end timestamp must not be before start time',
    });
    expect(await error({ start: '0', end: '10', step: '0' })).toMatchObject({
      error:
        'invalid parameter "step": zero or negative query resolution step widths are not accepted. Try a positive integer',
    });
    expect(await error({ start: '0', end: '11001', step: '1' })).toMatchObject({
      error:
        'exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)',
    });
    expect(await error({ start: '0', end: '11000', step: '1' })).toMatchObject({ status: 'success' });
    expect(await error({ start: 'x', end: '10', step: '1' })).toMatchObject({
      error: 'invalid parameter "start": cannot parse "x" to a valid timestamp',
    });
    expect(await error({ start: '0', end: '10', step: 'soon' })).toMatchObject({
      error: 'invalid parameter "step": cannot parse "soon" to a valid duration',
    });
    expect(await error({ end: '10', step: '1' })).toMatchObject({ errorType: 'bad_data' });
  });

  it('refuses a range vector expression', async () => {
    const r = await handleQueryRange({ query: 'up[5m]', start: '0', end: '60', step: '15' }, engine);
    expect(r).toMatchObject({ status: 400, body: { errorType: 'bad_data' } });
  });
});

describe('metadata handlers', () => {
  it('handleSeries lists matching label sets and needs match[]', () => {
    expect(handleSeries({ 'match[]': ['up{job="api"}', 'ratio'] }, store).body).toEqual({
      status: 'success',
      data: [{ __name__: 'up', instance: 'a:1', job: 'api' }, { __name__: 'ratio' }],
    });
    expect(handleSeries({ 'match[]': ['up'], start: '700', end: '800' }, store).body).toEqual({
      status: 'success',
      data: [],
    });
    expect(handleSeries({}, store)).toEqual({
      status: 400,
      body: { status: 'error', errorType: 'bad_data', error: 'no match[] parameter provided' },
    });
    expect(handleSeries({ 'match[]': ['sum(up)'] }, store).body).toMatchObject({ errorType: 'bad_data' });
    expect(handleSeries({ 'match[]': ['{job=~".*"}'] }, store).body).toMatchObject({
      error:
        'invalid parameter "match[]": 1:1: parse error: vector selector must contain at least one non-empty matcher',
    });
  });

  it('handleLabels and handleLabelValues list names and values', () => {
    expect(handleLabels({}, store).body).toEqual({
      status: 'success',
      data: ['__name__', 'instance', 'job'],
    });
    expect(handleLabels({ 'match[]': 'ratio' }, store).body).toEqual({
      status: 'success',
      data: ['__name__'],
    });
    expect(handleLabelValues('job', {}, store).body).toEqual({ status: 'success', data: ['api', 'db'] });
    expect(handleLabelValues('__name__', { 'match[]': ['{job="db"}'] }, store).body).toEqual({
      status: 'success',
      data: ['up'],
    });
    expect(handleLabelValues('job', { limit: '1' }, store).body).toEqual({
      status: 'success',
      data: ['api'],
      warnings: ['results truncated due to limit'],
    });
    expect(handleLabelValues('', {}, store).status).toBe(400);
    expect(handleLabels({ start: 'nope' }, store).body).toMatchObject({ errorType: 'bad_data' });
  });
});
