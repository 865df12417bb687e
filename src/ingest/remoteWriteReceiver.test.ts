import { describe, expect, it } from 'vitest';
import { isStaleNaN, STALE_NAN, type Labels } from '../core/index.js';
import { MemorySeriesStore } from '../tsdb/index.js';
import { encodeRemoteWriteBody, encodeWriteRequest } from './remoteWriteEncode.js';
import {
  RemoteWriteReceiver,
  checkRemoteWriteHeaders,
  type RemoteWriteOutcome,
} from './remoteWriteReceiver.js';
import { snappyEncode } from './remoteWriteSnappy.js';

const PROTOBUF = 'application/x-protobuf';

function setup(limits = {}) {
  const store = new MemorySeriesStore();
  const receiver = RemoteWriteReceiver.create({ appender: store, limits });
  // Explicit `undefined` must reach the receiver, so no default parameters here.
  const send = (body: Uint8Array, ...headers: [string?, string?]) =>
    receiver.receive({
      body,
      contentType: headers.length > 0 ? headers[0] : PROTOBUF,
      contentEncoding: headers.length > 1 ? headers[1] : 'snappy',
    });
  return { store, receiver, send };
}

function body(...series: { labels: Labels; t?: number[]; v?: number[] }[]): Uint8Array {
  return encodeRemoteWriteBody(series.map((s) => ({ labels: s.labels, t: s.t ?? [1000], v: s.v ?? [1] })));
}

function summary(outcome: RemoteWriteOutcome) {
  if (outcome.status !== 204) throw new Error(`expected 204, got ${outcome.status}: ${outcome.message}`);
  return outcome.summary;
}

// Raw protobuf for labels the encoder would sort or merge (duplicates, order).
function rawSeries(labels: [string, string][], t = 1000, v = 1): Uint8Array {
  const enc = new TextEncoder();
  const bytes = (field: number, payload: number[]) => [(field << 3) | 2, payload.length, ...payload];
  const label = ([n, val]: [string, string]) =>
    bytes(1, [...bytes(1, [...enc.encode(n)]), ...bytes(2, [...enc.encode(val)])]);
  const value = new Uint8Array(new Float64Array([v]).buffer);
  const sample = bytes(2, [0x09, ...value, 0x10, ...encodeVarint(t)]);
  return Uint8Array.from(bytes(1, [...labels.flatMap(label), ...sample]));
}
function encodeVarint(n: number): number[] {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return out;
}

describe('RemoteWriteReceiver', () => {
  it('stores samples with their labels and answers 204', () => {
    const { store, send } = setup();
    const v = Float64Array.from([1, 2, 0]);
    v[2] = STALE_NAN;
    const outcome = send(
      encodeRemoteWriteBody([
        { labels: { __name__: 'up', job: 'node', instance: 'a:9100' }, t: [1000, 2000, 3000], v },
        { labels: { __name__: 'http_requests_total', code: '200' }, t: [1000], v: [42] },
      ]),
    );
    expect(summary(outcome)).toMatchObject({ series: 2, samplesAccepted: 4, firstRejection: null });
    const up = store.select([{ name: '__name__', type: '=', value: 'up' }], 0, 10_000);
    expect(up).toHaveLength(1);
    expect(up[0]?.labels).toEqual({ __name__: 'up', job: 'node', instance: 'a:9100' });
    expect([...(up[0]?.t ?? [])]).toEqual([1000, 2000, 3000]);
    expect([...(up[0]?.v ?? [])].slice(0, 2)).toEqual([1, 2]);
    expect(isStaleNaN(up[0]?.v[2] ?? 0)).toBe(true);
  });

  it('counts out-of-order and duplicate samples without failing the request', () => {
    const { store, send, receiver } = setup();
    summary(send(body({ labels: { __name__: 'm' }, t: [5000], v: [1] })));
    const outcome = send(
      body(
        { labels: { __name__: 'm' }, t: [4000, 5000, 6000], v: [1, 2, 3] },
        { labels: { __name__: 'n' }, t: [1000], v: [7] },
      ),
    );
    expect(summary(outcome)).toMatchObject({ samplesAccepted: 2 });
    expect(summary(outcome).rejected).toMatchObject({ out_of_order: 1, duplicate: 1 });
    expect(store.sampleCount()).toBe(3);
    expect(receiver.stats()).toMatchObject({ requests: { '204': 2 }, samplesAccepted: 3 });
  });

  it.each([
    ['a missing __name__', [['job', 'x']], 'invalid_labels', 'no __name__'],
    [
      'an invalid label name',
      [
        ['__name__', 'm'],
        ['bad-name', 'x'],
      ],
      'invalid_labels',
      'label name "bad-name"',
    ],
    ['an invalid metric name', [['__name__', '1m']], 'invalid_labels', 'metric name "1m"'],
    [
      'a duplicate label',
      [
        ['__name__', 'm'],
        ['a', '1'],
        ['a', '2'],
      ],
      'invalid_labels',
      'appears twice',
    ],
    [
      'a duplicate label with an empty value',
      [
        ['__name__', 'm'],
        ['a', ''],
        ['a', '2'],
      ],
      'invalid_labels',
      'appears twice',
    ],
    ['an empty metric name', [['__name__', '']], 'invalid_labels', 'no __name__'],
  ] as [string, [string, string][], string, string][])(
    'rejects and counts a series with %s',
    (_name, labels, reason, detail) => {
      const { store, send } = setup();
      const result = summary(send(snappyEncode(rawSeries(labels))));
      expect(result.samplesAccepted).toBe(0);
      expect(result.rejected[reason as 'invalid_labels']).toBe(1);
      expect(result.firstRejection).toContain(detail);
      const sent = labels.map(([n, v]) => `${n}="${v}"`).join(', ');
      expect(result.firstRejection).toContain(`in series {${sent}}`);
      expect(store.seriesCount()).toBe(0);
    },
  );

  it('accepts unsorted labels and drops empty ones', () => {
    const { store, send } = setup();
    summary(
      send(
        snappyEncode(
          rawSeries([
            ['zone', 'b'],
            ['__name__', 'm'],
            ['empty', ''],
            ['__proto__', 'p'],
          ]),
        ),
      ),
    );
    const found = store.select([{ name: '__name__', type: '=', value: 'm' }], 0, 2000);
    expect(Object.entries(found[0]?.labels ?? {}).sort()).toEqual([
      ['__name__', 'm'],
      ['__proto__', 'p'],
      ['zone', 'b'],
    ]);
    expect(Object.keys(found[0]?.labels ?? {})).not.toContain('empty');
  });

  it('rejects a series with invalid UTF-8 in a value', () => {
    const { send } = setup();
    const raw = rawSeries([
      ['__name__', 'm'],
      ['a', 'xx'],
    ]);
    raw[raw.indexOf(0x78)] = 0xff;
    const result = summary(send(snappyEncode(raw)));
    expect(result.rejected.invalid_labels).toBe(1);
    expect(result.firstRejection).toContain('UTF-8');
  });

  it('enforces the label limits and counts each rejected sample', () => {
    const { send, store } = setup({ maxLabelsPerSeries: 3, maxLabelNameLength: 8, maxLabelValueLength: 6 });
    const result = summary(
      send(
        body(
          { labels: { __name__: 'm', a: '1', b: '2', c: '3' }, t: [1, 2], v: [1, 2] },
          { labels: { __name__: 'm', very_long_name: '1' } },
          { labels: { __name__: 'm', a: 'ééé1' } },
          { labels: { __name__: 'm', a: 'éé' } },
        ),
      ),
    );
    expect(result.rejected).toMatchObject({
      too_many_labels: 2,
      label_name_too_long: 1,
      label_value_too_long: 1,
    });
    expect(result.samplesAccepted).toBe(1);
    expect(store.seriesCount()).toBe(1);
  });

  it('counts histograms and refuses timestamps that are not safe integers', () => {
    const { send } = setup();
    // A TimeSeries holding two (empty) native-histogram messages and no float samples.
    const histograms = Uint8Array.from([0x0a, 4, 0x22, 0, 0x22, 0]);
    const result = summary(send(snappyEncode(histograms)));
    expect(result.rejected.histogram).toBe(2);
    expect(result.firstRejection).toContain('native histogram');
    const huge = summary(send(snappyEncode(rawSeries([['__name__', 'm']], 2 ** 60))));
    expect(huge.rejected.invalid_timestamp).toBe(1);
  });

  it('answers 400 for bodies that are not snappy or not protobuf', () => {
    const { send } = setup();
    const notSnappy = send(new TextEncoder().encode('{"json": true}'));
    expect(notSnappy).toMatchObject({ status: 400, code: 'SWAS-RW-001' });
    const notProto = send(snappyEncode(Uint8Array.from([0x0a, 0x7f, 1, 2])));
    expect(notProto).toMatchObject({ status: 400, code: 'SWAS-RW-002' });
    if (notProto.status !== 204)
      expect(notProto.message).toMatch(/WriteRequest.timeseries declares 127 bytes.*at byte 1/);
    expect(send(new Uint8Array(0))).toMatchObject({ status: 400 });
  });

  it('answers 413 above the body and decompressed limits', () => {
    const { send, receiver } = setup({ maxBodyBytes: 300, maxDecompressedBytes: 1000 });
    const big = encodeRemoteWriteBody(
      Array.from({ length: 50 }, (_, i) => ({ labels: { __name__: 'm', i: `${i * 7919}` }, t: [1], v: [i] })),
    );
    expect(send(big)).toMatchObject({ status: 413, code: 'SWAS-RW-003' });
    const bomb = snappyEncode(new Uint8Array(5000));
    expect(bomb.length).toBeLessThan(300);
    const outcome = send(bomb);
    expect(outcome).toMatchObject({ status: 413 });
    if (outcome.status !== 204) expect(outcome.message).toContain('decompresses to 5000 bytes');
    expect(receiver.stats().requests['413']).toBe(2);
  });

  it('refuses limits that are not positive integers', () => {
    expect(() => setup({ maxBodyBytes: 0 })).toThrow(/maxBodyBytes must be a positive integer/);
    expect(() => setup({ maxLabelsPerSeries: 1.5 })).toThrow(RangeError);
  });

  it('answers 415 for the wrong media type or encoding', () => {
    const { send } = setup();
    const ok = body({ labels: { __name__: 'm' } });
    expect(send(ok, 'application/json')).toMatchObject({ status: 415, code: 'SWAS-RW-004' });
    expect(send(ok, undefined)).toMatchObject({ status: 415 });
    expect(send(ok, PROTOBUF, 'gzip')).toMatchObject({ status: 415 });
    expect(send(ok, `${PROTOBUF};proto=io.prometheus.write.v2.Request`)).toMatchObject({ status: 415 });
    expect(send(ok, `${PROTOBUF}; proto=prometheus.WriteRequest`, undefined).status).toBe(204);
  });
});

describe('checkRemoteWriteHeaders', () => {
  it('explains what to change', () => {
    expect(checkRemoteWriteHeaders('text/plain', 'snappy')).toContain('needs "application/x-protobuf"');
    expect(checkRemoteWriteHeaders(PROTOBUF, 'zstd')).toContain('must be "snappy"');
    expect(checkRemoteWriteHeaders(`${PROTOBUF};proto=io.prometheus.write.v2.Request`, 'snappy')).toContain(
      'protobuf_message to prometheus.WriteRequest',
    );
    expect(checkRemoteWriteHeaders('Application/X-Protobuf', 'Snappy')).toBeNull();
  });
});

describe('encodeWriteRequest into the receiver', () => {
  it('accepts an uncompressed encoding only after snappy', () => {
    const { send } = setup();
    const raw = encodeWriteRequest([{ labels: { __name__: 'm' }, t: [1], v: [1] }]);
    expect(send(raw).status).toBe(400);
    expect(send(snappyEncode(raw)).status).toBe(204);
  });
});
