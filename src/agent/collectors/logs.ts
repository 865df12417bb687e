import type { FileHandle } from 'node:fs/promises';
import { InputError, errorMessage } from '../../core/index.js';
import { findRotatedFile, openIfPresent, scanLines, type FileIdentity } from './logReader.js';
import { compilePattern } from './patterns.js';
import { sample } from './procfs.js';
import type { CollectedSample, Collector } from './types.js';

/** A log file the agent watches: its size against a limit, when it last rotated, and lines matching patterns. */
export interface LogWatchConfig {
  /** The `log` label, e.g. `app`. */
  readonly name: string;
  /** Path of the live log file, e.g. /var/log/app/app.log. */
  readonly path: string;
  /** Size the log must stay under (exported as swas_agent_log_size_limit_bytes for alert rules). */
  readonly max_bytes?: number | undefined;
  /** Pattern name → RE2 pattern; each line counts once per pattern it matches, e.g. `{ error: 'ERROR|FATAL' }`. */
  readonly patterns?: Readonly<Record<string, string>> | undefined;
  /** Most bytes read per collection; older appended bytes beyond it are skipped and counted. @default 8 MiB */
  readonly read_limit_bytes?: number | undefined;
}

/** A log watch checked and with its patterns compiled. */
export interface CompiledLogWatch {
  readonly name: string;
  readonly path: string;
  readonly maxBytes: number | undefined;
  readonly patterns: ReadonlyArray<readonly [string, RegExp]>;
  readonly readLimit: number;
}

/** @default for read_limit_bytes */
export const DEFAULT_LOG_READ_LIMIT_BYTES = 8 * 1024 * 1024;

/** What the agent remembers about one log between collections. */
interface LogState {
  /** False until the first look; then reading starts at the end, so only new lines count. */
  seen: boolean;
  /** The file read last time; null while the log is missing. */
  identity: FileIdentity | null;
  /** Offset just after the last complete line counted. */
  offset: number;
  /** Unix ms of the last rotation (or the file's creation), null until known. */
  lastRotation: number | null;
  readonly matched: Map<string, number>;
  skipped: number;
  readErrors: number;
}

function positiveInteger(value: number | undefined, where: string): void {
  if (value !== undefined && !(Number.isInteger(value) && value > 0))
    throw new InputError('SWAS-AGENT-003', `${where} must be a positive whole number of bytes, got ${value}`);
}

/** Checks names, paths and limits and compiles patterns; throws an InputError naming the bad watch. */
export function compileLogWatches(watches: readonly LogWatchConfig[]): CompiledLogWatch[] {
  const seen = new Set<string>();
  return watches.map((watch, i) => {
    const where = `log_watches[${i}] (${watch.name})`;
    if (watch.name === '')
      throw new InputError('SWAS-AGENT-003', `log_watches[${i}]: name must not be empty`);
    if (seen.has(watch.name))
      throw new InputError(
        'SWAS-AGENT-003',
        `${where}: the name is used twice; give each log watch its own name`,
      );
    seen.add(watch.name);
    if (!watch.path.startsWith('/'))
      throw new InputError(
        'SWAS-AGENT-003',
        `${where}.path must be absolute, e.g. /var/log/app.log; got "${watch.path}"`,
      );
    positiveInteger(watch.max_bytes, `${where}.max_bytes`);
    positiveInteger(watch.read_limit_bytes, `${where}.read_limit_bytes`);
    const patterns = Object.entries(watch.patterns ?? {}).map(
      ([name, pattern]) => [name, compilePattern(pattern, `${where}.patterns.${name}`)] as const,
    );
    return {
      name: watch.name,
      path: watch.path,
      maxBytes: watch.max_bytes,
      patterns,
      readLimit: watch.read_limit_bytes ?? DEFAULT_LOG_READ_LIMIT_BYTES,
    };
  });
}

function newState(): LogState {
  return {
    seen: false,
    identity: null,
    offset: 0,
    lastRotation: null,
    matched: new Map(),
    skipped: 0,
    readErrors: 0,
  };
}

/** When a file came to be: its birth time where the filesystem records one, else `fallback`. */
function createdAt(stats: { birthtimeMs: number }, fallback: number): number {
  return stats.birthtimeMs > 0 ? stats.birthtimeMs : fallback;
}

/**
 * Log watches: swas_agent_log_present, _size_bytes, _size_limit_bytes, _last_rotation_timestamp_seconds,
 * _lines_matched_total{pattern}, _skipped_bytes_total and _read_errors_total, per `log`. Only bytes
 * appended since the last collection are read; rotation (new inode) and truncation restart at the top.
 */
export class LogCollector implements Collector {
  readonly name = 'logs';
  private watches: CompiledLogWatch[] = [];
  private states = new Map<string, LogState>();

  private constructor(private readonly onError: ((message: string) => void) | undefined) {}

  /** Builds the collector; throws an InputError for a bad watch. `onError` hears each failed read of a log. */
  static create(watches: readonly LogWatchConfig[], onError?: (message: string) => void): LogCollector {
    const collector = new LogCollector(onError);
    collector.apply(compileLogWatches(watches));
    return collector;
  }

  /** Switches to new watches (compiled beforehand); a watch with the same name and path keeps its state. */
  apply(watches: CompiledLogWatch[]): void {
    const previous = new Map(this.watches.map((w) => [w.name, w.path]));
    this.watches = watches;
    this.states = new Map(
      watches.map((w) => {
        const kept = previous.get(w.name) === w.path ? this.states.get(w.name) : undefined;
        return [w.name, kept ?? newState()];
      }),
    );
  }

  async collect(now: number): Promise<CollectedSample[]> {
    const perLog = await Promise.all(this.watches.map((watch) => this.collectOne(watch, now)));
    return perLog.flat();
  }

  private async collectOne(watch: CompiledLogWatch, now: number): Promise<CollectedSample[]> {
    const state = this.states.get(watch.name) ?? newState();
    this.states.set(watch.name, state);
    let size: number | null = null;
    try {
      size = await this.follow(watch, state, now);
    } catch (error) {
      state.readErrors += 1;
      this.onError?.(
        `log watch ${watch.name}: cannot read ${watch.path} (${errorMessage(error)}); check the path and that the agent's user may read it`,
      );
    }
    return logSamples(watch, state, size);
  }

  /** Reads what was appended since last time; returns the file's size, or null when it is missing. */
  private async follow(watch: CompiledLogWatch, state: LogState, now: number): Promise<number | null> {
    const file = await openIfPresent(watch.path);
    if (file === null) {
      if (state.identity !== null) await this.finishRotated(watch, state);
      state.identity = null;
      state.offset = 0;
      state.seen = true;
      return null;
    }
    try {
      const stats = await file.stat();
      if (!stats.isFile()) throw new Error('not a regular file');
      const identity = { dev: stats.dev, ino: stats.ino };
      if (!state.seen) {
        // First look: count only what is written from now on; the file's age stands in for its last rotation.
        Object.assign(state, { seen: true, identity, offset: stats.size });
        state.lastRotation = createdAt(stats, stats.ctimeMs);
      } else if (
        state.identity === null ||
        state.identity.ino !== identity.ino ||
        state.identity.dev !== identity.dev
      ) {
        if (state.identity !== null) await this.finishRotated(watch, state);
        Object.assign(state, { identity, offset: 0, lastRotation: createdAt(stats, now) });
      } else if (stats.size < state.offset) {
        Object.assign(state, { offset: 0, lastRotation: now }); // truncated in place (copytruncate)
      }
      await this.readAppended(file, watch, state, stats.size, false);
      return stats.size;
    } finally {
      await file.close();
    }
  }

  /** Reads the tail of the file the log was rotated away to, when it can still be found beside it. */
  private async finishRotated(watch: CompiledLogWatch, state: LogState): Promise<void> {
    const rotated = state.identity === null ? null : await findRotatedFile(watch.path, state.identity);
    const file = rotated === null ? null : await openIfPresent(rotated);
    if (file === null) return;
    try {
      const { size } = await file.stat();
      if (size > state.offset) await this.readAppended(file, watch, state, size, true);
    } finally {
      await file.close();
    }
  }

  private async readAppended(
    file: FileHandle,
    watch: CompiledLogWatch,
    state: LogState,
    size: number,
    final: boolean,
  ): Promise<void> {
    const backlog = size - state.offset;
    if (backlog <= 0) return;
    // Over the limit: skip the oldest bytes so the newest lines are always the ones counted.
    const skip = Math.max(0, backlog - watch.readLimit);
    const from = state.offset + skip;
    const countLine = (line: string) => {
      for (const [name, pattern] of watch.patterns)
        if (pattern.test(line)) state.matched.set(name, (state.matched.get(name) ?? 0) + 1);
    };
    const result = await scanLines(file, { from, to: size, startsMidLine: skip > 0, final }, countLine);
    state.skipped += skip + result.droppedBytes;
    state.offset = result.consumedTo;
  }
}

function logSamples(watch: CompiledLogWatch, state: LogState, size: number | null): CollectedSample[] {
  const labels = { log: watch.name };
  const out = [sample('swas_agent_log_present', labels, size === null ? 0 : 1)];
  if (size !== null) out.push(sample('swas_agent_log_size_bytes', labels, size));
  if (watch.maxBytes !== undefined)
    out.push(sample('swas_agent_log_size_limit_bytes', labels, watch.maxBytes));
  if (state.lastRotation !== null)
    out.push(sample('swas_agent_log_last_rotation_timestamp_seconds', labels, state.lastRotation / 1000));
  for (const [pattern] of watch.patterns)
    out.push(
      sample('swas_agent_log_lines_matched_total', { ...labels, pattern }, state.matched.get(pattern) ?? 0),
    );
  out.push(sample('swas_agent_log_skipped_bytes_total', labels, state.skipped));
  out.push(sample('swas_agent_log_read_errors_total', labels, state.readErrors));
  return out;
}
