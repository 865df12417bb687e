import { describe, expect, it } from 'vitest';
import { handleMetadata, type MetadataEntry } from './metadataApi.js';

const counter: MetadataEntry = { type: 'counter', help: 'Requests.', unit: '' };
const gaugeA: MetadataEntry = { type: 'gauge', help: 'Temperature.', unit: '' };
const gaugeB: MetadataEntry = { type: 'gauge', help: 'Temperature.', unit: 'celsius' };
const store = new Map<string, MetadataEntry[]>([
  ['temp_celsius', [gaugeA, gaugeB]],
  ['requests_total', [counter]],
  ['legacy', [{ type: 'untyped', help: '', unit: '' }]],
  ['empty', []],
]);

describe('handleMetadata', () => {
  it('returns every metric, sorted, with untyped reported as unknown and empty families left out', () => {
    const { status, body } = handleMetadata({}, store);
    expect(status).toBe(200);
    expect(body).toEqual({
      status: 'success',
      data: {
        legacy: [{ type: 'unknown', help: '', unit: '' }],
        requests_total: [counter],
        temp_celsius: [gaugeA, gaugeB],
      },
    });
    expect(Object.keys((body as { data: object }).data)).toEqual([
      'legacy',
      'requests_total',
      'temp_celsius',
    ]);
  });

  it('applies limit (0 gives nothing, negative is unlimited) and limit_per_metric', () => {
    expect(handleMetadata({ limit: '1' }, store).body).toEqual({
      status: 'success',
      data: { legacy: [{ type: 'unknown', help: '', unit: '' }] },
    });
    expect(handleMetadata({ limit: '0' }, store).body).toEqual({ status: 'success', data: {} });
    const all = handleMetadata({ limit: '-1' }, store).body as { data: object };
    expect(Object.keys(all.data)).toHaveLength(3);
    const perMetric = handleMetadata({ limit_per_metric: '1', metric: 'temp_celsius' }, store).body;
    expect(perMetric).toEqual({ status: 'success', data: { temp_celsius: [gaugeA] } });
  });

  it('selects one metric, and an unknown one gives an empty object', () => {
    expect(handleMetadata({ metric: 'requests_total' }, store).body).toEqual({
      status: 'success',
      data: { requests_total: [counter] },
    });
    expect(handleMetadata({ metric: 'nope' }, store).body).toEqual({ status: 'success', data: {} });
  });

  it('rejects limits that are not integers with 400 bad_data naming the parameter', () => {
    for (const params of [{ limit: 'ten' }, { limit: '1.5' }, { limit_per_metric: 'x' }]) {
      const { status, body } = handleMetadata(params, store);
      expect(status).toBe(400);
      expect(body).toMatchObject({ status: 'error', errorType: 'bad_data' });
      expect((body as { error: string }).error).toMatch(/^limit(_per_metric)? must be a number/);
    }
  });
});
