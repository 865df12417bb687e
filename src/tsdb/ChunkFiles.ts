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
import type { XorEncoder } from './XorChunk.js';
import { TsdbCorruptionError } from './tsdbErrors.js';
import { ChunkBlockCache, chunkBlockBytes } from './ChunkBlockCache.js';

const magic = Buffer.from('SWASCHK1');
/** Record header (payload length, crc32 of payload) then payload header (ref, minT, maxT, count). */
const recordHeaderBytes = 8;
const payloadHeaderBytes = 24;
const flushThreshold = 1 << 20;

/** One chunk read back from disk. */
export interface StoredChunk {
  readonly count: number;
  readonly minT: number;
  readonly data: Uint8Array;
}

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
  write(ref: number, chunk: XorEncoder): [number, number, number] {
    const file = this.writableFile(chunk.minT);
    const data = chunk.view();
    const record = Buffer.allocUnsafe(recordHeaderBytes + payloadHeaderBytes + data.length);
    record.writeUInt32LE(ref, 8);
    record.writeDoubleLE(chunk.minT, 12);
    record.writeDoubleLE(chunk.maxT, 20);
    record.writeUInt32LE(chunk.count, 28);
    record.set(data, recordHeaderBytes + payloadHeaderBytes);
    record.writeUInt32LE(record.length - recordHeaderBytes, 0);
    record.writeUInt32LE(crc32(record.subarray(recordHeaderBytes)), 4);
    const offset = file.size;
    file.size += record.length;
    file.minT = Math.min(file.minT, chunk.minT);
    file.maxT = Math.max(file.maxT, chunk.maxT);
    this.pending.push(record);
    this.pendingBytes += record.length;
    if (this.pendingBytes >= flushThreshold) this.flushToOs();
    return [file.seq, offset, record.length];
  }

  /** Reads one chunk back, checking its checksum; damage is a TsdbCorruptionError naming the file. */
  read(seq: number, offset: number, length: number): StoredChunk {
    const file = this.files.get(seq);
    if (file === undefined) {
      throw new TsdbCorruptionError('SWAS-TSDB-102', `chunk file ${seq} is missing from ${this.dir}`);
    }
    if (offset + length > file.written) this.flushToOs();
    const record = this.recordBytes(file, offset, length);
    const problem = record.length < length ? 'file ends inside the chunk' : checkRecord(record);
    if (problem !== null) {
      throw new TsdbCorruptionError(
        'SWAS-TSDB-101',
        `corrupt chunk in ${file.path} at offset ${offset}: ${problem}; restore the file from backup or delete it (its samples are lost)`,
      );
    }
    return {
      minT: record.readDoubleLE(12),
      count: record.readUInt32LE(28),
      data: record.subarray(recordHeaderBytes + payloadHeaderBytes),
    };
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
    const file: ChunkFile = {
      seq,
      path,
      fd,
      size: magic.length,
      written: magic.length,
      minT: Infinity,
      maxT: -Infinity,
    };
    if (size < magic.length || !bytes.subarray(0, magic.length).equals(magic)) {
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
