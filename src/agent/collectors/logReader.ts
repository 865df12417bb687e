import { open, readdir, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Bytes read from a log at a time. */
const CHUNK_BYTES = 64 * 1024;
/** A line longer than this is matched in pieces rather than held back waiting for its newline. */
export const MAX_LINE_BYTES = 64 * 1024;

/** Where a scan of a log's appended bytes ended. */
export interface ScanResult {
  /** Offset just after the last complete line read; an unfinished last line is read again next time. */
  readonly consumedTo: number;
  /** Bytes passed over before the first whole line because the scan began mid-line. */
  readonly droppedBytes: number;
}

/** How to scan a range of a log file. */
export interface ScanRange {
  readonly from: number;
  readonly to: number;
  /** `from` may fall inside a line: pass over everything up to the first newline at or after `from - 1`. */
  readonly startsMidLine: boolean;
  /** The file gets no more writes (rotated away): an unfinished last line counts as a line. */
  readonly final: boolean;
}

/** Splits bytes [from, to) of a file into lines and hands each to `onLine`, in order. */
export async function scanLines(
  file: FileHandle,
  range: ScanRange,
  onLine: (line: string) => void,
): Promise<ScanResult> {
  // Reading one byte early tells whether `from` is already a line start (that byte is a newline).
  let pos = range.startsMidLine ? Math.max(0, range.from - 1) : range.from;
  let dropping = range.startsMidLine && range.from > 0;
  let firstLineAt = range.from;
  let carry: Buffer = Buffer.alloc(0);
  const chunk = Buffer.alloc(CHUNK_BYTES);
  const emit = (data: Buffer, start: number, end: number) => {
    const stop = end > start && data[end - 1] === 13 ? end - 1 : end;
    onLine(data.toString('utf8', start, stop));
  };
  while (pos < range.to) {
    const { bytesRead } = await file.read(chunk, 0, Math.min(CHUNK_BYTES, range.to - pos), pos);
    if (bytesRead === 0) break;
    pos += bytesRead;
    const data =
      carry.length === 0
        ? chunk.subarray(0, bytesRead)
        : Buffer.concat([carry, chunk.subarray(0, bytesRead)]);
    const dataStart = pos - data.length;
    let start = 0;
    for (let nl = data.indexOf(10, start); nl >= 0; nl = data.indexOf(10, start)) {
      if (dropping) {
        dropping = false;
        firstLineAt = Math.max(range.from, dataStart + nl + 1);
      } else emit(data, start, nl);
      start = nl + 1;
    }
    if (dropping) {
      carry = Buffer.alloc(0);
      firstLineAt = pos;
    } else if (data.length - start >= MAX_LINE_BYTES) {
      emit(data, start, data.length);
      carry = Buffer.alloc(0);
    } else carry = Buffer.from(data.subarray(start));
  }
  if (carry.length > 0 && range.final) {
    emit(carry, 0, carry.length);
    carry = Buffer.alloc(0);
  }
  return { consumedTo: pos - carry.length, droppedBytes: firstLineAt - range.from };
}

/** The identity of a file: device and inode. */
export interface FileIdentity {
  readonly dev: number;
  readonly ino: number;
}

/**
 * Finds where a rotated log went: a sibling named like it (app.log.1, app.log-20260101) with the same
 * inode, so lines written between the last collection and the rotation are still read. Null if gone.
 */
export async function findRotatedFile(path: string, identity: FileIdentity): Promise<string | null> {
  const dir = dirname(path);
  const base = basename(path);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return null;
  }
  for (const name of names) {
    if (name === base || !name.startsWith(base)) continue;
    try {
      const stats = await stat(join(dir, name));
      if (stats.ino === identity.ino && stats.dev === identity.dev) return join(dir, name);
    } catch {
      // removed while we looked
    }
  }
  return null;
}

/** Opens a file for reading; null when it does not exist (a log not yet created or just rotated away). */
export async function openIfPresent(path: string): Promise<FileHandle | null> {
  try {
    return await open(path, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw error;
  }
}
