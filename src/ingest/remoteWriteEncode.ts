// Protobuf encoding of prometheus.WriteRequest (remote write 1.0), sized exactly in a first pass so the
// body is written into one buffer without copies.
import { Buffer } from 'node:buffer';
import { compareStrings, isStaleNaN, type Labels } from '../core/index.js';
import { snappyEncode } from './remoteWriteSnappy.js';

/** One series to send: labels (must include `__name__`) and parallel sample arrays (`t` in ms). */
export interface WriteRequestSeries {
  readonly labels: Labels;
  readonly t: ArrayLike<number>;
  readonly v: ArrayLike<number>;
}

const KEY_TIMESERIES = (1 << 3) | 2;
const KEY_LABELS = (1 << 3) | 2;
const KEY_SAMPLES = (2 << 3) | 2;
const KEY_NAME = (1 << 3) | 2;
const KEY_VALUE = (2 << 3) | 2;
const KEY_SAMPLE_VALUE = (1 << 3) | 1;
const KEY_SAMPLE_TIMESTAMP = 2 << 3;
const TEN_BYTE_VARINT = 10;

function uvarintSize(value: number): number {
  let size = 1;
  for (let v = value; v >= 0x80; v = Math.floor(v / 0x80)) size++;
  return size;
}

function int64Size(value: number): number {
  return value < 0 ? TEN_BYTE_VARINT : uvarintSize(value);
}

function sampleSize(t: number): number {
  return 1 + 8 + (t === 0 ? 0 : 1 + int64Size(t));
}

interface SizedSeries {
  readonly names: readonly string[];
  readonly labels: Labels;
  readonly nameBytes: number[];
  readonly valueBytes: number[];
  readonly size: number;
  readonly source: WriteRequestSeries;
}

function labelSize(nameBytes: number, valueBytes: number): number {
  return (
    (nameBytes > 0 ? 1 + uvarintSize(nameBytes) + nameBytes : 0) +
    (valueBytes > 0 ? 1 + uvarintSize(valueBytes) + valueBytes : 0)
  );
}

function sizeSeries(series: WriteRequestSeries): SizedSeries {
  if (series.t.length !== series.v.length) {
    throw new RangeError(`series has ${series.t.length} timestamps but ${series.v.length} values`);
  }
  // Receivers such as Prometheus and Mimir expect labels sorted by name.
  const names = Object.keys(series.labels).sort(compareStrings);
  const nameBytes: number[] = [];
  const valueBytes: number[] = [];
  let size = 0;
  for (const name of names) {
    const n = Buffer.byteLength(name, 'utf8');
    const v = Buffer.byteLength(series.labels[name] ?? '', 'utf8');
    nameBytes.push(n);
    valueBytes.push(v);
    const inner = labelSize(n, v);
    size += 1 + uvarintSize(inner) + inner;
  }
  for (let i = 0; i < series.t.length; i++) {
    const t = series.t[i] as number;
    if (!Number.isSafeInteger(t))
      throw new RangeError(`sample timestamp ${t} is not an integer number of ms`);
    const inner = sampleSize(t);
    size += 1 + uvarintSize(inner) + inner;
  }
  return { names, labels: series.labels, nameBytes, valueBytes, size, source: series };
}

class Writer {
  pos = 0;
  readonly view: DataView;
  constructor(readonly buf: Buffer) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  uvarint(value: number): void {
    let v = value;
    while (v >= 0x80) {
      this.buf[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.pos++] = v;
  }
  int64(value: number): void {
    if (value >= 0) {
      this.uvarint(value);
      return;
    }
    // Negative int64s are their 64-bit two's complement: always ten bytes.
    let v = BigInt.asUintN(64, BigInt(value));
    for (let i = 0; i < TEN_BYTE_VARINT - 1; i++) {
      this.buf[this.pos++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.pos++] = Number(v);
  }
  string(key: number, text: string, bytes: number): void {
    if (bytes === 0) return;
    this.buf[this.pos++] = key;
    this.uvarint(bytes);
    this.pos += this.buf.write(text, this.pos, bytes, 'utf8');
  }
}

function writeSeries(w: Writer, s: SizedSeries): void {
  w.buf[w.pos++] = KEY_TIMESERIES;
  w.uvarint(s.size);
  for (let i = 0; i < s.names.length; i++) {
    const name = s.names[i] as string;
    const n = s.nameBytes[i] as number;
    const v = s.valueBytes[i] as number;
    w.buf[w.pos++] = KEY_LABELS;
    w.uvarint(labelSize(n, v));
    w.string(KEY_NAME, name, n);
    w.string(KEY_VALUE, s.labels[name] ?? '', v);
  }
  const { t, v } = s.source;
  for (let i = 0; i < t.length; i++) {
    const ts = t[i] as number;
    w.buf[w.pos++] = KEY_SAMPLES;
    w.uvarint(sampleSize(ts));
    w.buf[w.pos++] = KEY_SAMPLE_VALUE;
    const value = v[i] as number;
    if (isStaleNaN(value)) {
      // Receivers recognise staleness by the exact bits 0x7ff0000000000002, which V8 may have quieted.
      w.view.setUint32(w.pos, 0x00000002, true);
      w.view.setUint32(w.pos + 4, 0x7ff00000, true);
    } else w.view.setFloat64(w.pos, value, true);
    w.pos += 8;
    if (ts !== 0) {
      w.buf[w.pos++] = KEY_SAMPLE_TIMESTAMP;
      w.int64(ts);
    }
  }
}

/** Encodes series as a prometheus.WriteRequest (uncompressed protobuf); labels go out sorted by name. */
export function encodeWriteRequest(series: readonly WriteRequestSeries[]): Uint8Array {
  const sized = series.map(sizeSeries);
  let total = 0;
  for (const s of sized) total += 1 + uvarintSize(s.size) + s.size;
  const w = new Writer(Buffer.allocUnsafe(total));
  for (const s of sized) writeSeries(w, s);
  if (w.pos !== total) throw new Error(`WriteRequest encoder wrote ${w.pos} bytes but sized ${total}`);
  return w.buf;
}

/** A complete remote write 1.0 body: the WriteRequest, snappy-compressed. */
export function encodeRemoteWriteBody(series: readonly WriteRequestSeries[]): Uint8Array<ArrayBuffer> {
  return snappyEncode(encodeWriteRequest(series));
}
