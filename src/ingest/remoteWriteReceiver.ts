import { Buffer } from 'node:buffer';
import { METRIC_NAME_LABEL, type Labels, type SampleAppender } from '../core/index.js';
import { decodeWriteRequest, type DecodedTimeSeries, type RemoteWriteLabel } from './remoteWriteDecode.js';
import { REMOTE_WRITE_CODES, RemoteWriteDecodeError, RemoteWriteTooLargeError } from './remoteWriteErrors.js';
import { snappyDecode } from './remoteWriteSnappy.js';
import { isValidLabelName, isValidMetricName } from './expositionTokens.js';

/** Limits a remote-write request must respect; each has a default. */
export interface RemoteWriteLimits {
  /** Compressed body size; larger bodies get 413 before decompression. @default 10 MiB */
  readonly maxBodyBytes: number;
  /** Decompressed size, checked from the snappy header before allocating. @default 64 MiB */
  readonly maxDecompressedBytes: number;
  /** Labels per series, `__name__` included; a series over it is rejected. @default 64 */
  readonly maxLabelsPerSeries: number;
  /** Bytes in a label name. @default 256 */
  readonly maxLabelNameLength: number;
  /** Bytes in a label value. @default 4096 */
  readonly maxLabelValueLength: number;
}

/** The limits used where options give none. */
export const DEFAULT_REMOTE_WRITE_LIMITS: RemoteWriteLimits = Object.freeze({
  maxBodyBytes: 10 * 1024 * 1024,
  maxDecompressedBytes: 64 * 1024 * 1024,
  maxLabelsPerSeries: 64,
  maxLabelNameLength: 256,
  maxLabelValueLength: 4096,
});

/** Why a received sample was not stored. */
export type RemoteWriteRejection =
  | 'invalid_labels'
  | 'too_many_labels'
  | 'label_name_too_long'
  | 'label_value_too_long'
  | 'invalid_timestamp'
  | 'histogram'
  | 'out_of_order'
  | 'duplicate';

const REJECTIONS: readonly RemoteWriteRejection[] = [
  'invalid_labels',
  'too_many_labels',
  'label_name_too_long',
  'label_value_too_long',
  'invalid_timestamp',
  'histogram',
  'out_of_order',
  'duplicate',
];

/** What one request did. */
export interface RemoteWriteSummary {
  readonly series: number;
  readonly samplesAccepted: number;
  readonly rejected: Readonly<Record<RemoteWriteRejection, number>>;
  /** Why the first rejected series was rejected, for the log; null when nothing was rejected. */
  readonly firstRejection: string | null;
}

/** The HTTP answer for one request: 204 with a summary, or an error status with a coded message. */
export type RemoteWriteOutcome =
  | { readonly status: 204; readonly summary: RemoteWriteSummary }
  | { readonly status: 400 | 413 | 415; readonly code: string; readonly message: string };

/** Totals since the receiver was created, for swas's own metrics. */
export interface RemoteWriteStats {
  readonly requests: Readonly<Record<'204' | '400' | '413' | '415', number>>;
  readonly samplesAccepted: number;
  readonly rejected: Readonly<Record<RemoteWriteRejection, number>>;
}

/** One remote-write request as it arrived over HTTP. */
export interface RemoteWriteRequest {
  readonly body: Uint8Array;
  readonly contentType: string | undefined;
  readonly contentEncoding: string | undefined;
}

/** Options for {@link RemoteWriteReceiver.create}. */
export interface RemoteWriteReceiverOptions {
  readonly appender: SampleAppender;
  readonly limits?: Partial<RemoteWriteLimits>;
}

function zeroRejections(): Record<RemoteWriteRejection, number> {
  const out = {} as Record<RemoteWriteRejection, number>;
  for (const r of REJECTIONS) out[r] = 0;
  return out;
}

/** Checks the media type: remote write 1.0 is `application/x-protobuf`, optionally `proto=prometheus.WriteRequest`. */
export function checkRemoteWriteHeaders(
  contentType: string | undefined,
  contentEncoding: string | undefined,
): string | null {
  const [type = '', ...params] = (contentType ?? '').split(';').map((p) => p.trim());
  if (type.toLowerCase() !== 'application/x-protobuf') {
    return `Content-Type is "${contentType ?? ''}" but remote write needs "application/x-protobuf"`;
  }
  for (const param of params) {
    const [key = '', value = ''] = param.split('=').map((p) => p.trim());
    if (key.toLowerCase() === 'proto' && value !== 'prometheus.WriteRequest') {
      return `protobuf message "${value}" is not supported: swas receives remote write 1.0 (prometheus.WriteRequest); set the sender's protobuf_message to prometheus.WriteRequest`;
    }
  }
  // Remote write 1.0 bodies are always snappy; a missing header is tolerated, any other encoding is not.
  const encoding = (contentEncoding ?? 'snappy').trim().toLowerCase();
  if (encoding !== 'snappy') {
    return `Content-Encoding is "${contentEncoding ?? ''}" but remote write bodies must be "snappy"`;
  }
  return null;
}

/**
 * The remote write 1.0 receiver: decodes snappy + protobuf, validates each series against the limits and
 * appends its samples. Bad series and refused samples are counted; only a malformed request fails whole.
 */
export class RemoteWriteReceiver {
  private readonly requests = { '204': 0, '400': 0, '413': 0, '415': 0 };
  private readonly rejectedTotal = zeroRejections();
  private acceptedTotal = 0;

  private constructor(
    private readonly appender: SampleAppender,
    readonly limits: RemoteWriteLimits,
  ) {}

  /** Builds a receiver; limits are merged over the defaults and must be positive integers. */
  static create(options: RemoteWriteReceiverOptions): RemoteWriteReceiver {
    const limits = { ...DEFAULT_REMOTE_WRITE_LIMITS, ...options.limits };
    for (const [key, value] of Object.entries(limits)) {
      if (!Number.isSafeInteger(value) || value <= 0) {
        throw new RangeError(`remote-write limit ${key} must be a positive integer, got ${value}`);
      }
    }
    return new RemoteWriteReceiver(options.appender, Object.freeze(limits));
  }

  /** Handles one request; never throws for bad input. */
  receive(request: RemoteWriteRequest): RemoteWriteOutcome {
    const outcome = this.handle(request);
    this.requests[String(outcome.status) as keyof typeof this.requests]++;
    if (outcome.status === 204) {
      this.acceptedTotal += outcome.summary.samplesAccepted;
      for (const r of REJECTIONS) this.rejectedTotal[r] += outcome.summary.rejected[r];
    }
    return outcome;
  }

  /** Totals since creation. */
  stats(): RemoteWriteStats {
    return {
      requests: { ...this.requests },
      samplesAccepted: this.acceptedTotal,
      rejected: { ...this.rejectedTotal },
    };
  }

  private handle(request: RemoteWriteRequest): RemoteWriteOutcome {
    const mediaProblem = checkRemoteWriteHeaders(request.contentType, request.contentEncoding);
    if (mediaProblem !== null)
      return { status: 415, code: REMOTE_WRITE_CODES.mediaType, message: mediaProblem };
    if (request.body.length > this.limits.maxBodyBytes) {
      return {
        status: 413,
        code: REMOTE_WRITE_CODES.tooLarge,
        message: tooLargeMessage(request.body.length, this.limits.maxBodyBytes),
      };
    }
    let decoded;
    try {
      decoded = decodeWriteRequest(snappyDecode(request.body, this.limits.maxDecompressedBytes));
    } catch (error) {
      if (error instanceof RemoteWriteTooLargeError)
        return { status: 413, code: error.code, message: error.message };
      if (error instanceof RemoteWriteDecodeError)
        return { status: 400, code: error.code, message: error.message };
      throw error;
    }
    const rejected = zeroRejections();
    let accepted = 0;
    let firstRejection: string | null = null;
    for (const series of decoded.series) {
      if (series.histograms > 0) {
        rejected.histogram += series.histograms;
        firstRejection ??= 'native histogram samples are not supported by swas; send classic histograms';
      }
      if (series.t.length === 0) continue;
      const checked = this.checkSeries(series);
      if (!checked.ok) {
        rejected[checked.reason] += series.t.length;
        firstRejection ??= checked.detail;
        continue;
      }
      accepted += this.appendSamples(checked.labels, series, rejected);
    }
    return {
      status: 204,
      summary: { series: decoded.series.length, samplesAccepted: accepted, rejected, firstRejection },
    };
  }

  private appendSamples(
    labels: Labels,
    series: DecodedTimeSeries,
    rejected: Record<RemoteWriteRejection, number>,
  ): number {
    let accepted = 0;
    const { t, v } = series;
    for (let i = 0; i < t.length; i++) {
      const ts = t[i] as number;
      if (!Number.isSafeInteger(ts)) {
        rejected.invalid_timestamp++;
        continue;
      }
      const value = v[i] as number;
      const result = this.appender.append(labels, ts, value);
      if (result.ok) accepted++;
      else rejected[result.reason]++;
    }
    return accepted;
  }

  private checkSeries(
    series: DecodedTimeSeries,
  ): { ok: true; labels: Labels } | { ok: false; reason: RemoteWriteRejection; detail: string } {
    const limits = this.limits;
    const bad = (reason: RemoteWriteRejection, detail: string) => rejection(series, reason, detail);
    if (!series.validUtf8) return bad('invalid_labels', 'a label name or value is not valid UTF-8');
    if (series.labels.length > limits.maxLabelsPerSeries) {
      return bad(
        'too_many_labels',
        `a series has ${series.labels.length} labels, over the limit of ${limits.maxLabelsPerSeries}`,
      );
    }
    let sorted = true;
    for (let i = 0; i < series.labels.length; i++) {
      const { name, value } = series.labels[i] as RemoteWriteLabel;
      if (overLength(name, limits.maxLabelNameLength)) {
        return bad(
          'label_name_too_long',
          `label name "${clip(name)}" is over ${limits.maxLabelNameLength} bytes`,
        );
      }
      if (overLength(value, limits.maxLabelValueLength)) {
        return bad(
          'label_value_too_long',
          `label ${name} has a value over ${limits.maxLabelValueLength} bytes`,
        );
      }
      if (!isValidLabelName(name)) return bad('invalid_labels', `label name "${name}" is not valid`);
      if (i > 0 && name <= (series.labels[i - 1] as RemoteWriteLabel).name) sorted = false;
    }
    // Senders sort labels, so duplicates are only searched for when they do not.
    const duplicate = sorted ? null : duplicateName(series.labels);
    if (duplicate !== null) return bad('invalid_labels', `label ${duplicate} appears twice`);
    const labels = labelsObject(series.labels);
    const metric = labels[METRIC_NAME_LABEL];
    if (metric === undefined) return bad('invalid_labels', 'a series has no __name__ label');
    if (!isValidMetricName(metric)) return bad('invalid_labels', `metric name "${metric}" is not valid`);
    return { ok: true, labels };
  }
}

function rejection(
  series: DecodedTimeSeries,
  reason: RemoteWriteRejection,
  detail: string,
): { ok: false; reason: RemoteWriteRejection; detail: string } {
  return { ok: false, reason, detail: `${detail} in series ${describeSeries(series)}` };
}

function duplicateName(labels: readonly RemoteWriteLabel[]): string | null {
  for (let i = 1; i < labels.length; i++) {
    const name = (labels[i] as RemoteWriteLabel).name;
    for (let j = 0; j < i; j++) if ((labels[j] as RemoteWriteLabel).name === name) return name;
  }
  return null;
}

/** Builds the label set; as in Prometheus, an empty value means the label is absent. */
function labelsObject(labels: readonly RemoteWriteLabel[]): Record<string, string> {
  // A plain object keeps V8's fast properties (shared shapes across series with the same label names).
  const out: Record<string, string> = {};
  for (const { name, value } of labels) {
    if (value === '') continue;
    // Assignment to "__proto__" would set the prototype; define it as an ordinary label instead.
    if (name === '__proto__') {
      Object.defineProperty(out, name, { value, enumerable: true, writable: true, configurable: true });
    } else out[name] = value;
  }
  return out;
}

function clip(text: string, max = 64): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** The series as sent, shortened, so a rejection in the log says which sender's series it was. */
function describeSeries(series: DecodedTimeSeries): string {
  const parts = series.labels.slice(0, 12).map((l) => `${clip(l.name, 40)}=${JSON.stringify(clip(l.value))}`);
  if (series.labels.length > 12) parts.push('…');
  return `{${parts.join(', ')}}`;
}

/** True when the UTF-8 form of `text` is longer than `limit` bytes, without encoding short strings. */
function overLength(text: string, limit: number): boolean {
  // A UTF-16 code unit takes 1 to 3 UTF-8 bytes, so most strings are decided by their length alone.
  if (text.length > limit) return true;
  if (text.length * 3 <= limit) return false;
  return Buffer.byteLength(text, 'utf8') > limit;
}

/** The 413 message for a body over the compressed limit; `size` is null when the sender did not say. */
export function tooLargeMessage(size: number | null, limit: number): string {
  const what = size === null ? 'remote-write body is' : `remote-write body of ${size} bytes is`;
  return `${what} over the limit of ${limit} bytes (remote_write_receiver.max_body_bytes); send smaller batches (queue_config.max_samples_per_send) or raise the limit`;
}
