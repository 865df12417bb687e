import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { errorMessage } from '../core/index.js';
import { SpoolConfigError, SpoolCorruptionError } from './spoolErrors.js';

const stateFile = 'state.json';
const lockFile = 'LOCK';

/** What the spool must remember across restarts besides the records themselves. */
export interface SpoolState {
  /** Every record with a sequence number up to this one was acknowledged or dropped and is never replayed. */
  readonly releasedThroughSeq: number;
  /** Records dropped unacknowledged to keep the spool within its size, over the spool's whole life. */
  readonly droppedRecords: number;
}

/** Reads the persisted state of the spool in `dir`; a spool that never persisted any starts from zero. */
export function readSpoolState(dir: string): SpoolState {
  const path = join(dir, stateFile);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      return { releasedThroughSeq: 0, droppedRecords: 0 };
    throw new SpoolConfigError('SWAS-SPOOL-005', `cannot read spool state ${path}: ${errorMessage(error)}`, {
      cause: error,
    });
  }
  const state = parseState(text);
  if (state === null) {
    throw new SpoolCorruptionError(
      'SWAS-SPOOL-006',
      `spool state ${path} is not valid (expected {"releasedThroughSeq": n, "droppedRecords": n}); ` +
        'remove the spool directory to start empty (unsent records in it are lost)',
    );
  }
  return state;
}

function parseState(text: string): SpoolState | null {
  try {
    const value = JSON.parse(text) as Partial<Record<keyof SpoolState, unknown>>;
    const released = value.releasedThroughSeq;
    const dropped = value.droppedRecords;
    if (!Number.isSafeInteger(released) || !Number.isSafeInteger(dropped)) return null;
    if ((released as number) < 0 || (dropped as number) < 0) return null;
    return { releasedThroughSeq: released as number, droppedRecords: dropped as number };
  } catch {
    return null;
  }
}

/** Persists the state atomically and durably: temporary file, fsync, rename over the old one, fsync the dir. */
export function writeSpoolState(dir: string, state: SpoolState): void {
  const path = join(dir, stateFile);
  const temp = `${path}.tmp`;
  const fd = openSync(temp, 'w');
  try {
    writeSync(fd, `${JSON.stringify(state)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, path);
  syncDirectory(dir);
}

/** Makes file creations, renames and deletions in `dir` durable. */
export function syncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Directories opened by a Spool in this process, so a second Spool on the same files is refused. */
const openHere = new Set<string>();

/**
 * Claims `dir` for one Spool: a `LOCK` file with this process's pid (a lock left by a dead process, e.g.
 * after kill -9, is taken over). Returns the function that releases the claim.
 */
export function lockSpoolDirectory(dir: string): () => void {
  const key = resolve(dir);
  const path = join(key, lockFile);
  const holder = readLockHolder(path);
  const heldElsewhere = holder !== null && holder !== process.pid && isAlive(holder);
  if (heldElsewhere || openHere.has(key)) {
    throw new SpoolConfigError(
      'SWAS-SPOOL-004',
      `spool directory ${key} is already in use by ${heldElsewhere ? `process ${holder}` : 'this process'}; ` +
        'give each agent its own spool directory',
    );
  }
  try {
    const fd = openSync(path, 'w');
    try {
      writeSync(fd, `${process.pid}\n`);
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    throw new SpoolConfigError(
      'SWAS-SPOOL-003',
      `spool directory ${key} is not writable (${errorMessage(error)}); fix its permissions or choose another directory`,
      { cause: error },
    );
  }
  openHere.add(key);
  return () => {
    openHere.delete(key);
    if (readLockHolder(path) === process.pid) rmSync(path, { force: true });
  };
}

function readLockHolder(path: string): number | null {
  try {
    const pid = Number.parseInt(readFileSync(path, 'utf8'), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
