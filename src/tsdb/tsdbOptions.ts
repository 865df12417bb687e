import { TsdbConfigError } from './tsdbErrors.js';

/** How to open an EmbeddedTsdb. */
export interface EmbeddedTsdbOptions {
  /** Data directory; created if missing. Holds `chunks/` and `wal/`. */
  readonly dir: string;
  /** Time retention used by enforceRetention(now). @default 15 days */
  readonly retentionMs?: number;
  /** Size retention (chunk files + WAL) used by enforceRetention; 0 means no limit. @default 0 */
  readonly retentionBytes?: number;
  /** Samples per chunk before it is sealed. @default 120 */
  readonly chunkSamples?: number;
  /** Time span of a chunk before it is sealed, and quiet time after which a head is sealed. @default 2 h */
  readonly chunkSpanMs?: number;
  /** Size at which a chunk file is closed and a new one started. @default 64 MiB */
  readonly chunkFileBytes?: number;
  /** Time span of the chunks in one file before a new one is started (the granularity of retention). @default 2 h */
  readonly chunkFileSpanMs?: number;
  /** Memory for recently read blocks of chunk files (like Prometheus's memory-mapped chunks); 0 turns it off. @default 16 MiB */
  readonly chunkCacheBytes?: number;
  /** Size of one WAL segment file. @default 32 MiB */
  readonly walSegmentBytes?: number;
  /** WAL size after which commit() writes a checkpoint and deletes the covered segments. @default 128 MiB */
  readonly checkpointAfterBytes?: number;
  /** Receives recoverable problems found on disk (torn WAL tail, corrupt chunk file), each naming the file. */
  readonly onWarning?: (message: string) => void;
}

/** Options with defaults applied and checked. */
export type CompiledTsdbOptions = Readonly<Required<EmbeddedTsdbOptions>>;

const hour = 3_600_000;
const mib = 1 << 20;

/** Applies defaults and checks bounds; a bad value is a TsdbConfigError naming the option. */
export function compileTsdbOptions(options: EmbeddedTsdbOptions): CompiledTsdbOptions {
  const compiled: CompiledTsdbOptions = {
    dir: options.dir,
    retentionMs: options.retentionMs ?? 15 * 24 * hour,
    retentionBytes: options.retentionBytes ?? 0,
    chunkSamples: options.chunkSamples ?? 120,
    chunkSpanMs: options.chunkSpanMs ?? 2 * hour,
    chunkFileBytes: options.chunkFileBytes ?? 64 * mib,
    chunkFileSpanMs: options.chunkFileSpanMs ?? 2 * hour,
    chunkCacheBytes: options.chunkCacheBytes ?? 16 * mib,
    walSegmentBytes: options.walSegmentBytes ?? 32 * mib,
    checkpointAfterBytes: options.checkpointAfterBytes ?? 128 * mib,
    onWarning: options.onWarning ?? (() => undefined),
  };
  if (compiled.dir === '')
    throw new TsdbConfigError('SWAS-TSDB-010', 'tsdb dir is empty; set a data directory');
  const positive: (keyof CompiledTsdbOptions)[] = [
    'retentionMs',
    'chunkSamples',
    'chunkSpanMs',
    'chunkFileBytes',
    'chunkFileSpanMs',
    'walSegmentBytes',
    'checkpointAfterBytes',
  ];
  for (const key of positive) {
    const value = compiled[key];
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      throw new TsdbConfigError(
        'SWAS-TSDB-011',
        `tsdb option ${key} must be a positive number, got ${String(value)}`,
      );
    }
  }
  if (!Number.isFinite(compiled.chunkCacheBytes) || compiled.chunkCacheBytes < 0) {
    throw new TsdbConfigError(
      'SWAS-TSDB-011',
      `tsdb option chunkCacheBytes must be 0 (no cache) or a positive number, got ${compiled.chunkCacheBytes}`,
    );
  }
  if (!Number.isFinite(compiled.retentionBytes) || compiled.retentionBytes < 0) {
    throw new TsdbConfigError(
      'SWAS-TSDB-011',
      `tsdb option retentionBytes must be 0 (no limit) or a positive number, got ${compiled.retentionBytes}`,
    );
  }
  if (!Number.isInteger(compiled.chunkSamples) || compiled.chunkSamples > 65535) {
    throw new TsdbConfigError(
      'SWAS-TSDB-011',
      `tsdb option chunkSamples must be an integer from 1 to 65535, got ${compiled.chunkSamples}`,
    );
  }
  return Object.freeze(compiled);
}
