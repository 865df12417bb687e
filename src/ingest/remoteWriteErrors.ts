import { InputError } from '../core/index.js';

/** Error codes of the remote-write codec and receiver, stable so users can search for them. */
export const REMOTE_WRITE_CODES = {
  snappy: 'SWAS-RW-001',
  protobuf: 'SWAS-RW-002',
  tooLarge: 'SWAS-RW-003',
  mediaType: 'SWAS-RW-004',
} as const;

/** A remote-write body that is not valid snappy or protobuf; `offset` is the byte where decoding stopped. */
export class RemoteWriteDecodeError extends InputError {
  constructor(
    readonly format: 'snappy' | 'protobuf',
    readonly offset: number,
    detail: string,
  ) {
    super(
      REMOTE_WRITE_CODES[format],
      `remote-write body is not valid ${format === 'snappy' ? 'snappy block format' : 'protobuf (prometheus.WriteRequest)'}: ${detail} at byte ${offset}; the sender must speak Prometheus remote write 1.0`,
    );
  }
}

/** A remote-write body whose decompressed size is over the receiver's limit (HTTP 413). */
export class RemoteWriteTooLargeError extends InputError {
  constructor(
    readonly size: number,
    readonly limit: number,
  ) {
    super(
      REMOTE_WRITE_CODES.tooLarge,
      `remote-write body decompresses to ${size} bytes, over the limit of ${limit} (remote_write_receiver.max_decompressed_bytes); send smaller batches (queue_config.max_samples_per_send) or raise the limit`,
    );
  }
}
