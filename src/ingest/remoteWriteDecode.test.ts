import { describe, expect, it } from 'vitest';
import { isStaleNaN, STALE_NAN } from '../core/index.js';
import { decodeWriteRequest } from './remoteWriteDecode.js';
import { encodeRemoteWriteBody, encodeWriteRequest } from './remoteWriteEncode.js';
import { RemoteWriteDecodeError } from './remoteWriteErrors.js';
import { snappyDecode } from './remoteWriteSnappy.js';

// Hand-built protobuf pieces, so the decoder is tested against bytes the encoder never produces.
function varint(value: number | bigint): number[] {
  let v = BigInt.asUintN(64, BigInt(value));
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}
const key = (field: number, wire: number) => varint(field * 8 + wire);
const bytesField = (field: number, payload: number[]) => [
  ...key(field, 2),
  ...varint(payload.length),
  ...payload,
];
const str = (field: number, s: string) => bytesField(field, [...new TextEncoder().encode(s)]);
const label = (name: string, value: string) => bytesField(1, [...str(1, name), ...str(2, value)]);
function double(v: number): number[] {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, v, true);
  return [...new Uint8Array(view.buffer)];
}
const sample = (v: number, t: number) =>
  bytesField(2, [...key(1, 1), ...double(v), ...key(2, 0), ...varint(t)]);
const series = (...parts: number[][]) => bytesField(1, parts.flat());

function decodeError(bytes: number[] | Uint8Array): RemoteWriteDecodeError {
  try {
    decodeWriteRequest(Uint8Array.from(bytes));
  } catch (error) {
    if (error instanceof RemoteWriteDecodeError) return error;
    throw error;
  }
  throw new Error('expected a RemoteWriteDecodeError, but the input decoded');
}

describe('encodeWriteRequest', () => {
  it('writes the canonical bytes of a one-sample request', () => {
    const encoded = encodeWriteRequest([{ labels: { __name__: 'up' }, t: [1000], v: [1] }]);
    const expected = series(label('__name__', 'up'), sample(1, 1000));
    expect([...encoded]).toEqual(expected);
  });

  it('sorts labels by name and omits empty strings', () => {
    const encoded = encodeWriteRequest([{ labels: { job: 'a', __name__: 'm', empty: '' }, t: [], v: [] }]);
    const decoded = decodeWriteRequest(encoded);
    expect(decoded.series[0]?.labels).toEqual([
      { name: '__name__', value: 'm' },
      { name: 'empty', value: '' },
      { name: 'job', value: 'a' },
    ]);
  });

  it('refuses mismatched arrays and fractional timestamps', () => {
    expect(() => encodeWriteRequest([{ labels: { __name__: 'm' }, t: [1, 2], v: [1] }])).toThrow(RangeError);
    expect(() => encodeWriteRequest([{ labels: { __name__: 'm' }, t: [1.5], v: [1] }])).toThrow(
      /not an integer/,
    );
  });
});

describe('decodeWriteRequest', () => {
  it('round-trips labels, timestamps and special values', () => {
    const t = [0, 1, -1, -1_700_000_000_000, 1_700_000_000_123, 2 ** 53 - 1];
    // A typed array: V8 sets the quiet bit of a NaN stored in a plain array, which would erase the stale marker.
    const v = Float64Array.from([0, -0, 1.5, Number.POSITIVE_INFINITY, Number.NaN, 0]);
    v[5] = STALE_NAN;
    const labels = { __name__: 'node_load1', instance: 'wéb-1:9100', job: 'node' };
    const body = encodeRemoteWriteBody([
      { labels, t, v },
      { labels: { __name__: 'other' }, t: [5], v: [2] },
    ]);
    const decoded = decodeWriteRequest(snappyDecode(body));
    expect(decoded.series).toHaveLength(2);
    const first = decoded.series[0];
    expect(Object.fromEntries(first?.labels.map((l) => [l.name, l.value]) ?? [])).toEqual(labels);
    expect([...(first?.t ?? [])]).toEqual(t);
    expect(Object.is(first?.v[1], -0)).toBe(true);
    expect(first?.v[3]).toBe(Number.POSITIVE_INFINITY);
    expect(Number.isNaN(first?.v[4]) && !isStaleNaN(first?.v[4] ?? 0)).toBe(true);
    expect(isStaleNaN(first?.v[5] ?? 0)).toBe(true);
    expect(first?.validUtf8).toBe(true);
    expect([...(decoded.series[1]?.v ?? [])]).toEqual([2]);
  });

  it('decodes many samples past the scratch size', () => {
    const n = 5000;
    const t = Array.from({ length: n }, (_, i) => 1_000_000 + i * 15_000);
    const v = Array.from({ length: n }, (_, i) => i / 3);
    const decoded = decodeWriteRequest(encodeWriteRequest([{ labels: { __name__: 'm' }, t, v }]));
    expect([...(decoded.series[0]?.t ?? [])]).toEqual(t);
    expect([...(decoded.series[0]?.v ?? [])]).toEqual(v);
  });

  it('uses proto3 defaults for missing sample fields and the last value of a repeated one', () => {
    const bytes = series(
      label('__name__', 'm'),
      bytesField(2, []),
      bytesField(2, [...key(2, 0), 5, ...key(2, 0), 7]),
    );
    const decoded = decodeWriteRequest(Uint8Array.from(bytes));
    expect([...(decoded.series[0]?.t ?? [])]).toEqual([0, 7]);
    expect([...(decoded.series[0]?.v ?? [])]).toEqual([0, 0]);
  });

  it('skips unknown fields of every wire type, metadata, exemplars and histograms', () => {
    const unknown = [
      ...key(15, 0),
      ...varint(-1),
      ...key(16, 1),
      ...double(3),
      ...key(17, 5),
      1,
      2,
      3,
      4,
      ...bytesField(18, [1, 2, 3]),
      ...key(19, 3),
      ...key(20, 0),
      9,
      ...key(21, 3),
      ...key(21, 4),
      ...key(19, 4),
    ];
    const exemplar = bytesField(3, [...label('trace_id', 'abc'), ...key(2, 1), ...double(1), ...unknown]);
    const histogram = bytesField(4, [...key(1, 0), 5, ...unknown]);
    const labelWithExtra = bytesField(1, [...str(1, '__name__'), ...unknown, ...str(2, 'm')]);
    const sampleWithExtra = bytesField(2, [...unknown, ...key(1, 1), ...double(4), ...key(2, 0), 9]);
    const metadata = bytesField(3, [...key(1, 0), 1, ...str(2, 'm'), ...str(4, 'help')]);
    const bytes = [
      ...unknown,
      ...series(labelWithExtra, unknown, exemplar, sampleWithExtra, histogram, histogram),
      ...metadata,
    ];
    const decoded = decodeWriteRequest(Uint8Array.from(bytes));
    expect(decoded.metadata).toBe(1);
    expect(decoded.series).toHaveLength(1);
    const s = decoded.series[0];
    expect(s?.labels).toEqual([{ name: '__name__', value: 'm' }]);
    expect([...(s?.t ?? [])]).toEqual([9]);
    expect([...(s?.v ?? [])]).toEqual([4]);
    expect(s?.exemplars).toBe(1);
    expect(s?.histograms).toBe(2);
  });

  it('marks a series with invalid UTF-8 instead of failing the request', () => {
    const bad = bytesField(1, [...str(1, '__name__'), ...bytesField(2, [0x6d, 0xff, 0xfe])]);
    const decoded = decodeWriteRequest(Uint8Array.from(series(bad, sample(1, 1))));
    expect(decoded.series[0]?.validUtf8).toBe(false);
  });

  it('decodes an empty request', () => {
    expect(decodeWriteRequest(new Uint8Array(0))).toEqual({ series: [], metadata: 0 });
  });

  it.each([
    ['field number 0', [...key(0, 2), 0], 0, 'invalid field number'],
    [
      'a known field with the wrong wire type',
      [...key(1, 0), 1],
      0,
      'WriteRequest.timeseries has wire type varint',
    ],
    ['a truncated varint', [...key(15, 0), 0x80], 1, 'runs past the end'],
    ['an 11-byte varint', [...key(15, 0), ...Array<number>(10).fill(0x80), 0], 1, 'overflows 64 bits'],
    ['a length past the end', [...key(1, 2), 5, 0], 1, 'declares 5 bytes but its message has 1 left'],
    ['a negative length', [...key(1, 2), ...varint(-1)], 1, 'declares -1 bytes'],
    ['a truncated fixed64', [...key(15, 1), 1, 2, 3], 0, 'needs 8 bytes but 3 are left'],
    ['wire type 6', [...key(15, 6)], 0, 'invalid wire type 6'],
    ['an end-group without a start', [...key(15, 4)], 0, 'end-group marker without a start'],
    ['an unclosed group', [...key(15, 3), ...key(16, 0), 1], 0, 'group 15 is never closed'],
    ['a group closed by another field', [...key(15, 3), ...key(16, 4)], 0, 'closed by a different field'],
    [
      'a sample value with the wrong wire type',
      series(bytesField(2, [...key(1, 5), 0, 0, 0, 0])),
      4,
      'Sample.value has wire type 32-bit',
    ],
    [
      'a label string overrunning its label',
      series(bytesField(1, [...key(1, 2), 3, 97])),
      5,
      'Label.name declares 3 bytes but its message has 1 left',
    ],
  ])('rejects %s with the byte offset', (_name, bytes, offset, detail) => {
    const error = decodeError(bytes);
    expect(error.code).toBe('SWAS-RW-002');
    expect(error.message).toContain(detail);
    expect(error.offset).toBe(offset);
  });

  it('rejects groups nested deeper than the limit', () => {
    const open = Array.from({ length: 100 }, () => key(15, 3)).flat();
    expect(decodeError(open).message).toContain('nests groups deeper than 64');
  });
});

describe('protobuf fuzzing', () => {
  function prng(seed: number): () => number {
    let x = seed;
    return () => {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      return x / 0x100000000;
    };
  }
  const valid = encodeWriteRequest([
    {
      labels: { __name__: 'http_requests_total', code: '200', job: 'api' },
      t: [1000, 2000, -3],
      v: [1, 2, 3],
    },
    { labels: { __name__: 'up', instance: 'x' }, t: [1000], v: [Number.NaN] },
  ]);

  function decodesOrFailsCleanly(bytes: Uint8Array): void {
    try {
      decodeWriteRequest(bytes);
    } catch (error) {
      if (!(error instanceof RemoteWriteDecodeError)) throw error;
      expect(error.offset).toBeGreaterThanOrEqual(0);
      expect(error.offset).toBeLessThanOrEqual(bytes.length);
    }
  }

  it('every truncation decodes or fails cleanly', () => {
    for (let cut = 0; cut <= valid.length; cut++) decodesOrFailsCleanly(valid.subarray(0, cut));
  });

  it('random mutations and random bytes decode or fail cleanly', () => {
    const next = prng(99);
    for (let i = 0; i < 3000; i++) {
      const mutated = valid.slice();
      const flips = 1 + Math.floor(next() * 3);
      for (let f = 0; f < flips; f++) mutated[Math.floor(next() * mutated.length)] = Math.floor(next() * 256);
      decodesOrFailsCleanly(mutated);
      const random = new Uint8Array(Math.floor(next() * 48)).map(() => Math.floor(next() * 256));
      decodesOrFailsCleanly(random);
    }
  });
});

describe('staleness markers on the wire', () => {
  it('are encoded with the exact bits receivers look for, even after V8 quieted the NaN', () => {
    const quieted: number[] = [STALE_NAN];
    const bytes = encodeWriteRequest([
      { labels: { __name__: 'gone' }, t: Float64Array.of(1000), v: Float64Array.of(quieted[0] ?? 0) },
    ]);
    const hex = Buffer.from(bytes).toString('hex');
    expect(hex).toContain('020000000000f07f');
    expect(hex).not.toContain('020000000000f87f');
  });
});
