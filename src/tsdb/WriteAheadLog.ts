import { closeSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readdirSync } from 'node:fs';
import { readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { Labels } from '../core/index.js';
import { fsyncAsync } from './ChunkFiles.js';
import { encodeDeltaSamples, encodeSamples, encodeSeries } from './walRecords.js';

const headerBytes = 8;
const maxSamplesPerRecord = 65536;
const checkpointPrefix = 'checkpoint.';

const segmentName = (seq: number): string => String(seq).padStart(8, '0');

/** Frames a payload as a record: u32 payload length, u32 crc32 of the payload, the payload. */
export function frameRecord(payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(headerBytes + payload.length);
  out.writeUInt32LE(payload.length, 0);
  out.writeUInt32LE(crc32(payload), 4);
  out.set(payload, headerBytes);
  return out;
}

/**
 * The write side of the write-ahead log: numbered segment files in `wal/`. Appends are buffered in memory,
 * handed to the OS by flushToOs() and made durable by sync(); a checkpoint replaces all segments up to a
 * number with one file.
 */
export class WriteAheadLog {
  private fd: number;
  private seq: number;
  private size = 0;
  private closedBytes = 0;
  private checkpointBytes = 0;
  private series: Buffer[] = [];
  private refs = new Uint32Array(1024);
  private ts = new Float64Array(1024);
  private vs = new Float64Array(1024);
  private count = 0;
  /** Segments written but not yet fsynced, and rotated-out descriptors to close after their fsync. */
  private dirty = false;
  private retired: number[] = [];

  private constructor(
    private readonly dir: string,
    seq: number,
    private readonly segmentLimit: number,
  ) {
    this.seq = seq;
    this.fd = openSync(join(dir, segmentName(seq)), 'wx');
  }

  /** Starts a new segment numbered `seq` in `dir`; earlier segments hold `existingBytes`. */
  static create(dir: string, seq: number, segmentLimit: number, existingBytes: number): WriteAheadLog {
    const wal = new WriteAheadLog(dir, seq, segmentLimit);
    wal.closedBytes = existingBytes;
    return wal;
  }

  /** Logs a new series; it is written before any sample of the same batch. */
  addSeries(ref: number, labels: Labels): void {
    this.series.push(frameRecord(encodeSeries(ref, labels)));
  }

  /** Logs one accepted sample. */
  addSample(ref: number, t: number, v: number): void {
    if (this.count === this.refs.length) this.growSamples();
    this.refs[this.count] = ref;
    this.ts[this.count] = t;
    this.vs[this.count] = v;
    this.count++;
    if (this.count >= maxSamplesPerRecord) this.flushToOs();
  }

  /** Writes buffered records to the current segment (they then survive a process kill); rotates when full. */
  flushToOs(): void {
    if (this.series.length === 0 && this.count === 0) return;
    const parts = this.series;
    if (this.count > 0) {
      // Deltas take about half the bytes: less to checksum, write and fsync, and checkpoints half as often.
      const payload =
        encodeDeltaSamples(this.refs, this.ts, this.vs, this.count) ??
        encodeSamples(this.refs, this.ts, this.vs, this.count);
      parts.push(frameRecord(payload));
    }
    const data = Buffer.concat(parts);
    this.series = [];
    this.count = 0;
    let done = 0;
    while (done < data.length) done += writeSync(this.fd, data, done, data.length - done);
    this.size += data.length;
    this.dirty = true;
    if (this.size >= this.segmentLimit) this.rotate();
  }

  /** Flushes and fsyncs; resolves once every sample appended before the call is on stable storage. */
  async sync(): Promise<void> {
    this.flushToOs();
    const retired = this.retired;
    this.retired = [];
    const pending = retired.map((fd) => fsyncAsync(fd).finally(() => closeSync(fd)));
    if (this.dirty) {
      this.dirty = false;
      pending.push(fsyncAsync(this.fd));
    }
    await Promise.all(pending);
  }

  /** Closes the current segment and starts the next; returns the closed segment's number. */
  rotate(): number {
    this.flushToOs();
    const closed = this.seq;
    // fsync and close happen at the next sync(), so a rotation never closes a descriptor an fsync in
    // flight still uses.
    this.retired.push(this.fd);
    this.dirty = false;
    this.closedBytes += this.size;
    this.size = 0;
    this.seq++;
    this.fd = openSync(join(this.dir, segmentName(this.seq)), 'wx');
    return closed;
  }

  /**
   * Replaces segments up to and including `upTo` by a checkpoint holding `records` (written to a temporary
   * file, fsynced, renamed), then deletes those segments and older checkpoints.
   */
  checkpoint(upTo: number, records: Iterable<Buffer>): void {
    const final = join(this.dir, checkpointPrefix + segmentName(upTo));
    const temp = `${final}.tmp`;
    const fd = openSync(temp, 'w');
    // Records are framed straight into one reused buffer: a checkpoint holds every series, and a framed
    // copy of each record plus a concatenation of them cost more than encoding them.
    let buffer = Buffer.allocUnsafe(1 << 20);
    let used = 0;
    const write = (): void => {
      let done = 0;
      while (done < used) done += writeSync(fd, buffer, done, used - done);
      used = 0;
    };
    for (const record of records) {
      const framed = headerBytes + record.length;
      if (used + framed > buffer.length) {
        write();
        if (framed > buffer.length) buffer = Buffer.allocUnsafe(framed);
      }
      buffer.writeUInt32LE(record.length, used);
      buffer.writeUInt32LE(crc32(record), used + 4);
      buffer.set(record, used + headerBytes);
      used += framed;
    }
    write();
    fsyncSync(fd);
    closeSync(fd);
    this.checkpointBytes = statSync(temp).size;
    renameSync(temp, final);
    syncDirectory(this.dir);
    for (const fd of this.retired.splice(0)) closeSync(fd);
    let remaining = 0;
    for (const name of readdirSync(this.dir)) {
      const seq = parseSegmentName(name);
      const old = seq !== null ? seq <= upTo : name.startsWith(checkpointPrefix) && name !== basename(final);
      if (old) unlinkSync(join(this.dir, name));
      else if (seq !== null && seq !== this.seq) remaining += statSync(join(this.dir, name)).size;
    }
    this.closedBytes = remaining;
  }

  /** Bytes in live segments (what a checkpoint would replace). */
  segmentBytes(): number {
    return this.closedBytes + this.size;
  }

  /** Bytes in live segments and the last checkpoint written by this instance. */
  totalBytes(): number {
    return this.checkpointBytes + this.closedBytes + this.size;
  }

  /** Syncs and closes the current segment. */
  async close(): Promise<void> {
    await this.sync();
    closeSync(this.fd);
  }

  private growSamples(): void {
    const n = this.refs.length * 2;
    const refs = new Uint32Array(n);
    const ts = new Float64Array(n);
    const vs = new Float64Array(n);
    refs.set(this.refs);
    ts.set(this.ts);
    vs.set(this.vs);
    this.refs = refs;
    this.ts = ts;
    this.vs = vs;
  }
}

function parseSegmentName(name: string): number | null {
  return /^\d{8}$/.test(name) ? Number(name) : null;
}

function syncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** What replayWal found: the next free segment number and the bytes of the segments it kept. */
export interface WalReplay {
  readonly nextSeq: number;
  readonly segmentBytes: number;
}

/**
 * Replays the latest checkpoint, then every later segment in order, calling `onRecord` with each payload.
 * A record that fails its length or checksum check (a torn write from a crash) ends that file: the file is
 * truncated there with a warning naming it, and replay continues with the next file.
 */
export function replayWal(
  dir: string,
  onRecord: (payload: Buffer) => void,
  warn: (message: string) => void,
): WalReplay {
  mkdirSync(dir, { recursive: true });
  const names = readdirSync(dir);
  let checkpointSeq = 0;
  for (const name of names) {
    if (name.endsWith('.tmp')) unlinkSync(join(dir, name));
    else if (name.startsWith(checkpointPrefix)) {
      checkpointSeq = Math.max(checkpointSeq, Number(name.slice(checkpointPrefix.length)) || 0);
    }
  }
  if (checkpointSeq > 0) replayFile(join(dir, checkpointPrefix + segmentName(checkpointSeq)), onRecord, warn);
  const segments = names
    .map(parseSegmentName)
    .filter((seq): seq is number => seq !== null)
    .sort((a, b) => a - b);
  let segmentBytes = 0;
  for (const seq of segments) {
    const path = join(dir, segmentName(seq));
    if (seq <= checkpointSeq) unlinkSync(path);
    else segmentBytes += replayFile(path, onRecord, warn);
  }
  return { nextSeq: Math.max(checkpointSeq, ...segments, 0) + 1, segmentBytes };
}

/** Replays one file; returns its (possibly truncated) size. */
function replayFile(
  path: string,
  onRecord: (payload: Buffer) => void,
  warn: (message: string) => void,
): number {
  const bytes = readFileSync(path);
  let offset = 0;
  while (offset < bytes.length) {
    const problem = recordProblem(bytes, offset);
    if (problem === null) {
      const length = bytes.readUInt32LE(offset);
      const payload = bytes.subarray(offset + headerBytes, offset + headerBytes + length);
      try {
        onRecord(payload);
        offset += headerBytes + length;
        continue;
      } catch (error) {
        warn(`write-ahead log ${path}: record at offset ${offset} could not be decoded (${String(error)})`);
      }
    }
    warn(
      `write-ahead log ${path} is damaged at offset ${offset} (${problem ?? 'undecodable record'}), ` +
        `probably a crash mid-write; truncated ${bytes.length - offset} bytes there and continued`,
    );
    const fd = openSync(path, 'r+');
    try {
      ftruncateSync(fd, offset);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    return offset;
  }
  return bytes.length;
}

function recordProblem(bytes: Buffer, offset: number): string | null {
  if (offset + headerBytes > bytes.length) return 'record header cut off';
  const length = bytes.readUInt32LE(offset);
  if (offset + headerBytes + length > bytes.length) return 'record cut off';
  const payload = bytes.subarray(offset + headerBytes, offset + headerBytes + length);
  if (crc32(payload) !== bytes.readUInt32LE(offset + 4)) return 'checksum mismatch';
  return null;
}
