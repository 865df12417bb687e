import { mkdirSync, readdirSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { errorMessage, InputError } from '../core/index.js';
import { SpoolConfigError, SpoolCorruptionError } from './spoolErrors.js';
import { frameRecord, parseSegmentFileName, recordHeaderBytes } from './spoolFormat.js';
import { SpoolSegment } from './spoolSegment.js';
import { lockSpoolDirectory, readSpoolState, syncDirectory, writeSpoolState } from './spoolState.js';
import type { SpoolState } from './spoolState.js';

/** When appended records reach the disk: after every append, or when the caller runs flush(). */
export type SpoolFsync = 'always' | 'batch';

/** How to open a spool. */
export interface SpoolOptions {
  /** Directory holding the spool's segment files and state; created if missing. */
  readonly dir: string;
  /** Upper bound of the spool's segment files on disk; the oldest records are dropped to stay under it. */
  readonly maxBytes: number;
  /** Size at which a segment file is closed and a new one started; also the unit in which records are dropped.
   * @default maxBytes / 16, at least 4 KiB and at most 8 MiB (never more than maxBytes) */
  readonly segmentBytes?: number;
  /** 'always': fdatasync each append; 'batch': appends reach the OS at once and the disk at flush().
   * @default 'batch' */
  readonly fsync?: SpoolFsync;
}

/** A record read back from the spool with its sequence number. */
export interface SpoolEntry<T> {
  readonly seq: number;
  readonly record: T;
}

/** Counters describing what the spool holds. */
export interface SpoolStats {
  /** Records appended and neither acknowledged nor dropped. */
  readonly pendingRecords: number;
  /** On-disk bytes (framing included) of the pending records. */
  readonly pendingBytes: number;
  /** Records dropped unacknowledged because the spool was full, over the spool's whole life. */
  readonly droppedRecords: number;
  /** Sequence number of the oldest pending record; equals nextSeq when nothing is pending. */
  readonly oldestSeq: number;
  /** Sequence number the next append gets. */
  readonly nextSeq: number;
  /** Bytes of all segment files, acknowledged records not yet deleted included; at most maxBytes. */
  readonly diskBytes: number;
}

const defaultSegmentBytes = (maxBytes: number): number =>
  Math.min(maxBytes, 8 << 20, Math.max(4096, Math.floor(maxBytes / 16)));

/** Applies defaults and checks the options; bad values fail here with what to change. */
function compileOptions(options: SpoolOptions): Readonly<Required<SpoolOptions>> {
  const { dir, maxBytes, fsync = 'batch' } = options;
  const where = `spool ${dir}`;
  if (typeof dir !== 'string' || dir === '')
    throw new SpoolConfigError('SWAS-SPOOL-001', 'spool dir must be a non-empty path');
  if (!Number.isSafeInteger(maxBytes) || maxBytes <= recordHeaderBytes)
    throw new SpoolConfigError(
      'SWAS-SPOOL-001',
      `${where}: maxBytes must be an integer above ${recordHeaderBytes}, got ${maxBytes}`,
    );
  const segmentBytes = options.segmentBytes ?? defaultSegmentBytes(maxBytes);
  if (!Number.isSafeInteger(segmentBytes) || segmentBytes <= 0 || segmentBytes > 1 << 30)
    throw new SpoolConfigError(
      'SWAS-SPOOL-001',
      `${where}: segmentBytes must be an integer from 1 to 1 GiB, got ${segmentBytes}`,
    );
  if (segmentBytes > maxBytes)
    throw new SpoolConfigError(
      'SWAS-SPOOL-002',
      `${where}: segmentBytes (${segmentBytes}) is larger than maxBytes (${maxBytes}); the spool drops whole ` +
        'segments, so use a segmentBytes well below maxBytes (e.g. maxBytes / 16)',
    );
  if (fsync !== 'always' && fsync !== 'batch')
    throw new SpoolConfigError(
      'SWAS-SPOOL-001',
      `${where}: fsync must be 'always' or 'batch', got ${String(fsync)}`,
    );
  return Object.freeze({ dir, maxBytes, segmentBytes, fsync });
}

/**
 * The agent's bounded on-disk queue: while the server is unreachable, samples, probe results and job events
 * are appended here and replayed in order on reconnect. Records are JSON values framed with length and
 * CRC-32 in segment files; each gets a sequence number that keeps growing across restarts. When the spool
 * would exceed maxBytes the oldest segment is dropped (and counted); acknowledged segments are deleted.
 * Not safe for use by two instances on one directory (a LOCK file refuses the second).
 */
export class Spool<T = unknown> {
  private readonly segments: SpoolSegment[];
  private state: SpoolState;
  private nextSeq: number;
  private diskBytes: number;
  private dirDirty = false;
  private unlock: (() => void) | null;
  /** What opening had to repair (torn or damaged records cut), for the agent to log; empty when nothing. */
  readonly recoveryNotes: readonly string[];

  private constructor(
    private readonly options: Readonly<Required<SpoolOptions>>,
    recovered: Recovered,
    unlock: () => void,
  ) {
    this.segments = recovered.segments;
    this.state = recovered.state;
    this.recoveryNotes = Object.freeze(recovered.notes);
    this.unlock = unlock;
    const last = this.segments.at(-1);
    this.nextSeq = Math.max(this.state.releasedThroughSeq, last ? last.lastSeq : 0) + 1;
    this.diskBytes = this.segments.reduce((sum, segment) => sum + segment.bytes, 0);
  }

  /**
   * Opens (or creates) the spool in `options.dir`, recovering every intact record and truncating a record
   * torn by a crash. Throws SpoolConfigError for bad options or an unusable directory.
   */
  static open<T = unknown>(options: SpoolOptions): Spool<T> {
    const compiled = compileOptions(options);
    prepareDirectory(compiled.dir);
    const unlock = lockSpoolDirectory(compiled.dir);
    try {
      const spool = new Spool<T>(compiled, recover(compiled.dir), unlock);
      spool.makeRoom(0);
      return spool;
    } catch (error) {
      unlock();
      throw error;
    }
  }

  /** Appends a record (any JSON-serialisable value) and returns its sequence number. */
  append(record: T): number {
    this.assertOpen();
    const json = JSON.stringify(record) as string | undefined;
    if (json === undefined)
      throw new InputError(
        'SWAS-SPOOL-020',
        `cannot spool ${typeof record}: records must be JSON-serialisable values`,
      );
    const frame = frameRecord(this.nextSeq, Buffer.from(json));
    if (frame.length > this.options.maxBytes) {
      throw new InputError(
        'SWAS-SPOOL-021',
        `record of ${frame.length} bytes does not fit in spool ${this.options.dir} (maxBytes ${this.options.maxBytes}); ` +
          'send smaller batches or raise the spool size',
      );
    }
    let current = this.segments.at(-1);
    if (current?.writable && current.bytes > 0 && current.bytes + frame.length > this.options.segmentBytes) {
      current.seal();
      current = undefined;
    }
    this.makeRoom(frame.length);
    if (!current?.writable) current = this.startSegment();
    current.append(frame, this.options.fsync === 'always');
    if (this.options.fsync === 'always') this.syncDirectoryIfDirty();
    this.diskBytes += frame.length;
    return this.nextSeq++;
  }

  /** Makes every record appended so far durable (the periodic call for fsync 'batch'; cheap otherwise). */
  flush(): void {
    this.assertOpen();
    this.segments.at(-1)?.sync();
    this.syncDirectoryIfDirty();
  }

  /**
   * Up to `limit` pending records in sequence order, starting at `fromSeq` or the oldest pending record if
   * that is later (acknowledged and dropped records are never returned). Gaps mean dropped records.
   */
  readFrom(fromSeq: number, limit: number): SpoolEntry<T>[] {
    this.assertOpen();
    if (!Number.isSafeInteger(fromSeq) || !Number.isSafeInteger(limit) || limit < 1)
      throw new InputError(
        'SWAS-SPOOL-022',
        `readFrom needs an integer seq and a limit of at least 1, got ${fromSeq}, ${limit}`,
      );
    let seq = Math.max(fromSeq, this.state.releasedThroughSeq + 1);
    const out: SpoolEntry<T>[] = [];
    for (const segment of this.segments) {
      if (out.length >= limit) break;
      if (segment.lastSeq < seq) continue;
      seq = Math.max(seq, segment.firstSeq);
      for (const found of segment.read(seq, limit - out.length)) {
        out.push({ seq: found.seq, record: JSON.parse(found.payload.toString('utf8')) as T });
      }
      seq = segment.lastSeq + 1;
    }
    return out;
  }

  /**
   * Marks every record up to and including `upToSeq` as delivered: the position is persisted durably before
   * returning (so they are never replayed after a crash) and fully acknowledged segments are deleted.
   */
  ack(upToSeq: number): void {
    this.assertOpen();
    if (!Number.isSafeInteger(upToSeq) || upToSeq >= this.nextSeq) {
      throw new InputError(
        'SWAS-SPOOL-023',
        `cannot ack seq ${upToSeq} in spool ${this.options.dir}: the last seq handed out is ${this.nextSeq - 1}`,
      );
    }
    if (upToSeq <= this.state.releasedThroughSeq) return;
    this.saveState({ ...this.state, releasedThroughSeq: upToSeq });
    while (this.segments[0] && this.segments[0].lastSeq <= upToSeq) this.removeOldest();
  }

  /** What the spool holds now. */
  stats(): SpoolStats {
    const released = this.state.releasedThroughSeq;
    let pendingRecords = 0;
    let pendingBytes = 0;
    let oldestSeq = this.nextSeq;
    for (const segment of this.segments) {
      const count = segment.countAfter(released);
      if (count === 0) continue;
      oldestSeq = Math.min(oldestSeq, segment.lastSeq - count + 1);
      pendingRecords += count;
      pendingBytes += segment.bytesAfter(released);
    }
    const { droppedRecords } = this.state;
    return {
      pendingRecords,
      pendingBytes,
      droppedRecords,
      oldestSeq,
      nextSeq: this.nextSeq,
      diskBytes: this.diskBytes,
    };
  }

  /** Flushes, closes the files and releases the directory; further calls fail. Safe to call twice. */
  close(): void {
    if (this.unlock === null) return;
    try {
      this.segments.at(-1)?.seal();
      this.syncDirectoryIfDirty();
    } finally {
      this.unlock();
      this.unlock = null;
    }
  }

  /** Drops oldest segments until `incoming` more bytes fit under maxBytes, counting unacknowledged records. */
  private makeRoom(incoming: number): void {
    while (this.diskBytes + incoming > this.options.maxBytes && this.segments.length > 0) {
      const oldest = this.segments[0]!;
      const released = this.state.releasedThroughSeq;
      // The state goes first: a crash before the delete leaves a segment that the next open discards.
      this.saveState({
        releasedThroughSeq: Math.max(released, oldest.lastSeq),
        droppedRecords: this.state.droppedRecords + oldest.countAfter(released),
      });
      this.removeOldest();
    }
  }

  private removeOldest(): void {
    const oldest = this.segments.shift();
    if (!oldest) return;
    oldest.remove();
    this.diskBytes -= oldest.bytes;
  }

  private startSegment(): SpoolSegment {
    const segment = SpoolSegment.create(this.options.dir, this.nextSeq);
    this.segments.push(segment);
    this.dirDirty = true;
    return segment;
  }

  private syncDirectoryIfDirty(): void {
    if (!this.dirDirty) return;
    syncDirectory(this.options.dir);
    this.dirDirty = false;
  }

  private saveState(state: SpoolState): void {
    writeSpoolState(this.options.dir, state);
    this.state = state;
  }

  private assertOpen(): void {
    if (this.unlock === null) throw new Error(`spool ${this.options.dir} is closed`);
  }
}

/** What recovery kept, and notes on anything it had to cut. */
interface Recovered {
  readonly segments: SpoolSegment[];
  readonly state: SpoolState;
  readonly notes: string[];
}

function prepareDirectory(dir: string): void {
  const fail = (why: string, cause?: unknown): SpoolConfigError =>
    new SpoolConfigError(
      'SWAS-SPOOL-003',
      `cannot use ${dir} as the spool directory: ${why}; create it writable for the agent or choose another path`,
      { cause },
    );
  let isDirectory: boolean | null = null;
  try {
    isDirectory = statSync(dir).isDirectory();
  } catch {
    // Missing: created below.
  }
  if (isDirectory === false) throw fail('it exists and is not a directory');
  try {
    mkdirSync(dir, { recursive: true });
  } catch (error) {
    throw fail(errorMessage(error), error);
  }
}

function listSegmentFiles(dir: string): { name: string; firstSeq: number }[] {
  return readdirSync(dir)
    .map((name) => ({ name, firstSeq: parseSegmentFileName(name) }))
    .filter((entry): entry is { name: string; firstSeq: number } => entry.firstSeq !== null)
    .sort((a, b) => a.firstSeq - b.firstSeq);
}

/**
 * Reads the state and every segment, deleting released segments and cutting damaged records. Records lost
 * from the middle of the spool (a damaged record with later segments after it) count as dropped.
 */
function recover(dir: string): Recovered {
  let state = readSpoolState(dir);
  rmSync(join(dir, 'state.json.tmp'), { force: true });
  const files = listSegmentFiles(dir);
  const segments: SpoolSegment[] = [];
  const notes: string[] = [];
  let lost = 0;
  for (const [i, file] of files.entries()) {
    const next = files[i + 1];
    if (next && next.firstSeq - 1 <= state.releasedThroughSeq) {
      unlinkSync(join(dir, file.name));
      continue;
    }
    const { segment, problem } = SpoolSegment.recover(dir, file.name, file.firstSeq);
    const previous = segments.at(-1);
    if (previous && segment.count > 0 && segment.firstSeq <= previous.lastSeq) {
      throw new SpoolCorruptionError(
        'SWAS-SPOOL-007',
        `spool segments ${previous.path} and ${segment.path} hold overlapping sequence numbers; ` +
          'the files were edited or copied in; remove the spool directory to start empty',
      );
    }
    if (problem !== null) {
      const gap = next
        ? Math.max(0, next.firstSeq - 1 - Math.max(segment.lastSeq, state.releasedThroughSeq))
        : 0;
      lost += gap;
      notes.push(
        `truncated ${segment.path} after seq ${segment.lastSeq}: ${problem}${gap ? ` (${gap} records lost)` : ''}`,
      );
    }
    if (segment.count === 0 || segment.lastSeq <= state.releasedThroughSeq) segment.remove();
    else segments.push(segment);
  }
  if (lost > 0) {
    state = { ...state, droppedRecords: state.droppedRecords + lost };
    writeSpoolState(dir, state);
  }
  return { segments, state, notes };
}
