import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TsdbConfigError } from './tsdbErrors.js';

/**
 * Claims a data directory for this process with a `LOCK` file holding the pid, so two servers never write
 * the same WAL. A lock left by a dead process (kill -9) is taken over; this process may reopen its own.
 */
export function lockDirectory(dir: string): () => void {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'LOCK');
  const holder = readHolder(path);
  if (holder !== null && holder !== process.pid && isAlive(holder)) {
    throw new TsdbConfigError(
      'SWAS-TSDB-012',
      `tsdb data directory ${dir} is in use by process ${holder}; stop it or use another directory`,
    );
  }
  writeFileSync(path, `${process.pid}\n`);
  return () => {
    if (readHolder(path) === process.pid) rmSync(path, { force: true });
  };
}

function readHolder(path: string): number | null {
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
