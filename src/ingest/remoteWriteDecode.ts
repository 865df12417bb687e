// Protobuf decoding of remote write 1.0's prometheus.WriteRequest, by hand: one pass, no per-sample objects,
// every length checked against the enclosing message so a hostile body fails with an offset, never a crash.
import { Buffer, isUtf8 } from 'node:buffer';
import { RemoteWriteDecodeError } from './remoteWriteErrors.js';

/** One label as sent, in the sender's order (so duplicates stay visible to validation). */
export interface RemoteWriteLabel {
  readonly name: string;
  readonly value: string;
}

/** One decoded prometheus.TimeSeries: float samples as parallel arrays (`t` in ms), views of one request-wide buffer. */
export interface DecodedTimeSeries {
  readonly labels: readonly RemoteWriteLabel[];
  readonly t: Float64Array;
  readonly v: Float64Array;
  /** Native-histogram samples sent for this series; swas does not store them. */
  readonly histograms: number;
  readonly exemplars: number;
  /** False when a label name or value is not valid UTF-8 (it was decoded with replacement characters). */
  readonly validUtf8: boolean;
}

/** A decoded prometheus.WriteRequest. */
export interface DecodedWriteRequest {
  readonly series: readonly DecodedTimeSeries[];
  /** MetricMetadata entries sent alongside (ignored by swas). */
  readonly metadata: number;
}

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_BYTES = 2;
const WIRE_START_GROUP = 3;
const WIRE_END_GROUP = 4;
const WIRE_FIXED32 = 5;
const MAX_GROUP_DEPTH = 64;
const WIRE_NAMES = ['varint', '64-bit', 'length-delimited', 'start-group', 'end-group', '32-bit'];

class Reader {
  pos = 0;
  readonly buf: Buffer;
  readonly view: DataView;
  /** Every sample of the request, in order; each series gets a view of its range at the end. */
  t: Float64Array;
  v: Float64Array;
  samples = 0;
  constructor(bytes: Uint8Array) {
    this.buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    // A sample with a value and a timestamp takes 13+ bytes on the wire, so this rarely grows.
    const capacity = Math.max(16, Math.ceil(bytes.byteLength / 13));
    this.t = new Float64Array(capacity);
    this.v = new Float64Array(capacity);
  }
  pushSample(timestamp: number, value: number): void {
    if (this.samples === this.t.length) {
      const t = new Float64Array(this.t.length * 2);
      const v = new Float64Array(this.v.length * 2);
      t.set(this.t);
      v.set(this.v);
      this.t = t;
      this.v = v;
    }
    this.t[this.samples] = timestamp;
    this.v[this.samples++] = value;
  }
}

function fail(offset: number, detail: string): never {
  throw new RemoteWriteDecodeError('protobuf', offset, detail);
}

/** A varint read as a signed 64-bit integer; exact while |value| < 2^53. */
function readVarint(r: Reader, end: number, what: string): number {
  const start = r.pos;
  const buf = r.buf;
  let lo = 0;
  let hi = 0;
  for (let i = 0; i < 10; i++) {
    if (r.pos >= end) fail(start, `${what}: the varint runs past the end of its message`);
    const b = buf[r.pos++] as number;
    if (i < 4) lo |= (b & 0x7f) << (7 * i);
    else if (i === 4) {
      lo |= (b & 0x0f) << 28;
      hi = (b & 0x7f) >>> 4;
    } else if (i < 9) hi |= (b & 0x7f) << (7 * i - 32);
    else if (b > 1) fail(start, `${what}: the varint overflows 64 bits`);
    else hi |= b << 31;
    if (b < 0x80) return (hi | 0) * 4294967296 + (lo >>> 0);
  }
  return fail(start, `${what}: the varint is longer than 10 bytes`);
}

/** Reads a field key; returns `field * 8 + wireType` as a plain number. */
function readKey(r: Reader, end: number, message: string): number {
  const at = r.pos;
  const key = readVarint(r, end, `${message} field key`);
  if (key < 8 || key > 0xffffffff) fail(at, `${message} has a field key ${key} with an invalid field number`);
  return key;
}

function readLength(r: Reader, end: number, what: string): number {
  const at = r.pos;
  const length = readVarint(r, end, `${what} length`);
  if (length < 0 || length > end - r.pos) {
    fail(at, `${what} declares ${length} bytes but its message has ${end - r.pos} left`);
  }
  return length;
}

function expectWire(at: number, wire: number, expected: number, what: string): void {
  if (wire !== expected) {
    fail(at, `${what} has wire type ${WIRE_NAMES[wire] ?? wire}, expected ${WIRE_NAMES[expected]}`);
  }
}

/** Skips one field's value of any wire type, including (deprecated) groups, within `end`. */
function skipField(r: Reader, key: number, at: number, end: number, message: string, depth = 0): void {
  const wire = key & 7;
  const field = Math.floor(key / 8);
  const need = (n: number) => {
    if (n > end - r.pos) fail(at, `${message} field ${field} needs ${n} bytes but ${end - r.pos} are left`);
    r.pos += n;
  };
  if (wire === WIRE_VARINT) readVarint(r, end, `${message} field ${field}`);
  else if (wire === WIRE_FIXED64) need(8);
  else if (wire === WIRE_FIXED32) need(4);
  else if (wire === WIRE_BYTES) need(readLength(r, end, `${message} field ${field}`));
  else if (wire === WIRE_START_GROUP) {
    if (depth >= MAX_GROUP_DEPTH) fail(at, `${message} nests groups deeper than ${MAX_GROUP_DEPTH}`);
    for (;;) {
      if (r.pos >= end) fail(at, `${message} group ${field} is never closed`);
      const innerAt = r.pos;
      const inner = readKey(r, end, message);
      if ((inner & 7) === WIRE_END_GROUP) {
        if (Math.floor(inner / 8) !== field)
          fail(at, `${message} group ${field} is closed by a different field`);
        return;
      }
      skipField(r, inner, innerAt, end, message, depth + 1);
    }
  } else if (wire === WIRE_END_GROUP) fail(at, `${message} has an end-group marker without a start`);
  else fail(at, `${message} field ${field} has the invalid wire type ${wire}`);
}

// Label names and values repeat across series and requests: interning them saves decoding and memory.
const INTERN_MAX_BYTES = 128;
const INTERN_MAX_ENTRIES = 100_000;
const interned = new Map<number, string>();

function sameAscii(text: string, buf: Buffer, start: number, length: number): boolean {
  if (text.length !== length) return false;
  for (let i = 0; i < length; i++) if (text.charCodeAt(i) !== buf[start + i]) return false;
  return true;
}

/** Decodes a string field; marks invalid UTF-8 through `state` instead of throwing, so one series fails alone. */
function readString(r: Reader, end: number, what: string, state: { utf8: boolean }): string {
  const length = readLength(r, end, what);
  const start = r.pos;
  r.pos += length;
  const buf = r.buf;
  let hash = 0x811c9dc5 ^ length;
  for (let i = start; i < start + length; i++) {
    const b = buf[i] as number;
    if (b >= 0x80) {
      if (!isUtf8(buf.subarray(start, start + length))) state.utf8 = false;
      return buf.toString('utf8', start, start + length);
    }
    hash = Math.imul(hash ^ b, 0x01000193);
  }
  if (length > INTERN_MAX_BYTES) return buf.toString('latin1', start, start + length);
  const known = interned.get(hash);
  if (known !== undefined && sameAscii(known, buf, start, length)) return known;
  const text = buf.toString('latin1', start, start + length);
  if (interned.size >= INTERN_MAX_ENTRIES) interned.clear();
  interned.set(hash, text);
  return text;
}

function decodeLabel(r: Reader, end: number, state: { utf8: boolean }): RemoteWriteLabel {
  let name = '';
  let value = '';
  while (r.pos < end) {
    const at = r.pos;
    const key = readKey(r, end, 'Label');
    if (key >>> 3 === 1) {
      expectWire(at, key & 7, WIRE_BYTES, 'Label.name');
      name = readString(r, end, 'Label.name', state);
    } else if (key >>> 3 === 2) {
      expectWire(at, key & 7, WIRE_BYTES, 'Label.value');
      value = readString(r, end, 'Label.value', state);
    } else skipField(r, key, at, end, 'Label');
  }
  return { name, value };
}

function decodeSample(r: Reader, end: number): void {
  let value = 0;
  let timestamp = 0;
  while (r.pos < end) {
    const at = r.pos;
    const key = readKey(r, end, 'Sample');
    if (key >>> 3 === 1) {
      expectWire(at, key & 7, WIRE_FIXED64, 'Sample.value');
      if (end - r.pos < 8) fail(at, 'Sample.value needs 8 bytes but its message ends first');
      value = r.view.getFloat64(r.pos, true);
      r.pos += 8;
    } else if (key >>> 3 === 2) {
      expectWire(at, key & 7, WIRE_VARINT, 'Sample.timestamp');
      timestamp = readVarint(r, end, 'Sample.timestamp');
    } else skipField(r, key, at, end, 'Sample');
  }
  r.pushSample(timestamp, value);
}

const TIME_SERIES_FIELDS = [
  '',
  'TimeSeries.labels',
  'TimeSeries.samples',
  'TimeSeries.exemplars',
  'TimeSeries.histograms',
];

/** A series while its request is decoded: samples are a range of the request's arrays until the end. */
type SeriesDraft = { -readonly [K in keyof DecodedTimeSeries]: DecodedTimeSeries[K] };

function decodeTimeSeries(r: Reader, end: number): { draft: SeriesDraft; first: number } {
  const labels: RemoteWriteLabel[] = [];
  const state = { utf8: true };
  const first = r.samples;
  let histograms = 0;
  let exemplars = 0;
  while (r.pos < end) {
    const at = r.pos;
    const key = readKey(r, end, 'TimeSeries');
    const field = key >>> 3;
    if (field >= 1 && field <= 4) {
      const what = TIME_SERIES_FIELDS[field] as string;
      expectWire(at, key & 7, WIRE_BYTES, what);
      const length = readLength(r, end, what);
      const stop = r.pos + length;
      if (field === 1) labels.push(decodeLabel(r, stop, state));
      else if (field === 2) decodeSample(r, stop);
      else {
        if (field === 3) exemplars++;
        else histograms++;
        r.pos = stop;
      }
    } else skipField(r, key, at, end, 'TimeSeries');
  }
  const draft = { labels, t: EMPTY, v: EMPTY, histograms, exemplars, validUtf8: state.utf8 };
  return { draft, first };
}

const EMPTY = new Float64Array(0);

/** Decodes a (decompressed) prometheus.WriteRequest; throws RemoteWriteDecodeError with the byte offset. */
export function decodeWriteRequest(bytes: Uint8Array): DecodedWriteRequest {
  const r = new Reader(bytes);
  const end = bytes.length;
  const series: SeriesDraft[] = [];
  const firsts: number[] = [];
  let metadata = 0;
  while (r.pos < end) {
    const at = r.pos;
    const key = readKey(r, end, 'WriteRequest');
    if (key >>> 3 === 1) {
      expectWire(at, key & 7, WIRE_BYTES, 'WriteRequest.timeseries');
      const length = readLength(r, end, 'WriteRequest.timeseries');
      const stop = r.pos + length;
      const { draft, first } = decodeTimeSeries(r, stop);
      series.push(draft);
      firsts.push(first);
    } else {
      if (key >>> 3 === 3) metadata++;
      skipField(r, key, at, end, 'WriteRequest');
    }
  }
  // The arrays are final now: hand each series a view of its samples instead of a copy.
  for (let i = 0; i < series.length; i++) {
    const draft = series[i] as SeriesDraft;
    const from = firsts[i] as number;
    const to = i + 1 < series.length ? (firsts[i + 1] as number) : r.samples;
    if (to > from) {
      draft.t = r.t.subarray(from, to);
      draft.v = r.v.subarray(from, to);
    }
  }
  return { series, metadata };
}
