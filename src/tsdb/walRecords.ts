import type { Labels } from '../core/index.js';

/** Record types in WAL segments and checkpoints. */
export const WalRecordType = { Series: 1, Samples: 2, HeadChunk: 3 } as const;

const utf8 = new TextEncoder();

/** A series record: ref and label pairs, each string as u32 byte length + UTF-8. */
export function encodeSeries(ref: number, labels: Labels): Buffer {
  const parts: Uint8Array[] = [];
  let size = 1 + 4 + 4;
  for (const [name, value] of Object.entries(labels)) {
    const n = utf8.encode(name);
    const v = utf8.encode(value);
    parts.push(n, v);
    size += 8 + n.length + v.length;
  }
  const out = Buffer.allocUnsafe(size);
  out[0] = WalRecordType.Series;
  out.writeUInt32LE(ref, 1);
  out.writeUInt32LE(parts.length / 2, 5);
  let at = 9;
  for (const part of parts) {
    out.writeUInt32LE(part.length, at);
    out.set(part, at + 4);
    at += 4 + part.length;
  }
  return out;
}

/** Decodes a series record's payload. */
export function decodeSeries(payload: Buffer): { ref: number; labels: Labels } {
  const ref = payload.readUInt32LE(1);
  const pairs = payload.readUInt32LE(5);
  const labels: Record<string, string> = {};
  let at = 9;
  const next = (): string => {
    const length = payload.readUInt32LE(at);
    const text = payload.toString('utf8', at + 4, at + 4 + length);
    at += 4 + length;
    return text;
  };
  for (let i = 0; i < pairs; i++) {
    const name = next();
    labels[name] = next();
  }
  return { ref, labels };
}

/**
 * A samples record, column-wise: count, refs (u32), timestamps (f64), values (f64). The typed arrays' bytes
 * are copied as they are, so NaN payloads (staleness markers) survive exactly.
 */
export function encodeSamples(refs: Uint32Array, ts: Float64Array, vs: Float64Array, n: number): Buffer {
  const out = Buffer.allocUnsafe(8 + n * 20);
  out[0] = WalRecordType.Samples;
  out.writeUInt32LE(n, 4);
  out.set(new Uint8Array(ts.buffer, ts.byteOffset, n * 8), 8);
  out.set(new Uint8Array(vs.buffer, vs.byteOffset, n * 8), 8 + n * 8);
  out.set(new Uint8Array(refs.buffer, refs.byteOffset, n * 4), 8 + n * 16);
  return out;
}

/** Decodes a samples record's payload into fresh typed arrays. */
export function decodeSamples(payload: Buffer): { refs: Uint32Array; ts: Float64Array; vs: Float64Array } {
  const n = payload.readUInt32LE(4);
  if (payload.length !== 8 + n * 20)
    throw new RangeError(`samples record of ${n} samples has ${payload.length} bytes`);
  const ts = new Float64Array(n);
  const vs = new Float64Array(n);
  const refs = new Uint32Array(n);
  new Uint8Array(ts.buffer).set(payload.subarray(8, 8 + n * 8));
  new Uint8Array(vs.buffer).set(payload.subarray(8 + n * 8, 8 + n * 16));
  new Uint8Array(refs.buffer).set(payload.subarray(8 + n * 16, 8 + n * 20));
  return { refs, ts, vs };
}

/** A head chunk in a checkpoint: ref, minT, sample count, then the chunk's bit stream. */
export function encodeHeadChunk(ref: number, minT: number, count: number, data: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(17 + data.length);
  out[0] = WalRecordType.HeadChunk;
  out.writeUInt32LE(ref, 1);
  out.writeDoubleLE(minT, 5);
  out.writeUInt32LE(count, 13);
  out.set(data, 17);
  return out;
}

/** Decodes a head chunk record's payload. */
export function decodeHeadChunk(payload: Buffer): {
  ref: number;
  minT: number;
  count: number;
  data: Uint8Array;
} {
  return {
    ref: payload.readUInt32LE(1),
    minT: payload.readDoubleLE(5),
    count: payload.readUInt32LE(13),
    data: payload.subarray(17),
  };
}
