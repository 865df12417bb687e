import { existsSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { LoadedConfig } from '../config/index.js';
import { errorMessage, SwasError } from '../core/index.js';

/** Exit codes operators can script against. */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

/** A failure the CLI reports and exits with, without a stack trace. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.failure,
  ) {
    super(message);
  }
}

/** Finds the config file: --config, else ./swas.yaml; null when neither exists and none was asked for. */
export function configPath(option: string | undefined): string | null {
  if (option !== undefined) return resolve(option);
  return existsSync('swas.yaml') ? resolve('swas.yaml') : null;
}

/** Loads the config, turning config errors into exit code 2 with every problem listed. */
export async function loadConfigOrExit(file: string): Promise<LoadedConfig> {
  // Loaded here, not at the top: only commands that read swas.yaml pay for the config and PromQL modules.
  const [{ ConfigError, loadConfig }, { checkExpression }] = await Promise.all([
    import('../config/index.js'),
    import('../server/index.js'),
  ]);
  try {
    return await loadConfig(file, { checkExpression });
  } catch (error) {
    if (error instanceof ConfigError) throw new CliError(error.message, EXIT.usage);
    throw error;
  }
}

/** The data directory: --data wins, else data_dir from the config (relative to the config file), else ./data. */
export function dataDirOf(option: string | undefined, loaded: LoadedConfig | null): string {
  if (option !== undefined) return resolve(option);
  if (loaded === null) return resolve('data');
  const dir = loaded.config.data_dir;
  return isAbsolute(dir) ? dir : resolve(dirname(loaded.file), dir);
}

/** Prints an error for a person and returns the exit code to use. */
export function reportError(error: unknown): number {
  if (error instanceof CliError) {
    process.stderr.write(`swas: ${error.message}\n`);
    return error.exitCode;
  }
  if (error instanceof SwasError) {
    process.stderr.write(`swas: ${error.code}: ${error.message}\n`);
    return EXIT.failure;
  }
  process.stderr.write(
    `swas: unexpected error: ${errorMessage(error)}\n${error instanceof Error ? (error.stack ?? '') : ''}\n`,
  );
  return EXIT.failure;
}

/** Prints rows as an aligned table, or as JSON for scripts. */
export function printRows(
  rows: readonly Record<string, unknown>[],
  columns: readonly string[],
  json: boolean,
): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    return;
  }
  const cell = (v: unknown): string => {
    if (v === null || v === undefined) return '-';
    if (typeof v === 'string') return v;
    return JSON.stringify(v) ?? '-';
  };
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (values: string[]) =>
    values
      .map((v, i) => v.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  process.stdout.write(`${line(columns.map((c) => c.toUpperCase()))}\n`);
  for (const row of rows) process.stdout.write(`${line(columns.map((c) => cell(row[c])))}\n`);
}
