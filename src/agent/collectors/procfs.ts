import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SwasError } from '../../core/index.js';
import type { CollectedSample, ProcOptions } from './types.js';

/** Kernel clock ticks per second in /proc/stat and /proc/<pid>/stat (USER_HZ, 100 on every Linux ABI). */
export const USER_HZ = 100;

/** The procfs root to read from. */
export function procRoot(options: ProcOptions | undefined): string {
  return options?.procRoot ?? '/proc';
}

/** Reads a procfs file as text; a missing one is an error that names the file and why it matters. */
export async function readProcText(root: string, relative: string): Promise<string> {
  const path = join(root, relative);
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new SwasError(
      'SWAS-AGENT-010',
      `cannot read ${path} (${reason}); the agent's host collectors need Linux procfs mounted at ${root}`,
      { cause: error },
    );
  }
}

/** Builds one sample; keeps collector code short. */
export function sample(name: string, labels: Record<string, string>, value: number): CollectedSample {
  return { name, labels, value };
}

/** Splits on runs of spaces and tabs, ignoring leading and trailing blanks. */
export function fields(line: string): string[] {
  return line
    .trim()
    .split(/\s+/)
    .filter((f) => f !== '');
}

/** Parses a decimal field; NaN becomes null so a strange kernel line is skipped instead of exported. */
export function toNumber(text: string | undefined): number | null {
  if (text === undefined) return null;
  const value = Number(text);
  return Number.isFinite(value) ? value : null;
}
