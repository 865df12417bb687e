import {
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { errorMessage, InputError, labelsKey } from '../core/index.js';
import type { AppendResult, Labels, SampleAppender } from '../core/index.js';
// Imported from the file, not ingest/index.js: ingest's index imports tsdb, which would make a cycle.
import { encodeRemoteWriteBody } from './remoteWriteEncode.js';

/** Where and how to send remote write; defaults follow Prometheus's queue_config where it has one. */
export interface RemoteWriteSenderOptions {
  /** The receiver's remote-write endpoint, e.g. `http://vm:8428/api/v1/write`. */
  readonly url: string;
  /** Directory of the on-disk queue; created if missing; batches left there are sent after a restart. */
  readonly queueDir: string;
  /** Extra request headers (authorization, tenant). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Store that receives every sample first; only samples it accepts are sent on. */
  readonly next?: SampleAppender;
  /** Queue bound on disk; past it the oldest batches are dropped and counted. @default 268435456 */
  readonly maxQueueBytes?: number;
  /** Samples per request. @default 2000 */
  readonly maxSamplesPerBatch?: number;
  /** How long a partial batch may wait before it is queued. @default 1000 */
  readonly flushIntervalMs?: number;
  /** Limit per request. @default 30000 */
  readonly timeoutMs?: number;
  /** First retry delay; doubles per failure up to maxBackoffMs. @default 30 */
  readonly minBackoffMs?: number;
  /** @default 5000 */
  readonly maxBackoffMs?: number;
  /** Called with a message when a request fails (for the log). */
  readonly onError?: (message: string) => void;
}

/** Counters of one sender since it was created (queued* describe the queue now, including batches from disk). */
export interface RemoteWriteSenderStats {
  readonly queuedBatches: number;
  readonly queuedBytes: number;
  readonly queuedSamples: number;
  readonly sentSamples: number;
  /** Dropped because the queue was full (oldest first). */
  readonly droppedSamples: number;
  /** Refused by the receiver with a 4xx other than 429; Prometheus does not retry those either. */
  readonly rejectedSamples: number;
  readonly failedAttempts: number;
  readonly lastError?: string;
}

interface QueuedBatch {
  readonly seq: number;
  readonly path: string;
  readonly bytes: number;
  readonly samples: number;
}

interface PendingSeries {
  readonly labels: Labels;
  readonly t: number[];
  readonly v: number[];
}

type SendResult = 'sent' | 'rejected' | 'retry';

const BATCH_FILE = /^(\d{12})-(\d+)\.rw$/;

function positiveInt(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v <= 0) {
    throw new InputError(
      'SWAS-TSDB-040',
      `remote write option ${name} must be a positive integer, got ${String(value)}`,
    );
  }
  return v;
}

function checkedUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new InputError(
      'SWAS-TSDB-041',
      `remote write URL "${raw}" is not a valid URL; use e.g. http://host:8428/api/v1/write`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InputError('SWAS-TSDB-041', `remote write URL "${raw}" must use http or https`);
  }
  return url.toString();
}

/**
 * Forwards appended samples to a remote-write receiver: batches them, queues each batch as a file so a
 * receiver outage (or a restart) loses nothing up to maxQueueBytes, and retries with exponential backoff.
 */
export class RemoteWriteSender implements SampleAppender {
  private readonly pending = new Map<string, PendingSeries>();
  private pendingSamples = 0;
  private readonly queue: QueuedBatch[] = [];
  private inFlight: QueuedBatch | undefined;
  private nextSeq: number;
  private counters = { sentSamples: 0, droppedSamples: 0, rejectedSamples: 0, failedAttempts: 0 };
  private lastError: string | undefined;
  private readonly stop = new AbortController();
  private wake: (() => void) | undefined;
  private readonly timer: NodeJS.Timeout;
  private readonly loop: Promise<void>;

  private constructor(
    private readonly o: Required<Omit<RemoteWriteSenderOptions, 'next' | 'onError'>> &
      Pick<RemoteWriteSenderOptions, 'next' | 'onError'>,
    restored: QueuedBatch[],
    nextSeq: number,
  ) {
    this.queue.push(...restored);
    this.nextSeq = nextSeq;
    this.timer = setInterval(() => this.flush(), o.flushIntervalMs);
    this.timer.unref();
    this.loop = this.run();
  }

  /** Validates options, opens the queue directory (resuming batches left there) and starts sending. */
  static create(options: RemoteWriteSenderOptions): RemoteWriteSender {
    const resolved = {
      url: checkedUrl(options.url),
      queueDir: options.queueDir,
      headers: { ...(options.headers ?? {}) },
      maxQueueBytes: positiveInt('maxQueueBytes', options.maxQueueBytes, 256 * 1024 * 1024),
      maxSamplesPerBatch: positiveInt('maxSamplesPerBatch', options.maxSamplesPerBatch, 2000),
      flushIntervalMs: positiveInt('flushIntervalMs', options.flushIntervalMs, 1000),
      timeoutMs: positiveInt('timeoutMs', options.timeoutMs, 30_000),
      minBackoffMs: positiveInt('minBackoffMs', options.minBackoffMs, 30),
      maxBackoffMs: positiveInt('maxBackoffMs', options.maxBackoffMs, 5000),
      next: options.next,
      onError: options.onError,
    };
    mkdirSync(resolved.queueDir, { recursive: true });
    const restored = readQueueDir(resolved.queueDir);
    const nextSeq = (restored.at(-1)?.seq ?? 0) + 1;
    return new RemoteWriteSender(Object.freeze(resolved), restored, nextSeq);
  }

  /** Appends to `next` (when set) and, if it accepted the sample, queues the sample for sending. */
  append(labels: Labels, t: number, v: number): AppendResult {
    const result = this.o.next?.append(labels, t, v) ?? { ok: true };
    if (!result.ok || this.stop.signal.aborted) return result;
    const key = labelsKey(labels);
    let series = this.pending.get(key);
    if (series === undefined) {
      series = { labels, t: [], v: [] };
      this.pending.set(key, series);
    }
    series.t.push(Math.round(t));
    series.v.push(v);
    if (++this.pendingSamples >= this.o.maxSamplesPerBatch) this.flush();
    return result;
  }

  /** Writes the partial batch to the queue now instead of at the next flush interval. */
  flush(): void {
    if (this.pendingSamples === 0) return;
    const series = [...this.pending.values()];
    const samples = this.pendingSamples;
    this.pending.clear();
    this.pendingSamples = 0;
    const body = encodeRemoteWriteBody(series);
    const seq = this.nextSeq++;
    const path = join(this.o.queueDir, `${String(seq).padStart(12, '0')}-${samples}.rw`);
    try {
      // Written aside and renamed so a crash never leaves a half batch that looks whole.
      writeFileSync(`${path}.tmp`, body);
      renameSync(`${path}.tmp`, path);
    } catch (error) {
      // The local store already holds these samples; a full or broken disk must not fail the scrape too.
      removeFile(`${path}.tmp`);
      this.counters.droppedSamples += samples;
      this.fail(
        `remote write queue ${this.o.queueDir} cannot store a batch (${samples} samples dropped): ${errorMessage(error)}`,
      );
      return;
    }
    this.queue.push({ seq, path, bytes: body.byteLength, samples });
    this.enforceBound();
    this.wake?.();
  }

  /** Flushes, then waits until the queue is empty or timeoutMs passed; true when everything was sent. */
  async drain(timeoutMs: number): Promise<boolean> {
    this.flush();
    const deadline = Date.now() + timeoutMs;
    while (this.queue.length > 0 && Date.now() < deadline && !this.stop.signal.aborted) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return this.queue.length === 0;
  }

  /** Counters and queue size now. */
  stats(): RemoteWriteSenderStats {
    return {
      queuedBatches: this.queue.length,
      queuedBytes: this.queue.reduce((n, b) => n + b.bytes, 0),
      queuedSamples: this.queue.reduce((n, b) => n + b.samples, 0),
      ...this.counters,
      ...(this.lastError === undefined ? {} : { lastError: this.lastError }),
    };
  }

  /** Stops sending; pending samples are flushed to the queue directory, to be sent by the next sender. */
  async close(): Promise<void> {
    if (this.stop.signal.aborted) return;
    clearInterval(this.timer);
    this.flush();
    this.stop.abort();
    this.wake?.();
    await this.loop;
  }

  /** Drops the oldest batches (never the one being sent) until the queue fits its bound. */
  private enforceBound(): void {
    let bytes = this.queue.reduce((n, b) => n + b.bytes, 0);
    for (let i = 0; bytes > this.o.maxQueueBytes && i < this.queue.length;) {
      const batch = this.queue[i] as QueuedBatch;
      if (batch === this.inFlight) {
        i++;
        continue;
      }
      this.queue.splice(i, 1);
      bytes -= batch.bytes;
      this.counters.droppedSamples += batch.samples;
      removeFile(batch.path);
    }
  }

  private async run(): Promise<void> {
    let backoff = this.o.minBackoffMs;
    while (!this.stop.signal.aborted) {
      const batch = this.queue[0];
      if (batch === undefined) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = undefined;
        continue;
      }
      this.inFlight = batch;
      const result = await this.send(batch);
      this.inFlight = undefined;
      if (result === 'retry') {
        this.counters.failedAttempts++;
        await this.sleep(backoff);
        backoff = Math.min(backoff * 2, this.o.maxBackoffMs);
        continue;
      }
      backoff = this.o.minBackoffMs;
      const at = this.queue.indexOf(batch);
      if (at >= 0) this.queue.splice(at, 1);
      removeFile(batch.path);
      if (result === 'sent') this.counters.sentSamples += batch.samples;
      else this.counters.rejectedSamples += batch.samples;
    }
  }

  private async send(batch: QueuedBatch): Promise<SendResult> {
    let body: Buffer;
    try {
      body = readFileSync(batch.path);
    } catch (error) {
      // The file vanished or cannot be read: retrying cannot help, so count it as lost, loudly.
      this.fail(`remote write batch ${batch.path} cannot be read: ${errorMessage(error)}`);
      return 'rejected';
    }
    const signal = AbortSignal.any([this.stop.signal, AbortSignal.timeout(this.o.timeoutMs)]);
    try {
      const response = await fetch(this.o.url, {
        method: 'POST',
        headers: {
          ...this.o.headers,
          'content-type': 'application/x-protobuf',
          'content-encoding': 'snappy',
          'user-agent': 'swas',
          'x-prometheus-remote-write-version': '0.1.0',
        },
        body: new Uint8Array(body),
        signal,
      });
      const text = await response.text();
      if (response.ok) return 'sent';
      const retry = response.status === 429 || response.status >= 500;
      this.fail(
        `remote write to ${this.o.url} answered HTTP ${response.status}${retry ? ', will retry' : ', batch dropped'}: ${text.slice(0, 200)}`,
      );
      return retry ? 'retry' : 'rejected';
    } catch (error) {
      const cause =
        error instanceof Error && error.cause instanceof Error ? error.cause.message : errorMessage(error);
      if (!this.stop.signal.aborted) this.fail(`remote write to ${this.o.url} failed, will retry: ${cause}`);
      return 'retry';
    }
  }

  private fail(message: string): void {
    this.lastError = message;
    this.o.onError?.(message);
  }

  private sleep(ms: number): Promise<void> {
    const signal = this.stop.signal;
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
    });
  }
}

function readQueueDir(dir: string): QueuedBatch[] {
  const batches: QueuedBatch[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (name.endsWith('.rw.tmp')) {
      removeFile(path);
      continue;
    }
    const match = BATCH_FILE.exec(name);
    if (match === null) continue;
    batches.push({ seq: Number(match[1]), path, bytes: statSync(path).size, samples: Number(match[2]) });
  }
  return batches;
}

function removeFile(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Already gone (dropped while in flight, or removed by hand): nothing left to clean up.
  }
}
