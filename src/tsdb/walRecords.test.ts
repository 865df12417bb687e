import { describe, expect, it } from 'vitest';
import {
  decodeAnySamples,
  decodeSeries,
  encodeDeltaSamples,
  encodeSamples,
  encodeSeries,
  WalRecordType,
} from './walRecords.js';

describe('series records', () => {
  it('round-trip ASCII, non-ASCII, long and empty strings and a label named __proto__', () => {
    const labels: Record<string, string> = Object.fromEntries([
      ['__name__', 'http_requests_total'],
      ['path', '/é/ünï/日本'],
      ['long', 'x'.repeat(200)],
      ['mixed', `${'y'.repeat(70)}é`],
      ['empty', ''],
      ['__proto__', 'kept'],
    ]);
    const payload = encodeSeries(4_294_967_295, labels);
    expect(decodeSeries(payload)).toEqual({ ref: 4_294_967_295, labels });
    // Every byte is accounted for: the record is exactly as long as what it holds.
    const bytes = Object.entries(labels).reduce(
      (sum, [n, v]) => sum + 8 + Buffer.byteLength(n) + Buffer.byteLength(v),
      9,
    );
    expect(payload.length).toBe(bytes);
  });
});

describe('samples records', () => {
  const staleBits = new Uint32Array([2, 0x7ff00000]); // the staleness marker, a NaN with a payload
  const stale = new Float64Array(staleBits.buffer)[0] ?? 0;
  const refs = new Uint32Array([1, 2, 3, 4_294_967_295, 7, 7, 0]);
  const ts = new Float64Array([1_700_000_000_000, 1_700_000_000_000, 1_699_999_999_000, 1e15, -5, 0, 1]);
  const vs = new Float64Array([1.5, -0, stale, Number.POSITIVE_INFINITY, 1e300, Number.NaN, 42]);

  it('round-trip in delta form, exactly (NaN payloads too), in about half the bytes of the plain form', () => {
    const delta = encodeDeltaSamples(refs, ts, vs, refs.length);
    expect(delta?.[0]).toBe(WalRecordType.DeltaSamples);
    const decoded = decodeAnySamples(delta ?? Buffer.alloc(0));
    expect([...decoded.refs]).toEqual([...refs]);
    expect([...decoded.ts]).toEqual([...ts]);
    expect(Buffer.from(decoded.vs.buffer)).toEqual(Buffer.from(vs.buffer));
    const n = 10_000;
    const many = encodeDeltaSamples(
      Uint32Array.from({ length: n }, (_, i) => i + 1),
      new Float64Array(n).fill(1_700_000_000_000),
      new Float64Array(n).fill(3),
      n,
    );
    expect(many?.length).toBeLessThan(
      encodeSamples(new Uint32Array(n), new Float64Array(n), vs, 0).length + n * 11,
    );
  });

  it('decode the plain form too, and fall back to it for timestamps that are not whole milliseconds', () => {
    const plain = encodeSamples(refs, ts, vs, 3);
    expect([...decodeAnySamples(plain).refs]).toEqual([1, 2, 3]);
    expect(encodeDeltaSamples(refs, new Float64Array([1, 2.5, 3]), vs, 3)).toBeNull();
  });

  it('refuse a cut-off delta record', () => {
    const delta = encodeDeltaSamples(refs, ts, vs, refs.length) ?? Buffer.alloc(0);
    expect(() => decodeAnySamples(delta.subarray(0, delta.length - 1))).toThrow(RangeError);
  });
});
