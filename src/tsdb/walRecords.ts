import type { Labels } from '../core/index.js';

/** Record types in WAL segments and checkpoints. */
export const WalRecordType = { Series: 1, Samples: 2, HeadChunk: 3, DeltaSamples: 4 } as const;

/** A series record: ref and label pairs, each string as u32 byte length + UTF-8. */
export function encodeSeries(ref: number, labels: Labels): Buffer {
  // Sized first, then written in place, ASCII by hand: a checkpoint encodes every series, and an
  // encoder call (with a buffer) per string was most of its time.
  const names = Object.keys(labels);
  let size = 1 + 4 + 4;
  for (const name of names) size += 8 + utf8Length(name) + utf8Length(labels[name] ?? '');
  const out = Buffer.allocUnsafe(size);
  out[0] = WalRecordType.Series;
  writeU32(out, 1, ref);
  writeU32(out, 5, names.length);
  let at = 9;
  for (const name of names) {
    at = writeString(out, at, name);
    at = writeString(out, at, labels[name] ?? '');
  }
  return out;
}

/** Strings up to this long are measured and copied in JavaScript; longer ones by Buffer's native code. */
const shortString = 64;

function utf8Length(text: string): number {
  if (text.length > shortString) return Buffer.byteLength(text, 'utf8');
  for (let i = 0; i < text.length; i++)
    if (text.charCodeAt(i) >= 0x80) return Buffer.byteLength(text, 'utf8');
  return text.length;
}

function writeString(out: Buffer, at: number, text: string): number {
  const n = text.length;
  if (n <= shortString) {
    let i = 0;
    for (; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c >= 0x80) break;
      out[at + 4 + i] = c;
    }
    if (i === n) {
      writeU32(out, at, n);
      return at + 4 + n;
    }
  }
  const length = out.write(text, at + 4, 'utf8');
  writeU32(out, at, length);
  return at + 4 + length;
}

function writeU32(out: Buffer, at: number, value: number): void {
  out[at] = value & 0xff;
  out[at + 1] = (value >>> 8) & 0xff;
  out[at + 2] = (value >>> 16) & 0xff;
  out[at + 3] = (value >>> 24) & 0xff;
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
    const value = next();
    // Defined, not assigned: assigning a label named "__proto__" would set the prototype instead.
    if (name === '__proto__')
      Object.defineProperty(labels, name, { value, enumerable: true, writable: true, configurable: true });
    else labels[name] = value;
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

/**
 * A samples record with refs and timestamps as deltas (most are +1 and 0 in a scrape's batch), about half
 * the bytes of {@link encodeSamples}: count, first timestamp (f64), values (f64, bytes as they are, so NaN
 * payloads survive), then per sample a zigzag varint of the ref's and of the timestamp's change from the
 * sample before (the first from ref 0 and the first timestamp). null when a timestamp is not a whole number
 * of milliseconds (the caller then writes {@link encodeSamples}).
 */
export function encodeDeltaSamples(
  refs: Uint32Array,
  ts: Float64Array,
  vs: Float64Array,
  n: number,
): Buffer | null {
  const valuesAt = 13;
  // At most 5 bytes per ref delta and 8 per timestamp delta (|delta| < 2^53).
  const out = Buffer.allocUnsafe(valuesAt + n * 8 + n * 13);
  out[0] = WalRecordType.DeltaSamples;
  out.writeUInt32LE(n, 1);
  const first = n > 0 ? (ts[0] ?? 0) : 0;
  out.writeDoubleLE(first, 5);
  out.set(new Uint8Array(vs.buffer, vs.byteOffset, n * 8), valuesAt);
  let at = valuesAt + n * 8;
  let ref = 0;
  let t = first;
  for (let i = 0; i < n; i++) {
    const r = refs[i] ?? 0;
    at = writeVarint(out, at, zigzag(r - ref));
    ref = r;
    const ti = ts[i] ?? 0;
    if (!Number.isSafeInteger(ti)) return null;
    at = writeVarint(out, at, zigzag(ti - t));
    t = ti;
  }
  return out.subarray(0, at);
}

function zigzag(delta: number): number {
  return delta >= 0 ? delta * 2 : -delta * 2 - 1;
}

function unzigzag(z: number): number {
  return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
}

/** Writes a non-negative integer below 2^53 as a little-endian base-128 varint. */
function writeVarint(out: Buffer, at: number, value: number): number {
  let v = value;
  let i = at;
  while (v >= 128) {
    out[i++] = (v % 128) | 128;
    v = Math.floor(v / 128);
  }
  out[i++] = v;
  return i;
}

/** Decodes a samples record of either kind into fresh typed arrays. */
export function decodeAnySamples(payload: Buffer): { refs: Uint32Array; ts: Float64Array; vs: Float64Array } {
  return payload[0] === WalRecordType.DeltaSamples ? decodeDeltaSamples(payload) : decodeSamples(payload);
}

function decodeDeltaSamples(payload: Buffer): { refs: Uint32Array; ts: Float64Array; vs: Float64Array } {
  const n = payload.readUInt32LE(1);
  const valuesAt = 13;
  if (payload.length < valuesAt + n * 10)
    throw new RangeError(`delta samples record of ${n} samples has only ${payload.length} bytes`);
  const refs = new Uint32Array(n);
  const ts = new Float64Array(n);
  const vs = new Float64Array(n);
  new Uint8Array(vs.buffer).set(payload.subarray(valuesAt, valuesAt + n * 8));
  let at = valuesAt + n * 8;
  const readVarint = (): number => {
    let value = 0;
    let scale = 1;
    for (;;) {
      if (at >= payload.length || scale > 2 ** 56) throw new RangeError('delta samples record is cut off');
      const byte = payload[at++] ?? 0;
      value += (byte & 127) * scale;
      if (byte < 128) return value;
      scale *= 128;
    }
  };
  let ref = 0;
  let t = payload.readDoubleLE(5);
  for (let i = 0; i < n; i++) {
    ref += unzigzag(readVarint());
    if (ref < 0 || ref > 0xffffffff) throw new RangeError(`delta samples record has ref ${ref}`);
    refs[i] = ref;
    t += unzigzag(readVarint());
    ts[i] = t;
  }
  if (at !== payload.length)
    throw new RangeError(`delta samples record has ${payload.length - at} extra bytes`);
  return { refs, ts, vs };
}
