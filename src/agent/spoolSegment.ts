import {
  closeSync,
  fdatasyncSync,
  ftruncateSync,
  openSync,
  readFileSync,
  readSync,
  unlinkSync,
} from 'node:fs';
import { writeSync } from 'node:fs';
import { join } from 'node:path';
import { errorMessage } from '../core/index.js';
import { SpoolCorruptionError, SpoolWriteError } from './spoolErrors.js';
import { decodeRecordAt, scanSegment, segmentFileName } from './spoolFormat.js';
import type { FramedRecord } from './spoolFormat.js';

/**
 * One segment file of the spool: records with consecutive sequence numbers from `firstSeq`, and the byte
 * offset of each. Only the newest segment is open for appending; older ones are sealed and read-only.
 */
export class SpoolSegment {
  /** Set when bytes were written since the last fdatasync. */
  private dirty = false;

  private constructor(
    readonly firstSeq: number,
    readonly path: string,
    private readonly offsets: number[],
    private size: number,
    private fd: number | null,
  ) {}

  /** Creates an empty segment file for appending, starting at `firstSeq`; fails if the file exists. */
  static create(dir: string, firstSeq: number): SpoolSegment {
    const path = join(dir, segmentFileName(firstSeq));
    try {
      return new SpoolSegment(firstSeq, path, [], 0, openSync(path, 'wx+'));
    } catch (error) {
      throw new SpoolWriteError(
        'SWAS-SPOOL-010',
        `cannot create spool segment ${path}: ${errorMessage(error)}`,
        {
          cause: error,
        },
      );
    }
  }

  /**
   * Opens an existing segment sealed, keeping its intact leading records and truncating anything after
   * them (a record torn by a crash mid-write, or garbage); `problem` says what was cut, if anything.
   */
  static recover(
    dir: string,
    name: string,
    firstSeq: number,
  ): { segment: SpoolSegment; problem: string | null } {
    const path = join(dir, name);
    const scan = scanSegment(readFileSync(path), firstSeq);
    if (scan.problem !== null) {
      const fd = openSync(path, 'r+');
      try {
        ftruncateSync(fd, scan.validBytes);
        fdatasyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }
    return {
      segment: new SpoolSegment(firstSeq, path, scan.offsets, scan.validBytes, null),
      problem: scan.problem,
    };
  }

  /** Records in this segment. */
  get count(): number {
    return this.offsets.length;
  }

  /** Sequence number of the last record (firstSeq - 1 when empty). */
  get lastSeq(): number {
    return this.firstSeq + this.offsets.length - 1;
  }

  /** Bytes of the segment file. */
  get bytes(): number {
    return this.size;
  }

  /** True while the segment takes appends. */
  get writable(): boolean {
    return this.fd !== null;
  }

  /** Appends one framed record (its seq must be lastSeq + 1); with `sync`, returns only once it is on disk. */
  append(frame: Buffer, sync: boolean): void {
    const fd = this.fd;
    if (fd === null) throw new Error(`spool segment ${this.path} is sealed; this is a bug in Spool`);
    try {
      let done = 0;
      while (done < frame.length) done += writeSync(fd, frame, done, frame.length - done);
      if (sync) fdatasyncSync(fd);
      else this.dirty = true;
    } catch (error) {
      this.undoPartialWrite(fd);
      throw new SpoolWriteError(
        'SWAS-SPOOL-011',
        `cannot append to spool segment ${this.path}: ${errorMessage(error)}; free disk space or check the disk`,
        { cause: error },
      );
    }
    this.offsets.push(this.size);
    this.size += frame.length;
  }

  /** A failed write may have left part of a record; cut it so the next append starts on a record boundary. */
  private undoPartialWrite(fd: number): void {
    try {
      ftruncateSync(fd, this.size);
    } catch {
      // Recovery at the next open truncates the torn record instead.
    }
  }

  /** Makes every appended record durable. */
  sync(): void {
    if (this.fd !== null && this.dirty) {
      fdatasyncSync(this.fd);
      this.dirty = false;
    }
  }

  /** Syncs and closes the file for appending; the segment stays readable. */
  seal(): void {
    if (this.fd === null) return;
    this.sync();
    closeSync(this.fd);
    this.fd = null;
  }

  /** Seals and deletes the segment file. */
  remove(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
    unlinkSync(this.path);
  }

  /** Number of records with a sequence number after `seq`. */
  countAfter(seq: number): number {
    return Math.max(0, Math.min(this.count, this.lastSeq - seq));
  }

  /** Bytes of the records with a sequence number after `seq`. */
  bytesAfter(seq: number): number {
    const index = seq - this.firstSeq + 1;
    if (index <= 0) return this.size;
    const offset = this.offsets[index];
    return offset === undefined ? 0 : this.size - offset;
  }

  /** Reads up to `limit` records starting at sequence number `fromSeq` (which this segment must hold). */
  read(fromSeq: number, limit: number): FramedRecord[] {
    const first = fromSeq - this.firstSeq;
    const last = Math.min(this.count, first + limit);
    const start = this.offsets[first];
    if (start === undefined || first < 0) return [];
    const end = this.offsets[last] ?? this.size;
    const data = this.readBytes(start, end - start);
    const out: FramedRecord[] = [];
    let offset = 0;
    for (let seq = fromSeq; seq < this.firstSeq + last; seq++) {
      const record = decodeRecordAt(data, offset);
      if (typeof record === 'string' || record.seq !== seq) {
        const why = typeof record === 'string' ? record : `found seq ${record.seq}`;
        throw new SpoolCorruptionError(
          'SWAS-SPOOL-012',
          `spool segment ${this.path} changed on disk while open: reading seq ${seq}, ${why} (offset relative to ${start}); ` +
            'check the disk, then restart the agent to recover the intact records',
        );
      }
      out.push(record);
      offset = record.end;
    }
    return out;
  }

  private readBytes(position: number, length: number): Buffer {
    const data = Buffer.allocUnsafe(length);
    const fd = this.fd ?? openSync(this.path, 'r');
    try {
      let done = 0;
      while (done < length) {
        const n = readSync(fd, data, done, length - done, position + done);
        if (n === 0) break;
        done += n;
      }
      return done === length ? data : data.subarray(0, done);
    } finally {
      if (fd !== this.fd) closeSync(fd);
    }
  }
}
