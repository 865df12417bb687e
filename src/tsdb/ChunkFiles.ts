import {
  closeSync,
  fstatSync,
  fsync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
} from 'node:fs';
import { unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { decodeXorChunk } from './XorChunk.js';
import type { SealableChunk } from './HeadChunks.js';
import { TsdbCorruptionError } from './tsdbErrors.js';
import { ChunkBlockCache, chunkBlockBytes } from './ChunkBlockCache.js';
import { encodeTimestamps, encodeValues } from './sealedColumnEncode.js';

/**
 * File format 1 (`SWASCHK1`, read only): a record's data is the head's Gorilla stream. Format 2 (`SWASCHK2`):
 * the data starts with a codec byte: 0 = a Gorilla stream follows; 1 = columnar (sealedColumnFormat.ts): a
 * varint length, the timestamp column, then the value column; 2 = columnar whose timestamp column is that of
 * an earlier record of the same file (a varint: how many bytes before this record it starts), then the
 * value column. Records only refer backwards, so cutting a torn tail never leaves a dangling reference, and
 * retention deletes whole files.
 */
const magicV1 = Buffer.from('SWASCHK1');
const magic = Buffer.from('SWASCHK2');
/** Record header (payload length, crc32 of payload) then payload header (ref, minT, maxT, count). */
const recordHeaderBytes = 8;
const payloadHeaderBytes = 24;
const flushThreshold = 1 << 20;
const codecXor = 0;
const codecColumnar = 1;
const codecColumnarSharedTimes = 2;
/**
 * Timestamp columns remembered per active file for sharing (the oldest forgotten past this; series of one
 * target are sealed together, in the same append round, so recent columns are the ones that match), and
 * shared columns kept for reads.
 */
const maxSharedColumns = 1024;

/** One chunk read back from disk: a Gorilla stream, or the two columns of a columnar chunk. */
export type StoredChunk =
  | { readonly codec: 'xor'; readonly count: number; readonly minT: number; readonly data: Uint8Array }
  | {
      readonly codec: 'columnar';
      readonly count: number;
      readonly minT: number;
      readonly times: Uint8Array;
      readonly values: Uint8Array;
    };

/** Called for every valid chunk found when scanning the files at open. */
export type ChunkVisitor = (
  ref: number,
  seq: number,
  offset: number,
  length: number,
  minT: number,
  maxT: number,
  count: number,
) => void;

interface ChunkFile {
  readonly seq: number;
  readonly path: string;
  readonly fd: number;
  /** Bytes in the file, including ones still in the write buffer. */
  size: number;
  /** Bytes handed to the OS. */
  written: number;
  minT: number;
  maxT: number;
  /** 1: Gorilla records of older versions; 2: records with a codec byte. */
  readonly format: 1 | 2;
  /** Timestamp columns written to this file, by count, minT and maxT: their record's offset and timestamps. */
  readonly columns: Map<string, { readonly offset: number; readonly t: Float64Array }>;
}

/**
 * Sealed chunks in numbered, append-only segment files (`chunks/00000001`, …). Retention deletes whole files,
 * so a file is closed for writing once it is big enough or spans enough time.
 */
export class ChunkFiles {
  private readonly files = new Map<number, ChunkFile>();
  private active: ChunkFile | null = null;
  private readonly cache: ChunkBlockCache;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private unsynced = new Set<number>();
  /**
   * Shared timestamp columns recently read (copies, by seq × 2^32 + record offset): the chunks of a target
   * are read together, and its column is then checked once.
   */
  private readonly sharedColumns = new Map<number, { count: number; times: Uint8Array }>();

  private constructor(
    private readonly dir: string,
    private readonly fileBytes: number,
    private readonly fileSpanMs: number,
    cacheBytes: number,
  ) {
    this.cache = new ChunkBlockCache(cacheBytes);
  }

  /** Opens the directory and reports every valid chunk to `visit`; damage is reported through `warn`. */
  static open(
    dir: string,
    limits: { fileBytes: number; fileSpanMs: number; cacheBytes: number },
    visit: ChunkVisitor,
    warn: (message: string) => void,
  ): ChunkFiles {
    mkdirSync(dir, { recursive: true });
    const store = new ChunkFiles(dir, limits.fileBytes, limits.fileSpanMs, limits.cacheBytes);
    const seqs = readdirSync(dir)
      .filter((name) => /^\d{8}$/.test(name))
      .map(Number)
      .sort((a, b) => a - b);
    for (const seq of seqs) store.files.set(seq, store.scan(seq, visit, warn));
    return store;
  }

  /** Appends a sealed chunk; returns [file seq, offset, record length]. Durable after the next sync(). */
  write(ref: number, chunk: SealableChunk): [number, number, number] {
    const file = this.writableFile(chunk.minT);
    const offset = file.size;
    const record = this.encodeRecord(file, offset, chunk);
    record.writeUInt32LE(ref, 8);
    record.writeDoubleLE(chunk.minT, 12);
    record.writeDoubleLE(chunk.maxT, 20);
    record.writeUInt32LE(chunk.count, 28);
    record.writeUInt32LE(record.length - recordHeaderBytes, 0);
    record.writeUInt32LE(crc32(record.subarray(recordHeaderBytes)), 4);
    file.size += record.length;
    file.minT = Math.min(file.minT, chunk.minT);
    file.maxT = Math.max(file.maxT, chunk.maxT);
    this.pending.push(record);
    this.pendingBytes += record.length;
    if (this.pendingBytes >= flushThreshold) this.flushToOs();
    return [file.seq, offset, record.length];
  }

  /**
   * A record with room for its headers (filled by the caller): the chunk transcoded into columns, its
   * timestamp column shared with an earlier record of the file when equal; the Gorilla stream as it is when
   * its timestamps do not fit a column.
   */
  private encodeRecord(file: ChunkFile, offset: number, chunk: SealableChunk): Buffer {
    const head = recordHeaderBytes + payloadHeaderBytes;
    const n = chunk.count;
    if (scratchT.length < n) {
      scratchT = new Float64Array(2 * n);
      scratchV = new Float64Array(2 * n);
    }
    decodeXorChunk(chunk.view(), n, chunk.minT, scratchT, scratchV, 0);
    const key = `${n}:${chunk.minT}:${chunk.maxT}`;
    const shared = file.columns.get(key);
    if (shared !== undefined && sameTimes(shared.t, scratchT)) {
      const values = encodeValues(scratchV, n);
      const distance = offset - shared.offset;
      const record = Buffer.allocUnsafe(head + 1 + varintBytes(distance) + values.length);
      record[head] = codecColumnarSharedTimes;
      const at = writeVarint(record, head + 1, distance);
      record.set(values, at);
      return record;
    }
    const times = encodeTimestamps(scratchT, n);
    if (times === null) {
      const data = chunk.view();
      const record = Buffer.allocUnsafe(head + 1 + data.length);
      record[head] = codecXor;
      record.set(data, head + 1);
      return record;
    }
    const values = encodeValues(scratchV, n);
    file.columns.delete(key);
    file.columns.set(key, { offset, t: scratchT.slice(0, n) });
    if (file.columns.size > maxSharedColumns) {
      for (const oldest of file.columns.keys()) {
        file.columns.delete(oldest);
        break;
      }
    }
    const record = Buffer.allocUnsafe(head + 1 + varintBytes(times.length) + times.length + values.length);
    record[head] = codecColumnar;
    const at = writeVarint(record, head + 1, times.length);
    record.set(times, at);
    record.set(values, at + times.length);
    return record;
  }

  /** Reads one chunk back, checking its checksum; damage is a TsdbCorruptionError naming the file. */
  read(seq: number, offset: number, length: number): StoredChunk {
    const file = this.files.get(seq);
    if (file === undefined) {
      throw new TsdbCorruptionError('SWAS-TSDB-102', `chunk file ${seq} is missing from ${this.dir}`);
    }
    const record = this.checkedRecord(file, offset, length);
    const minT = record.readDoubleLE(12);
    const count = record.readUInt32LE(28);
    const data = record.subarray(recordHeaderBytes + payloadHeaderBytes);
    if (file.format === 1) return { codec: 'xor', count, minT, data };
    const codec = data[0];
    if (codec === codecXor) return { codec: 'xor', count, minT, data: data.subarray(1) };
    const [field, at] = readVarint(data, 1);
    if (codec === codecColumnar && field >= 0 && at + field <= data.length) {
      return {
        codec: 'columnar',
        count,
        minT,
        times: data.subarray(at, at + field),
        values: data.subarray(at + field),
      };
    }
    if (codec === codecColumnarSharedTimes && field > 0 && field <= offset - magic.length) {
      return {
        codec: 'columnar',
        count,
        minT,
        times: this.sharedTimes(file, offset - field, count),
        values: data.subarray(at),
      };
    }
    throw this.corrupt(file, offset, `unknown chunk codec ${codec} or bad field ${field}`);
  }

  /** The timestamp column of the record at `offset`, which another record of `count` samples shares. */
  private sharedTimes(file: ChunkFile, offset: number, count: number): Uint8Array {
    const key = file.seq * 4294967296 + offset;
    const known = this.sharedColumns.get(key);
    if (known !== undefined && known.count === count) return known.times;
    const header = this.recordBytes(file, offset, recordHeaderBytes);
    if (header.length < recordHeaderBytes) throw this.corrupt(file, offset, 'file ends inside the chunk');
    const record = this.checkedRecord(file, offset, recordHeaderBytes + header.readUInt32LE(0));
    const data = record.subarray(recordHeaderBytes + payloadHeaderBytes);
    const [field, at] = readVarint(data, 1);
    if (
      data[0] !== codecColumnar ||
      record.readUInt32LE(28) !== count ||
      field < 0 ||
      at + field > data.length
    )
      throw this.corrupt(file, offset, 'a chunk refers to it for timestamps, but it has none to share');
    const times = new Uint8Array(data.subarray(at, at + field)); // a copy: the block may be evicted
    if (this.sharedColumns.size >= maxSharedColumns) this.sharedColumns.clear();
    this.sharedColumns.set(key, { count, times });
    return times;
  }

  /** A record's bytes after checking its length and checksum. */
  private checkedRecord(file: ChunkFile, offset: number, length: number): Buffer {
    if (offset + length > file.written) this.flushToOs();
    const record = this.recordBytes(file, offset, length);
    const problem = record.length < length ? 'file ends inside the chunk' : checkRecord(record);
    if (problem !== null) throw this.corrupt(file, offset, problem);
    return record;
  }

  private corrupt(file: ChunkFile, offset: number, problem: string): TsdbCorruptionError {
    return new TsdbCorruptionError(
      'SWAS-TSDB-101',
      `corrupt chunk in ${file.path} at offset ${offset}: ${problem}; restore the file from backup or delete it (its samples are lost)`,
    );
  }

  /** A record's bytes: from a cached block when it lies inside one, else read on its own. */
  private recordBytes(file: ChunkFile, offset: number, length: number): Buffer {
    const block = Math.floor(offset / chunkBlockBytes);
    const inBlock = offset - block * chunkBlockBytes;
    if (inBlock + length <= chunkBlockBytes) {
      let bytes = this.cache.get(file.seq, block, inBlock + length);
      if (bytes === undefined) {
        const start = block * chunkBlockBytes;
        bytes = readFully(file.fd, Math.min(chunkBlockBytes, file.written - start), start);
        this.cache.put(file.seq, block, bytes);
      }
      return bytes.subarray(inBlock, Math.min(bytes.length, inBlock + length));
    }
    return readFully(file.fd, length, offset);
  }

  /** Names a chunk's place on disk for messages: `chunk in <path> at offset <n>`. */
  describe(seq: number, offset: number): string {
    return `chunk in ${join(this.dir, String(seq).padStart(8, '0'))} at offset ${offset}`;
  }

  /** Hands buffered chunk records to the OS (they then survive a process kill, not a power loss). */
  flushToOs(): void {
    const file = this.active;
    if (file === null || this.pending.length === 0) return;
    const data =
      this.pending.length === 1 ? (this.pending[0] ?? Buffer.alloc(0)) : Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    let done = 0;
    while (done < data.length)
      done += writeSync(file.fd, data, done, data.length - done, file.written + done);
    file.written += data.length;
    this.unsynced.add(file.seq);
  }

  /** Flushes and fsyncs every file written since the last sync. */
  async sync(): Promise<void> {
    this.flushToOs();
    const seqs = [...this.unsynced];
    this.unsynced.clear();
    await Promise.all(
      seqs.map((seq) => {
        const file = this.files.get(seq);
        return file === undefined ? Promise.resolve() : fsyncAsync(file.fd);
      }),
    );
  }

  /** Like sync(), but blocking: used where the caller must not yield (a checkpoint in progress). */
  syncBlocking(): void {
    this.flushToOs();
    for (const seq of this.unsynced) {
      const file = this.files.get(seq);
      if (file !== undefined) fsyncSync(file.fd);
    }
    this.unsynced.clear();
  }

  /** Files oldest first, with their time range and size. */
  list(): { seq: number; size: number; minT: number; maxT: number; active: boolean }[] {
    return [...this.files.values()]
      .sort((a, b) => a.seq - b.seq)
      .map((f) => ({ seq: f.seq, size: f.size, minT: f.minT, maxT: f.maxT, active: f === this.active }));
  }

  /** Bytes of chunk files held in memory for reads. */
  cachedBytes(): number {
    return this.cache.bytes();
  }

  /** Total bytes in all chunk files. */
  totalBytes(): number {
    let total = 0;
    for (const file of this.files.values()) total += file.size;
    return total;
  }

  /** Deletes one file (retention); the active file is closed for writing first. */
  remove(seq: number): void {
    const file = this.files.get(seq);
    if (file === undefined) return;
    if (file === this.active) {
      this.flushToOs();
      this.active = null;
    }
    this.files.delete(seq);
    this.unsynced.delete(seq);
    this.sharedColumns.clear();
    this.cache.dropFile(seq);
    closeSync(file.fd);
    unlinkSync(file.path);
  }

  /** Flushes and closes every file. */
  async close(): Promise<void> {
    await this.sync();
    for (const file of this.files.values()) closeSync(file.fd);
    this.files.clear();
    this.active = null;
  }

  private writableFile(chunkMinT: number): ChunkFile {
    const current = this.active;
    if (
      current !== null &&
      current.size < this.fileBytes &&
      (current.size === magic.length || chunkMinT - current.minT < this.fileSpanMs)
    ) {
      return current;
    }
    this.flushToOs();
    const seq = Math.max(0, ...this.files.keys()) + 1;
    const path = join(this.dir, String(seq).padStart(8, '0'));
    const fd = openSync(path, 'wx+');
    writeSync(fd, magic, 0, magic.length, 0);
    const file: ChunkFile = {
      seq,
      path,
      fd,
      size: magic.length,
      written: magic.length,
      minT: Infinity,
      maxT: -Infinity,
      format: 2,
      columns: new Map(),
    };
    this.files.set(seq, file);
    this.unsynced.add(seq);
    this.active = file;
    return file;
  }

  /** Reads a whole file, reporting valid chunks; a damaged tail is cut off (a crash mid-write) with a warning. */
  private scan(seq: number, visit: ChunkVisitor, warn: (message: string) => void): ChunkFile {
    const path = join(this.dir, String(seq).padStart(8, '0'));
    const fd = openSync(path, 'r+');
    const size = fstatSync(fd).size;
    const bytes = Buffer.allocUnsafe(size);
    let got = 0;
    while (got < size) {
      const n = readSync(fd, bytes, got, size - got, got);
      if (n === 0) break;
      got += n;
    }
    const head = bytes.subarray(0, magic.length);
    const file: ChunkFile = {
      seq,
      path,
      fd,
      size: magic.length,
      written: magic.length,
      minT: Infinity,
      maxT: -Infinity,
      format: head.equals(magicV1) ? 1 : 2,
      columns: new Map(),
    };
    if (size < magic.length || !(head.equals(magic) || head.equals(magicV1))) {
      warn(
        `chunk file ${path} has no valid header; its chunks are ignored (delete the file if it is not needed)`,
      );
      ftruncateSync(fd, 0);
      writeSync(fd, magic, 0, magic.length, 0);
      return file;
    }
    let offset = magic.length;
    while (offset < size) {
      const length =
        offset + recordHeaderBytes <= size ? recordHeaderBytes + bytes.readUInt32LE(offset) : Infinity;
      const problem =
        offset + length > size
          ? 'record runs past the end of the file'
          : checkRecord(bytes.subarray(offset, offset + length));
      if (problem !== null) {
        warn(
          `corrupt chunk file ${path} at offset ${offset} (${problem}); dropped ${size - offset} bytes after it. ` +
            'Samples still in the write-ahead log are recovered from there.',
        );
        ftruncateSync(fd, offset);
        break;
      }
      const minT = bytes.readDoubleLE(offset + 12);
      const maxT = bytes.readDoubleLE(offset + 20);
      visit(bytes.readUInt32LE(offset + 8), seq, offset, length, minT, maxT, bytes.readUInt32LE(offset + 28));
      file.minT = Math.min(file.minT, minT);
      file.maxT = Math.max(file.maxT, maxT);
      offset += length;
    }
    file.size = offset;
    file.written = offset;
    return file;
  }
}

/** True when b starts with a's timestamps. */
function sameTimes(a: Float64Array, b: Float64Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

let scratchT = new Float64Array(256);
let scratchV = new Float64Array(256);

function varintBytes(x: number): number {
  let n = 1;
  while (x >= 128) {
    x = Math.floor(x / 128);
    n++;
  }
  return n;
}

/** Writes x (an unsigned LEB128 varint) at `at`; returns the index after it. */
function writeVarint(buf: Buffer, at: number, x: number): number {
  while (x >= 128) {
    buf[at++] = (x % 128) | 128;
    x = Math.floor(x / 128);
  }
  buf[at++] = x;
  return at;
}

/** [value, index after it] of the varint at `at`; a truncated one reads as -1. */
function readVarint(buf: Uint8Array, at: number): [number, number] {
  let x = 0;
  let scale = 1;
  for (let i = at; i < buf.length && i < at + 8; i++) {
    const b = buf[i] ?? 0;
    x += (b & 127) * scale;
    if (b < 128) return [x, i + 1];
    scale *= 128;
  }
  return [-1, buf.length];
}

/** Reads up to `length` bytes at `position`; shorter only at the end of the file. */
function readFully(fd: number, length: number, position: number): Buffer {
  const bytes = Buffer.allocUnsafe(Math.max(0, length));
  let got = 0;
  while (got < bytes.length) {
    const n = readSync(fd, bytes, got, bytes.length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return got < bytes.length ? bytes.subarray(0, got) : bytes;
}

/** null when the record's length and checksum are right, else what is wrong. */
function checkRecord(record: Buffer): string | null {
  if (record.length < recordHeaderBytes + payloadHeaderBytes) return 'record too short';
  if (record.readUInt32LE(0) !== record.length - recordHeaderBytes) return 'length field does not match';
  if (crc32(record.subarray(recordHeaderBytes)) !== record.readUInt32LE(4)) return 'checksum mismatch';
  return null;
}

/** fsync without blocking the event loop. */
export function fsyncAsync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fsync(fd, (error) => (error ? reject(error) : resolve())));
}
