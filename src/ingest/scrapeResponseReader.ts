/**
 * Reads one HTTP/1.1 response from bytes as they arrive (see scrapeConnection.ts, which sends the requests):
 * status line, headers, and a body by Content-Length, chunked or read-until-close, into the caller's buffers.
 */

/** Where response bodies are read into (the caller's reusable buffers). */
export interface BodyBufferPool {
  take(size: number): Buffer;
  give(view: Buffer): void;
}

/** Why a raw GET failed, for the caller to word: `failed` messages are already meant for the user. */
export type RawHttpErrorKind = 'stale' | 'timeout' | 'too_large' | 'failed';

export class RawHttpError extends Error {
  constructor(
    readonly kind: RawHttpErrorKind,
    message: string,
  ) {
    super(message);
  }
}

export interface RawHttpResponse {
  readonly status: number;
  readonly statusText: string;
  readonly contentType: string | undefined;
  readonly contentEncoding: string | undefined;
  /** Empty unless the status is 200; cut from a buffer of the pool. */
  readonly body: Buffer;
}

/** Largest status line + header block (and trailer block) accepted. */
export const MAX_HEADER_BYTES = 64 * 1024;
const MAX_CHUNK_LINE = 4096;
// Content-Length only sizes the first buffer, and not beyond 16 MiB.
const MAX_FIRST_BUFFER = 16 * 1024 * 1024;

function malformed(what: string): RawHttpError {
  return new RawHttpError('failed', `target sent a malformed HTTP response: ${what}`);
}

function quoted(text: string): string {
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);
}

type Phase =
  'head' | 'length' | 'close' | 'chunk-size' | 'chunk-data' | 'chunk-cr' | 'chunk-lf' | 'trailers' | 'done';

/** Incremental parser of one response, fed socket chunks as they come. */
export class ResponseReader {
  phase: Phase = 'head';
  status = 0;
  statusText = '';
  contentType: string | undefined;
  contentEncoding: string | undefined;
  /** Whether the connection may carry another request after this response. */
  keepAlive = true;
  /** Bytes came after the end of the response: the connection is not reused. */
  extra = false;
  private pending: Buffer | null = null;
  private scanFrom = 0;
  private remaining = 0;
  private line = '';
  private trailerBytes = 0;
  private body: Buffer | null = null;
  private total = 0;

  constructor(
    private readonly limit: number,
    private readonly buffers: BodyBufferPool,
  ) {}

  /** Consumes a chunk; true once the response is complete. Throws a {@link RawHttpError}. */
  feed(chunk: Buffer): boolean {
    let pos = 0;
    while (pos < chunk.length) {
      switch (this.phase) {
        case 'head':
          pos = this.readHead(chunk, pos);
          break;
        case 'length':
        case 'chunk-data': {
          const end = pos + Math.min(this.remaining, chunk.length - pos);
          this.append(chunk, pos, end);
          this.remaining -= end - pos;
          pos = end;
          if (this.remaining === 0) this.phase = this.phase === 'length' ? 'done' : 'chunk-cr';
          break;
        }
        case 'close':
          this.append(chunk, pos, chunk.length);
          pos = chunk.length;
          break;
        case 'chunk-cr': {
          const byte = chunk[pos++];
          if (byte === 0x0d) this.phase = 'chunk-lf';
          else if (byte === 0x0a) this.phase = 'chunk-size';
          else throw malformed('no CRLF after chunk data');
          break;
        }
        case 'chunk-lf':
          if (chunk[pos++] !== 0x0a) throw malformed('no CRLF after chunk data');
          this.phase = 'chunk-size';
          break;
        case 'chunk-size':
        case 'trailers':
          pos = this.readLine(chunk, pos);
          break;
        case 'done':
          this.extra = true;
          return true;
      }
    }
    return this.phase === 'done';
  }

  /** The connection reached EOF; throws unless the response was read to its end. */
  end(): void {
    if (this.phase === 'close') {
      this.phase = 'done';
      return;
    }
    if (this.phase === 'done') return;
    if (this.phase === 'head') throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    throw new RawHttpError('failed', 'the target closed the connection in the middle of the body');
  }

  response(): RawHttpResponse {
    const body = this.body === null ? Buffer.alloc(0) : this.body.subarray(0, this.total);
    this.body = null;
    return {
      status: this.status,
      statusText: this.statusText,
      contentType: this.contentType,
      contentEncoding: this.contentEncoding,
      body,
    };
  }

  /** Returns the body buffer to the pool after a failure. */
  dispose(): void {
    if (this.body !== null) this.buffers.give(this.body);
    this.body = null;
  }

  private append(chunk: Buffer, from: number, to: number): void {
    const n = to - from;
    if (n === 0) return;
    if (this.limit > 0 && this.total + n > this.limit) {
      throw new RawHttpError('too_large', `body exceeds ${this.limit} bytes`);
    }
    if (this.body === null) this.body = this.buffers.take(n);
    if (this.total + n > this.body.length) {
      const bigger = this.buffers.take(Math.max(2 * this.body.length, this.total + n));
      this.body.copy(bigger, 0, 0, this.total);
      this.buffers.give(this.body);
      this.body = bigger;
    }
    chunk.copy(this.body, this.total, from, to);
    this.total += n;
  }

  /** Reads up to the end of the header block; returns the position in `chunk` after what it used. */
  private readHead(chunk: Buffer, pos: number): number {
    const pendingLength = this.pending === null ? 0 : this.pending.length;
    const buf = this.pending === null ? chunk : Buffer.concat([this.pending, chunk.subarray(pos)]);
    const base = this.pending === null ? pos : 0;
    let i = base + this.scanFrom;
    let end = -1;
    for (;;) {
      const nl = buf.indexOf(0x0a, i);
      if (nl < 0 || nl + 1 >= buf.length) break;
      const next = buf[nl + 1];
      if (next === 0x0a) end = nl + 2;
      else if (next === 0x0d) {
        if (nl + 2 >= buf.length) break;
        if (buf[nl + 2] === 0x0a) end = nl + 3;
      }
      if (end >= 0) break;
      i = nl + 1;
    }
    if (end < 0 || end - base > MAX_HEADER_BYTES) {
      if (buf.length - base > MAX_HEADER_BYTES)
        throw malformed(`header block larger than ${MAX_HEADER_BYTES} bytes`);
      this.pending = Buffer.from(buf.subarray(base));
      // Rescan only the last bytes, which may start the empty line.
      this.scanFrom = Math.max(0, this.pending.length - 3);
      return chunk.length;
    }
    this.pending = null;
    this.scanFrom = 0;
    this.parseHead(buf.toString('latin1', base, end));
    this.startBody();
    return pos + (end - base) - pendingLength;
  }

  private parseHead(text: string): void {
    const lines = text.split('\n');
    const statusLine = stripCr(lines[0] ?? '');
    const match = /^HTTP\/1\.([01]) (\d{3})(?: (.*))?$/.exec(statusLine);
    if (match === null) throw malformed(`bad status line ${quoted(statusLine)}`);
    this.status = Number(match[2]);
    this.statusText = (match[3] ?? '').trim();
    const http10 = match[1] === '0';
    let contentLength: string | undefined;
    let transferEncoding: string | undefined;
    let connection = '';
    this.contentType = undefined;
    this.contentEncoding = undefined;
    for (let n = 1; n < lines.length; n++) {
      const line = stripCr(lines[n] ?? '');
      if (line === '') continue;
      const colon = line.indexOf(':');
      const name = colon > 0 ? line.slice(0, colon) : '';
      if (name === '' || /[\s]/.test(name)) throw malformed(`bad header line ${quoted(line)}`);
      const value = line.slice(colon + 1).trim();
      switch (name.toLowerCase()) {
        case 'content-length':
          if (!/^\d{1,15}$/.test(value)) throw malformed(`invalid Content-Length ${quoted(value)}`);
          if (contentLength !== undefined && contentLength !== value) {
            throw malformed(
              `conflicting Content-Length headers ${quoted(contentLength)} and ${quoted(value)}`,
            );
          }
          contentLength = value;
          break;
        case 'transfer-encoding':
          transferEncoding = transferEncoding === undefined ? value : `${transferEncoding}, ${value}`;
          break;
        case 'content-type':
          this.contentType ??= value;
          break;
        case 'content-encoding':
          this.contentEncoding =
            this.contentEncoding === undefined ? value : `${this.contentEncoding}, ${value}`;
          break;
        case 'connection':
          connection = `${connection},${value.toLowerCase()}`;
          break;
      }
    }
    const tokens = connection.split(',').map((t) => t.trim());
    this.keepAlive = http10 ? tokens.includes('keep-alive') : !tokens.includes('close');
    this.framing(contentLength, transferEncoding);
  }

  private framing(contentLength: string | undefined, transferEncoding: string | undefined): void {
    if (transferEncoding !== undefined) {
      const codings = transferEncoding.split(',').map((t) => t.trim().toLowerCase());
      // With both, Transfer-Encoding wins, and the connection is not trusted for another request.
      if (contentLength !== undefined) this.keepAlive = false;
      if (codings[codings.length - 1] === 'chunked') this.phase = 'chunk-size';
      else {
        this.phase = 'close';
        this.keepAlive = false;
      }
    } else if (contentLength !== undefined) {
      this.remaining = Number(contentLength);
      this.phase = this.remaining === 0 ? 'done' : 'length';
    } else {
      this.phase = 'close';
      this.keepAlive = false;
    }
  }

  private startBody(): void {
    if (this.status >= 100 && this.status < 200) {
      // An interim response (100 Continue, 103 Early Hints): the real one follows.
      this.phase = 'head';
      this.keepAlive = true;
      return;
    }
    if (this.status !== 200) {
      // Its body is not needed: the caller reports the status, and the connection is dropped.
      this.phase = 'done';
      this.keepAlive = false;
      return;
    }
    if (this.phase === 'length') {
      const cap = this.limit > 0 ? Math.min(this.limit, MAX_FIRST_BUFFER) : MAX_FIRST_BUFFER;
      this.body = this.buffers.take(Math.min(this.remaining, cap));
    }
  }

  /** Reads (part of) a chunk-size or trailer line. */
  private readLine(chunk: Buffer, pos: number): number {
    const nl = chunk.indexOf(0x0a, pos);
    const stop = nl < 0 ? chunk.length : nl;
    this.line += chunk.toString('latin1', pos, stop);
    if (this.phase === 'chunk-size' && this.line.length > MAX_CHUNK_LINE) {
      throw malformed(`chunk size line longer than ${MAX_CHUNK_LINE} bytes`);
    }
    if (this.phase === 'trailers' && this.trailerBytes + this.line.length > MAX_HEADER_BYTES) {
      throw malformed(`trailers larger than ${MAX_HEADER_BYTES} bytes`);
    }
    if (nl < 0) return chunk.length;
    const line = stripCr(this.line);
    this.line = '';
    if (this.phase === 'chunk-size') this.chunkSize(line);
    else if (line === '') this.phase = 'done';
    else this.trailerBytes += line.length + 2;
    return nl + 1;
  }

  private chunkSize(line: string): void {
    const semicolon = line.indexOf(';');
    // Chunk extensions (after ';') carry nothing a scrape needs.
    const size = (semicolon < 0 ? line : line.slice(0, semicolon)).trim();
    if (!/^[0-9a-fA-F]{1,12}$/.test(size)) throw malformed(`bad chunk size ${quoted(size)}`);
    this.remaining = parseInt(size, 16);
    this.phase = this.remaining === 0 ? 'trailers' : 'chunk-data';
  }
}

function stripCr(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}
