import { isAscii } from 'node:buffer';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { gunzip } from 'node:zlib';
import { errorMessage } from '../core/index.js';
import type { ExpositionFormat } from './expositionTypes.js';
import { rawGet } from './scrapeConnection.js';
import { RawHttpError } from './scrapeResponseReader.js';

/** What swas asks exporters for: the Prometheus text format first, OpenMetrics text second. */
export const SCRAPE_ACCEPT_HEADER =
  'text/plain;version=0.0.4;q=0.9,application/openmetrics-text;version=1.0.0;q=0.5,*/*;q=0.1';

/** Which configured limit failed a scrape. */
export type ScrapeLimit = 'sample' | 'label' | 'body_size';

/**
 * The body of one scrape, or why there is none. The text comes in pieces of whole lines (see
 * {@link decodeBody}); `parseExposition` takes them as they are.
 */
export type ScrapeBody =
  | { ok: true; pieces: string[]; format: ExpositionFormat }
  | { ok: false; error: string; limit?: ScrapeLimit };

/** Where and how to fetch one body. */
export interface ScrapeRequest {
  readonly url: string;
  readonly timeoutMs: number;
  /** Largest body after decompression; 0 = no limit. */
  readonly bodyLimitBytes: number;
}

// One keep-alive connection per target, as Prometheus holds: a new connection (and, with TLS, a
// handshake) every scrape cost more CPU than parsing the body. Idle sockets are unref'd by the agent.
const httpAgent = new HttpAgent({ keepAlive: true, maxSockets: 4 });
const httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: 4 });

/** Thrown inside a fetch to end it with a message meant for the user. */
class ScrapeFailure extends Error {
  constructor(
    message: string,
    readonly limit?: ScrapeLimit,
  ) {
    super(message);
  }
}

/**
 * Fetches a metrics body with a timeout covering connect, headers and body, asking for gzip as Prometheus
 * does and stopping past the body limit (counted on the decompressed body).
 */
export async function fetchScrapeBody(request: ScrapeRequest): Promise<ScrapeBody> {
  let url: URL;
  try {
    url = new URL(request.url);
  } catch {
    return { ok: false, error: `url "${request.url}" is not a valid URL` };
  }
  const deadline = Date.now() + request.timeoutMs;
  try {
    // A kept-alive socket the server closed just before we reused it fails at once: retry on a new one.
    let response: RawResponse;
    try {
      response = await send(url, request, deadline, false);
    } catch (error) {
      if (!(error instanceof StaleSocketError)) throw error;
      response = await send(url, request, deadline, true);
    }
    if (response.status !== 200) {
      return {
        ok: false,
        error: `server returned HTTP status ${response.status} ${response.statusText}; expected 200 (check the URL and metrics path)`,
      };
    }
    let pieces: string[] | null;
    try {
      const bytes = response.gzip
        ? await gunzipLimited(response.body, request.bodyLimitBytes)
        : response.body;
      pieces = decodeBody(bytes);
    } finally {
      bodyBuffers.give(response.body);
    }
    if (pieces === null) return { ok: false, error: 'body is not valid UTF-8; expected UTF-8 text' };
    return { ok: true, pieces, format: formatOf(response.contentType) };
  } catch (error) {
    if (error instanceof ScrapeFailure) {
      return error.limit === undefined
        ? { ok: false, error: error.message }
        : { ok: false, error: error.message, limit: error.limit };
    }
    return { ok: false, error: describeRequestError(error) };
  }
}

interface RawResponse {
  readonly status: number;
  readonly statusText: string;
  readonly contentType: string | undefined;
  readonly gzip: boolean;
  readonly body: Buffer;
}

class StaleSocketError extends Error {}

function timeoutFailure(timeoutMs: number): ScrapeFailure {
  return new ScrapeFailure(
    `scrape timed out after ${timeoutMs}ms; the target did not answer in time (check it, or raise the timeout)`,
  );
}

function tooLarge(limit: number): ScrapeFailure {
  return new ScrapeFailure(
    `body exceeds the limit of ${limit} bytes; raise the target's body limit or make the exporter return less`,
    'body_size',
  );
}

function send(url: URL, request: ScrapeRequest, deadline: number, fresh: boolean): Promise<RawResponse> {
  const remaining = deadline - Date.now();
  if (remaining <= 0) return Promise.reject(timeoutFailure(request.timeoutMs));
  // Plain http without credentials takes the lean path; TLS and basic auth stay with node's client.
  if (url.protocol === 'http:' && url.username === '' && url.password === '') {
    return sendRaw(url, request, remaining, fresh);
  }
  const https = url.protocol === 'https:';
  return new Promise<RawResponse>((resolve, reject) => {
    const req = (https ? httpsRequest : httpRequest)(url, {
      agent: https ? httpsAgent : httpAgent,
      headers: {
        Accept: SCRAPE_ACCEPT_HEADER,
        'Accept-Encoding': 'gzip',
        'User-Agent': 'swas-scraper',
        'X-Prometheus-Scrape-Timeout-Seconds': String(request.timeoutMs / 1000),
      },
    });
    let settled = false;
    const fail = (error: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      reject(error);
    };
    const timer = setTimeout(() => fail(timeoutFailure(request.timeoutMs)), remaining);
    req.on('error', (error) => {
      const code = (error as NodeJS.ErrnoException).code;
      const stale = req.reusedSocket && (code === 'ECONNRESET' || code === 'EPIPE');
      fail(stale ? new StaleSocketError(error.message) : error);
    });
    req.on('response', (response) => {
      readBody(response, request.bodyLimitBytes).then(
        (body) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve({
            status: response.statusCode ?? 0,
            statusText: response.statusMessage ?? '',
            contentType: response.headers['content-type'],
            gzip: response.headers['content-encoding']?.trim().toLowerCase() === 'gzip',
            body,
          });
        },
        (error: unknown) => fail(error instanceof Error ? error : new Error(String(error))),
      );
    });
    req.end();
  });
}

async function sendRaw(
  url: URL,
  request: ScrapeRequest,
  remaining: number,
  fresh: boolean,
): Promise<RawResponse> {
  try {
    const response = await rawGet({
      // `hostname` keeps an IPv6 address in brackets; net.connect wants it bare.
      host: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
      port: url.port === '' ? 80 : Number(url.port),
      head: requestHead(url, request.timeoutMs),
      timeoutMs: remaining,
      bodyLimitBytes: request.bodyLimitBytes,
      fresh,
      buffers: bodyBuffers,
    });
    return {
      status: response.status,
      statusText: response.statusText,
      contentType: response.contentType,
      gzip: response.contentEncoding?.trim().toLowerCase() === 'gzip',
      body: response.body,
    };
  } catch (error) {
    if (!(error instanceof RawHttpError)) throw error;
    switch (error.kind) {
      case 'stale':
        throw new StaleSocketError(error.message);
      case 'timeout':
        throw timeoutFailure(request.timeoutMs);
      case 'too_large':
        throw tooLarge(request.bodyLimitBytes);
      case 'failed':
        throw new ScrapeFailure(error.message);
    }
  }
}

/** Request heads by URL and timeout: the same few are sent every interval. */
const requestHeads = new Map<string, Buffer>();

function requestHead(url: URL, timeoutMs: number): Buffer {
  const key = `${timeoutMs} ${url.href}`;
  let head = requestHeads.get(key);
  if (head === undefined) {
    head = Buffer.from(
      `GET ${url.pathname}${url.search} HTTP/1.1\r\n` +
        `Host: ${url.host}\r\n` +
        `Accept: ${SCRAPE_ACCEPT_HEADER}\r\n` +
        'Accept-Encoding: gzip\r\n' +
        'User-Agent: swas-scraper\r\n' +
        `X-Prometheus-Scrape-Timeout-Seconds: ${timeoutMs / 1000}\r\n` +
        'Connection: keep-alive\r\n\r\n',
      'latin1',
    );
    // Targets come and go with service discovery; a full cache is simply started again.
    if (requestHeads.size >= 10_000) requestHeads.clear();
    requestHeads.set(key, head);
  }
  return head;
}

/**
 * Buffers that response bodies are read into, reused from scrape to scrape: a fresh buffer for each body
 * of more than 128 KiB was a fresh mapping from the system, whose page faults cost more than the copy.
 */
class BodyBuffers {
  private readonly idle: Buffer[] = [];
  /** Memory of the buffers handed out; a body dropped after a timeout is simply collected. */
  private readonly pooled = new WeakSet<ArrayBufferLike>();

  /** A buffer of at least `size` bytes, its contents undefined. */
  take(size: number): Buffer {
    const buffer = this.idle.pop();
    if (buffer !== undefined && buffer.length >= size) return buffer;
    const fresh = Buffer.allocUnsafeSlow(Math.max(size, 64 * 1024, buffer === undefined ? 0 : buffer.length));
    this.pooled.add(fresh.buffer);
    return fresh;
  }

  /** Takes back the buffer `view` was cut from; views of other memory are ignored. */
  give(view: Buffer): void {
    if (!this.pooled.has(view.buffer)) return;
    // A few suffice: bodies are read one at a time per target, and targets are spread over the interval.
    if (this.idle.length < 16 && view.buffer.byteLength <= 8 * 1024 * 1024)
      this.idle.push(Buffer.from(view.buffer));
  }
}

const bodyBuffers = new BodyBuffers();

/** Reads a response body; fails as soon as it grows past `limit` bytes (0 = no limit). */
function readBody(response: IncomingMessage, limit: number): Promise<Buffer> {
  if (response.statusCode !== 200) {
    response.resume();
    return Promise.resolve(Buffer.alloc(0));
  }
  return new Promise((resolve, reject) => {
    // Content-Length only sizes the first buffer, and not beyond what the limit (or 16 MiB) allows.
    const length = Number(response.headers['content-length']);
    const cap = limit > 0 ? Math.min(limit, 16 * 1024 * 1024) : 16 * 1024 * 1024;
    let buffer = bodyBuffers.take(Number.isSafeInteger(length) && length > 0 ? Math.min(length, cap) : 0);
    let total = 0;
    let done = false;
    const failed = (error: Error): void => {
      if (done) return;
      done = true;
      bodyBuffers.give(buffer);
      reject(error);
    };
    response.on('data', (chunk: Buffer) => {
      if (done) return;
      if (limit > 0 && total + chunk.length > limit) {
        response.destroy();
        failed(tooLarge(limit));
        return;
      }
      if (total + chunk.length > buffer.length) {
        const bigger = bodyBuffers.take(Math.max(2 * buffer.length, total + chunk.length));
        buffer.copy(bigger, 0, 0, total);
        bodyBuffers.give(buffer);
        buffer = bigger;
      }
      chunk.copy(buffer, total);
      total += chunk.length;
    });
    response.on('end', () => {
      if (done) return;
      done = true;
      resolve(buffer.subarray(0, total));
    });
    response.on('error', failed);
    response.on('close', () => {
      if (!response.complete) failed(new Error('the target closed the connection in the middle of the body'));
    });
  });
}

function gunzipLimited(body: Buffer, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    gunzip(body, limit > 0 ? { maxOutputLength: limit } : {}, (error, out) => {
      if (error === null) resolve(out);
      else if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') reject(tooLarge(limit));
      else
        reject(
          new ScrapeFailure(
            `body is not valid gzip (${error.message}); check the exporter's Content-Encoding`,
          ),
        );
    });
  });
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Characters per piece of a decoded body. V8 puts strings over 128 KiB in fresh pages of their own (page
 * faults on every scrape); pieces this size are ordinary heap strings.
 */
export const BODY_PIECE_BYTES = 64 * 1024;

/**
 * Decodes a body as UTF-8 into pieces of about {@link BODY_PIECE_BYTES}, each but the last ending just
 * after a newline (which never occurs inside a multi-byte UTF-8 sequence); null when it is not UTF-8.
 */
export function decodeBody(bytes: Buffer): string[] | null {
  const pieces: string[] = [];
  let start = 0;
  while (start < bytes.length) {
    let end = bytes.length;
    if (end - start > BODY_PIECE_BYTES) {
      const newline = bytes.lastIndexOf(0x0a, start + BODY_PIECE_BYTES - 1);
      // A line longer than a piece stays whole; the parser's line length limit deals with it.
      const next = newline >= start ? newline : bytes.indexOf(0x0a, start + BODY_PIECE_BYTES);
      if (next >= 0) end = next + 1;
    }
    const piece = decodeUtf8(bytes.subarray(start, end));
    if (piece === null) return null;
    pieces.push(piece);
    start = end;
  }
  return pieces;
}

function decodeUtf8(bytes: Buffer): string | null {
  // Nearly every body is ASCII, which reads straight into a one-byte string.
  if (isAscii(bytes)) return bytes.toString('latin1');
  try {
    return utf8.decode(bytes);
  } catch {
    return null;
  }
}

function formatOf(contentType: string | undefined): ExpositionFormat {
  return contentType?.trim().toLowerCase().startsWith('application/openmetrics-text') === true
    ? 'openmetrics'
    : 'prometheus';
}

/** Connecting to a name with several addresses fails with an AggregateError whose own message is empty. */
function describeRequestError(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) {
    return error.errors.map((e) => errorMessage(e)).join('; ');
  }
  return errorMessage(error);
}
