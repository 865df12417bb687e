import { join } from 'node:path';
import type { AppendRejection, AppendResult, Labels, SampleAppender } from '../core/index.js';
import { ChunkFiles } from './ChunkFiles.js';
import { lockDirectory } from './dirLock.js';
import { chunkMetaSize, noChunks, normalizeLabels, SeriesIndex, TsdbSeries } from './SeriesIndex.js';
import type { LabelMatcher, SeriesData, SeriesReader } from './SeriesReader.js';
import { compileTsdbOptions } from './tsdbOptions.js';
import type { CompiledTsdbOptions, EmbeddedTsdbOptions } from './tsdbOptions.js';
import { replayWal, WriteAheadLog } from './WriteAheadLog.js';
import { encodeHeadChunk, encodeSeries } from './walRecords.js';
import { WalReplayer } from './WalReplayer.js';
import { HeadArena } from './HeadArena.js';
import { HeadChunks, type SealableChunk } from './HeadChunks.js';
import { readSeriesBatch, SlabPool } from './readSeries.js';
import {
  addRetention,
  CHUNK_OVERHEAD_BYTES,
  NONE_DROPPED,
  roundTimestamp,
  SerialQueue,
  type RetentionResult,
  type TsdbStats,
} from './tsdbTypes.js';

/** Shared, so the hot path allocates no result per accepted sample. */
const accepted: AppendResult = Object.freeze({ ok: true });

/**
 * The embedded metrics store: series interned with an inverted index, samples in Gorilla-compressed chunks
 * (one head chunk per series in memory, sealed chunks in files), a write-ahead log, and retention.
 *
 * Durability: append() buffers; commit() writes and fsyncs. Every sample appended before a commit() whose
 * promise resolved survives a `kill -9` (and a power loss); samples appended after the last resolved commit
 * may or may not survive. Never appended twice: replay skips what chunk files already hold.
 */
export class EmbeddedTsdb implements SampleAppender, SeriesReader {
  private readonly index = new SeriesIndex();
  private readonly arena = new HeadArena();
  /** Every series' head chunk and last timestamp, by its slot. */
  private readonly heads = new HeadChunks(this.arena);
  /** Up to 8M samples (128 MiB) of decode buffers kept for reuse between queries. */
  private readonly slabs = new SlabPool(1 << 23);
  private readonly rejections: Record<AppendRejection, number> = {
    out_of_order: 0,
    duplicate: 0,
    invalid_labels: 0,
  };
  private readonly sealed = { chunks: 0, samples: 0, dataBytes: 0 };
  private readonly warnings: string[] = [];
  private chunks!: ChunkFiles;
  private wal!: WriteAheadLog;
  private nextRef = 1;
  /**
   * Series by ref for appendRef(), filled as refs are used: a dense array read in scrape order is one
   * cache-friendly load, where the index's Map cost a random memory access per sample at 100k series.
   */
  private readonly appendRefs: (TsdbSeries | undefined)[] = [];
  private readonly queue = new SerialQueue();
  private closed = false;
  private unlock: () => void = () => undefined;

  private constructor(private readonly options: CompiledTsdbOptions) {}

  /** Opens (or creates) the store in `options.dir`: reads chunk files, then replays checkpoint and WAL. */
  static open(options: EmbeddedTsdbOptions): Promise<EmbeddedTsdb> {
    try {
      const db = new EmbeddedTsdb(compileTsdbOptions(options));
      db.load();
      return Promise.resolve(db);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  /** Problems found and repaired while opening (each names its file). */
  openWarnings(): readonly string[] {
    return this.warnings;
  }

  /** Appends one sample; refuses samples not newer than the series' last one. Durable after commit(). */
  append(labels: Labels, timestamp: number, v: number): AppendResult {
    this.checkOpen('append');
    const t = roundTimestamp(timestamp);
    const normalized = normalizeLabels(labels);
    if (normalized === null) return this.reject('invalid_labels');
    const series = this.index.get(normalized);
    if (series === undefined) {
      this.storeSample(this.createSeries(normalized), t, v);
      return accepted;
    }
    return this.appendTo(series, t, v);
  }

  /** The reference of the series `labels` name, created when new; null when unusable (no metric name). */
  getOrCreateRef(labels: Labels): number | null {
    this.checkOpen('getOrCreateRef');
    const normalized = normalizeLabels(labels);
    if (normalized === null) return null;
    return (this.index.get(normalized) ?? this.createSeries(normalized)).ref;
  }

  /**
   * Appends one sample to the series `ref` names, with the rules of append(); null when retention forgot
   * that series (references stay valid until then), so the caller gets a new one from getOrCreateRef().
   */
  appendRef(ref: number, timestamp: number, v: number): AppendResult | null {
    if (this.closed) this.checkOpen('appendRef');
    const series = this.appendRefs[ref] ?? this.learnRef(ref);
    if (series === undefined) return null;
    // Scrapes pass whole milliseconds: skip roundTimestamp's checks for them.
    return this.appendTo(series, Number.isInteger(timestamp) ? timestamp : roundTimestamp(timestamp), v);
  }

  private learnRef(ref: number): TsdbSeries | undefined {
    const series = this.index.byReference(ref);
    // Refs only grow; one far beyond the series held (after much churn) is looked up in the index instead.
    if (series === undefined || ref > 2 * this.index.size + 65_536) return series;
    // Grown one slot at a time, so the array stays dense instead of turning into a dictionary.
    while (this.appendRefs.length <= ref) this.appendRefs.push(undefined);
    this.appendRefs[ref] = series;
    return series;
  }

  /**
   * The labels of the series `ref` names (frozen, strings shared with other series); undefined once
   * retention forgot it. Callers that keep labels per series (a scrape cache) can hold these instead of a copy.
   */
  labelsOf(ref: number): Labels | undefined {
    return this.index.byReference(ref)?.labels;
  }

  private checkOpen(method: string): void {
    if (this.closed) throw new Error(`EmbeddedTsdb.${method} called after close()`);
  }

  private createSeries(normalized: Labels): TsdbSeries {
    const series = new TsdbSeries(
      this.nextRef++,
      this.index.canonicalLabels(normalized),
      this.heads.allocate(),
    );
    this.index.add(series);
    this.wal.addSeries(series.ref, series.labels);
    return series;
  }

  private appendTo(series: TsdbSeries, t: number, v: number): AppendResult {
    const lastT = this.heads.lastT(series.slot);
    if (t <= lastT) return this.reject(t === lastT ? 'duplicate' : 'out_of_order');
    this.storeSample(series, t, v);
    return accepted;
  }

  private storeSample(series: TsdbSeries, t: number, v: number): void {
    this.appendSample(series, t, v);
    this.wal.addSample(series.ref, t, v);
  }

  /** Makes every sample appended so far durable (write + fsync); checkpoints the WAL when it has grown. */
  commit(): Promise<void> {
    return this.enqueue(async () => {
      await Promise.all([this.wal.sync(), this.chunks.sync()]);
      if (this.wal.segmentBytes() >= this.options.checkpointAfterBytes) this.checkpoint();
    });
  }

  /** Commits, then closes every file; the store cannot be used afterwards. */
  close(): Promise<void> {
    const done = this.enqueue(async () => {
      await this.wal.close();
      await this.chunks.close();
      this.unlock();
    });
    this.closed = true;
    return done;
  }

  /** How many samples were refused, by reason, since the store was opened. */
  rejectedSamples(): Record<AppendRejection, number> {
    return { ...this.rejections };
  }

  /** Sizes and counters (e.g. bytes per sealed sample = sealedDataBytes / sealedSamples). */
  stats(): TsdbStats {
    let headChunks = 0;
    let headSamples = 0;
    for (const series of this.index.all()) {
      const count = this.heads.count(series.slot);
      if (count === 0) continue;
      headChunks++;
      headSamples += count;
    }
    return {
      series: this.index.size,
      headChunks,
      headSamples,
      sealedChunks: this.sealed.chunks,
      sealedSamples: this.sealed.samples,
      sealedDataBytes: this.sealed.dataBytes,
      chunkFileBytes: this.chunks.totalBytes(),
      walBytes: this.wal.totalBytes(),
      outOfOrderSamples: this.rejections.out_of_order,
      duplicateSamples: this.rejections.duplicate,
      invalidLabelSamples: this.rejections.invalid_labels,
    };
  }

  seriesCount(): number {
    return this.index.size;
  }

  hasMetric(name: string): boolean {
    return this.index.hasMetric(name);
  }

  labelNames(matchers?: readonly LabelMatcher[]): string[] {
    return this.index.labelNames(matchers);
  }

  labelValues(name: string, matchers?: readonly LabelMatcher[]): string[] {
    return this.index.labelValues(name, matchers);
  }

  select(matchers: readonly LabelMatcher[], minT: number, maxT: number): SeriesData[] {
    if (maxT < minT) return [];
    const found = this.index.sortByLabels(this.index.matching(matchers));
    return readSeriesBatch(found, this.chunks, this.heads, minT, maxT, this.slabs.source());
  }

  readScope<T>(fn: () => T): T {
    return this.slabs.scope(fn);
  }

  /**
   * Deletes whole chunk files whose newest sample is older than `t`, and head chunks entirely older than
   * `t`; series left without data are forgotten. Samples older than `t` in files that are kept stay readable.
   */
  deleteBefore(t: number): Promise<RetentionResult> {
    return this.enqueue(() => Promise.resolve(this.dropFiles((file) => file.maxT < t, t)));
  }

  /**
   * Applies the configured retention at time `now` (ms): seals heads quiet for chunkSpanMs so they can age
   * out, deletes files older than retentionMs, then the oldest files while chunk files + WAL exceed
   * retentionBytes.
   */
  enforceRetention(now: number): Promise<RetentionResult> {
    return this.enqueue(() => {
      const byTime = this.dropFiles(
        (file) => file.maxT < now - this.options.retentionMs,
        now - this.options.retentionMs,
      );
      for (const series of this.index.all()) {
        const slot = series.slot;
        if (this.heads.count(slot) > 0 && this.heads.maxT(slot) < now - this.options.chunkSpanMs)
          this.seal(series);
      }
      const bySize = this.options.retentionBytes > 0 ? this.dropForSize() : NONE_DROPPED;
      return Promise.resolve(addRetention(byTime, bySize));
    });
  }

  /** Deletes the oldest chunk files until chunk files + WAL fit retentionBytes (checkpointing first). */
  private dropForSize(): RetentionResult {
    const size = (): number => this.chunks.totalBytes() + this.wal.totalBytes();
    if (size() <= this.options.retentionBytes) return NONE_DROPPED;
    this.checkpoint();
    let excess = size() - this.options.retentionBytes;
    const doomed = new Set<number>();
    for (const file of this.chunks.list()) {
      if (excess <= 0) break;
      doomed.add(file.seq);
      excess -= file.size;
    }
    return this.dropFiles((file) => doomed.has(file.seq), -Infinity);
  }

  // Commits, retention and close run one at a time, in the order they were asked for.
  private enqueue<T>(task: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new Error('EmbeddedTsdb used after close()'));
    return this.queue.run(task);
  }

  private reject(reason: AppendRejection): AppendResult {
    this.rejections[reason]++;
    return { ok: false, reason };
  }

  private appendSample(series: TsdbSeries, t: number, v: number): void {
    const heads = this.heads;
    const slot = series.slot;
    const count = heads.count(slot);
    // A full chunk predicts its successor's size: start there rather than growing through every slot size.
    let capacity: number | undefined;
    if (
      count > 0 &&
      (count >= this.options.chunkSamples || t - heads.minT(slot) >= this.options.chunkSpanMs)
    ) {
      if (count >= this.options.chunkSamples) capacity = heads.byteLength(slot);
      this.seal(series);
    }
    heads.append(slot, t, v, capacity);
  }

  private seal(series: TsdbSeries): void {
    const heads = this.heads;
    const slot = series.slot;
    const count = heads.count(slot);
    if (count === 0) return;
    const head: SealableChunk = {
      count,
      minT: heads.minT(slot),
      maxT: heads.maxT(slot),
      view: () => heads.view(slot),
    };
    const [seq, offset, length] = this.chunks.write(series.ref, head);
    if (series.chunks === noChunks) series.chunks = [];
    series.chunks.push(seq, offset, length, head.minT, head.maxT, count);
    heads.release(slot);
    this.countSealed(count, length, 1);
  }

  private countSealed(samples: number, recordBytes: number, sign: 1 | -1): void {
    this.sealed.chunks += sign;
    this.sealed.samples += sign * samples;
    this.sealed.dataBytes += sign * (recordBytes - CHUNK_OVERHEAD_BYTES);
  }

  /** Deletes the chunk files `doomed` picks; heads entirely older than `headCutoff` go too. */
  private dropFiles(
    doomed: (file: { seq: number; maxT: number }) => boolean,
    headCutoff: number,
  ): RetentionResult {
    const deleted = new Set<number>();
    let bytesDeleted = 0;
    for (const file of this.chunks.list()) {
      if (!doomed(file)) continue;
      this.chunks.remove(file.seq);
      deleted.add(file.seq);
      bytesDeleted += file.size;
    }
    let seriesRemoved = 0;
    let headsDropped = 0;
    for (const series of [...this.index.all()]) {
      if (deleted.size > 0) this.forgetChunks(series, deleted);
      const slot = series.slot;
      if (this.heads.count(slot) > 0 && this.heads.maxT(slot) < headCutoff) {
        this.heads.release(slot);
        headsDropped++;
      }
      if (this.heads.count(slot) === 0 && series.chunks.length === 0) {
        this.index.remove(series);
        this.heads.free(slot);
        this.appendRefs[series.ref] = undefined;
        seriesRemoved++;
      }
    }
    // A checkpoint now, so a crash cannot replay the deleted data back from the WAL.
    if (deleted.size > 0 || headsDropped > 0) this.checkpoint();
    return { filesDeleted: deleted.size, bytesDeleted, seriesRemoved };
  }

  private forgetChunks(series: TsdbSeries, deleted: ReadonlySet<number>): void {
    const kept: number[] = [];
    const metas = series.chunks;
    for (let i = 0; i < metas.length; i += chunkMetaSize) {
      if (deleted.has(metas[i] ?? 0)) this.countSealed(metas[i + 5] ?? 0, metas[i + 2] ?? 0, -1);
      else for (let j = 0; j < chunkMetaSize; j++) kept.push(metas[i + j] ?? 0);
    }
    series.chunks = kept.length === 0 ? noChunks : kept;
  }

  /**
   * Replaces the WAL so far by a checkpoint of every series and its head chunk. Runs without yielding so
   * no append slips between the rotation and the snapshot; chunk files are fsynced first because the
   * segments about to be deleted are the only other copy of their samples.
   */
  private checkpoint(): void {
    this.chunks.syncBlocking();
    const upTo = this.wal.rotate();
    this.wal.checkpoint(upTo, this.checkpointRecords());
  }

  private *checkpointRecords(): Generator<Buffer> {
    for (const series of this.index.all()) {
      yield encodeSeries(series.ref, series.labels);
      const slot = series.slot;
      const count = this.heads.count(slot);
      if (count > 0) yield encodeHeadChunk(series.ref, this.heads.minT(slot), count, this.heads.view(slot));
    }
  }

  private load(): void {
    const { dir } = this.options;
    this.unlock = lockDirectory(dir);
    const warn = (message: string): void => {
      if (this.warnings.length < 1000) this.warnings.push(message);
      this.options.onWarning(message);
    };
    const found = new Map<number, number[]>();
    let maxRef = 0;
    this.chunks = ChunkFiles.open(
      join(dir, 'chunks'),
      {
        fileBytes: this.options.chunkFileBytes,
        fileSpanMs: this.options.chunkFileSpanMs,
        cacheBytes: this.options.chunkCacheBytes,
      },
      (ref, seq, offset, length, minT, maxT, count) => {
        let metas = found.get(ref);
        if (metas === undefined) found.set(ref, (metas = []));
        metas.push(seq, offset, length, minT, maxT, count);
        maxRef = Math.max(maxRef, ref);
        this.countSealed(count, length, 1);
      },
      warn,
    );
    const replay = new WalReplayer(
      this.index,
      this.heads,
      found,
      (ref, labels) => {
        const series = new TsdbSeries(ref, this.index.canonicalLabels(labels), this.heads.allocate());
        this.index.add(series);
        this.nextRef = Math.max(this.nextRef, ref + 1);
        return series;
      },
      (series, t, v) => this.appendSample(series, t, v),
    );
    const result = replayWal(join(dir, 'wal'), (payload) => replay.record(payload), warn);
    if (replay.unknownRefs > 0) {
      warn(
        `write-ahead log in ${dir} has ${replay.unknownRefs} samples of series it never declared; skipped`,
      );
    }
    if (found.size > 0) {
      // Chunks sealed after the last commit whose series record never reached the WAL: uncommitted data.
      let orphans = 0;
      for (const metas of found.values()) {
        orphans += metas.length / chunkMetaSize;
        for (let i = 0; i < metas.length; i += chunkMetaSize)
          this.countSealed(metas[i + 5] ?? 0, metas[i + 2] ?? 0, -1);
      }
      warn(
        `chunk files in ${join(dir, 'chunks')} hold ${orphans} uncommitted chunks of ${found.size} series ` +
          'the write-ahead log never declared (a crash before commit); they are ignored and age out with retention',
      );
    }
    this.nextRef = Math.max(this.nextRef, maxRef + 1);
    this.wal = WriteAheadLog.create(
      join(dir, 'wal'),
      result.nextSeq,
      this.options.walSegmentBytes,
      result.segmentBytes,
    );
  }
}
