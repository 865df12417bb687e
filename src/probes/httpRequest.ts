import { readFileSync } from 'node:fs';
import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { CookieJar } from './cookieJar.js';

/** TLS settings of an HTTP(S) probe request. */
export interface HttpTlsConfig {
  /** PEM file with the CA(s) to trust instead of the system store. */
  readonly ca_file?: string | undefined;
  readonly insecure_skip_verify: boolean;
  /** SNI name and the name the certificate must carry, when it differs from the URL's host. */
  readonly server_name?: string | undefined;
}

/** What to send: one request, possibly followed through redirects. */
export interface HttpRequestConfig {
  readonly url: string;
  readonly method: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string | undefined;
  readonly follow_redirects: boolean;
  readonly tls: HttpTlsConfig;
}

/** Redirects followed at most before the request fails. */
export const MAX_REDIRECTS = 10;
/** Body bytes read at most (after decompression); assertions see only this much. */
export const BODY_LIMIT_BYTES = 1024 * 1024;

/** Seconds spent in each phase, summed over all redirect hops. */
export interface HttpPhaseSeconds {
  resolve: number;
  connect: number;
  tls: number;
  processing: number;
  transfer: number;
}

/** The leaf certificate that expires first among the HTTPS hops. */
export interface TlsCertificateSeen {
  readonly host: string;
  readonly validToMs: number;
}

/** What the server answered in the end (after redirects). */
export interface HttpResponseSeen {
  readonly url: string;
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  /** True when the body was longer than {@link BODY_LIMIT_BYTES} and only its start was read. */
  readonly bodyTruncated: boolean;
  /** The Content-Length header, or the bytes read when there is none. */
  readonly contentLength: number;
}

/** The outcome of one request with its redirects: timings and certificates are there even on failure. */
export interface HttpExchange {
  readonly response: HttpResponseSeen | null;
  /** Why no usable response came back, e.g. `GET http://…/: connection refused (ECONNREFUSED)`. */
  readonly error: string | null;
  readonly redirects: number;
  /** True when the last hop used TLS. */
  readonly ssl: boolean;
  readonly certificate: TlsCertificateSeen | null;
  readonly phases: HttpPhaseSeconds;
  readonly durationSeconds: number;
}

/** How to send a request: abort signal, its wording, and an optional cookie jar. */
export interface HttpSendOptions {
  readonly signal: AbortSignal;
  /** Words for an abort, e.g. `timed out after 10s`. */
  readonly reason: () => string;
  readonly cookies?: CookieJar | undefined;
}

type Phase = keyof HttpPhaseSeconds;

const PHASE_WORDS: Record<Phase, string> = {
  resolve: 'resolving the host',
  connect: 'connecting',
  tls: 'in the TLS handshake',
  processing: 'waiting for the response',
  transfer: 'reading the body',
};

interface Hop {
  readonly url: URL;
  readonly method: string;
  readonly headers: Record<string, string>;
  readonly body: string | undefined;
}

interface HopResult {
  readonly response: IncomingMessage | null;
  readonly body: Buffer;
  readonly truncated: boolean;
  readonly error: string | null;
  readonly phases: HttpPhaseSeconds;
  readonly certificate: TlsCertificateSeen | null;
}

/** Sends one request and follows its redirects (up to {@link MAX_REDIRECTS}); never throws for network trouble. */
export async function sendHttpRequest(
  request: HttpRequestConfig,
  options: HttpSendOptions,
): Promise<HttpExchange> {
  const started = performance.now();
  const phases: HttpPhaseSeconds = { resolve: 0, connect: 0, tls: 0, processing: 0, transfer: 0 };
  let certificate: TlsCertificateSeen | null = null;
  let hop: Hop = {
    url: new URL(request.url),
    method: request.method,
    headers: { 'user-agent': 'swas-probe', ...lowerKeys(request.headers) },
    body: request.body,
  };
  const tlsOptions = tlsRequestOptions(request.tls);
  for (let redirects = 0; ; redirects++) {
    const result = await sendHop(withCookies(hop, options.cookies), tlsOptions, options);
    for (const phase of Object.keys(phases) as Phase[]) phases[phase] += result.phases[phase];
    if (result.certificate && (!certificate || result.certificate.validToMs < certificate.validToMs))
      certificate = result.certificate;
    const finish = (response: HttpResponseSeen | null, error: string | null): HttpExchange => ({
      response,
      error,
      redirects,
      ssl: hop.url.protocol === 'https:',
      certificate,
      phases,
      durationSeconds: (performance.now() - started) / 1000,
    });
    if (result.response === null)
      return finish(null, `${hop.method} ${hop.url.href}: ${result.error ?? 'failed'}`);
    const response = result.response;
    options.cookies?.store(hop.url, response.headers['set-cookie'] ?? []);
    const location = response.headers.location;
    if (request.follow_redirects && isRedirect(response.statusCode ?? 0) && location !== undefined) {
      if (redirects >= MAX_REDIRECTS)
        return finish(
          null,
          `${hop.method} ${hop.url.href}: more than ${MAX_REDIRECTS} redirects; fix the loop or set follow_redirects: false`,
        );
      hop = redirectHop(hop, response.statusCode ?? 0, location);
      continue;
    }
    return finish(seenResponse(hop.url, response, result), null);
  }
}

function seenResponse(url: URL, response: IncomingMessage, result: HopResult): HttpResponseSeen {
  const declared = Number(response.headers['content-length']);
  return {
    url: url.href,
    status: response.statusCode ?? 0,
    headers: response.headers,
    body: result.body,
    bodyTruncated: result.truncated,
    contentLength:
      Number.isFinite(declared) && response.headers['content-length'] !== undefined
        ? declared
        : result.body.length,
  };
}

function lowerKeys(headers: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}

function isRedirect(status: number): boolean {
  return [301, 302, 303, 307, 308].includes(status);
}

/** The next hop as browsers do it: 303 (and 301/302 after POST) become a GET without body; credentials stay on the origin. */
function redirectHop(previous: Hop, status: number, location: string): Hop {
  const url = new URL(location, previous.url);
  const headers = { ...previous.headers };
  if (url.origin !== previous.url.origin) delete headers.authorization;
  const toGet = status === 303 || ((status === 301 || status === 302) && previous.method === 'POST');
  if (!toGet) return { url, method: previous.method, headers, body: previous.body };
  delete headers['content-type'];
  delete headers['content-length'];
  return { url, method: previous.method === 'HEAD' ? 'HEAD' : 'GET', headers, body: undefined };
}

function withCookies(hop: Hop, cookies: CookieJar | undefined): Hop {
  const fromJar = cookies?.header(hop.url) ?? null;
  if (fromJar === null) return hop;
  const own = hop.headers.cookie;
  return { ...hop, headers: { ...hop.headers, cookie: own ? `${own}; ${fromJar}` : fromJar } };
}

function tlsRequestOptions(tls: HttpTlsConfig): https.RequestOptions {
  const options: https.RequestOptions = { rejectUnauthorized: !tls.insecure_skip_verify };
  if (tls.server_name !== undefined) options.servername = tls.server_name;
  if (tls.ca_file !== undefined) options.ca = readCaFile(tls.ca_file);
  return options;
}

function readCaFile(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new Error(
      `tls.ca_file ${path} cannot be read (${(error as Error).message}); check the path and its permissions`,
    );
  }
}

/** One request on a fresh connection (no keep-alive, so every phase is measured). */
function sendHop(hop: Hop, tlsOptions: https.RequestOptions, options: HttpSendOptions): Promise<HopResult> {
  return new Promise((resolve) => {
    const secure = hop.url.protocol === 'https:';
    // An IP literal needs no lookup, so the first phase is connecting.
    const clock = new PhaseClock(secure, isIP(hop.url.hostname.replace(/^\[|\]$/g, '')) !== 0);
    let certificate: TlsCertificateSeen | null = null;
    const headers = { ...hop.headers };
    if (hop.body !== undefined) headers['content-length'] = String(Buffer.byteLength(hop.body));
    const requestOptions = {
      method: hop.method,
      headers,
      agent: false as const,
      ...(secure ? tlsOptions : {}),
    };
    const req = (secure ? https : http).request(hop.url, requestOptions);
    let settled = false;
    const done = (result: Omit<HopResult, 'phases' | 'certificate'>) => {
      if (settled) return;
      settled = true;
      options.signal.removeEventListener('abort', onAbort);
      resolve({ ...result, phases: clock.seconds(), certificate });
    };
    const fail = (message: string) =>
      done({ response: null, body: Buffer.alloc(0), truncated: false, error: message });
    const onAbort = () => {
      fail(`${options.reason()} while ${PHASE_WORDS[clock.phase]}`);
      req.destroy();
    };
    if (options.signal.aborted) return onAbort();
    options.signal.addEventListener('abort', onAbort, { once: true });
    req.on('socket', (socket) => {
      socket.once('lookup', () => clock.mark('resolve'));
      socket.once('connect', () => clock.mark('connect'));
      socket.once('secureConnect', () => {
        clock.mark('tls');
        certificate = peerCertificate(socket as TLSSocket, tlsOptions.servername ?? hop.url.hostname);
      });
    });
    req.on('error', (error) => fail(describeNetworkError(error, clock.phase)));
    req.on('response', (response) => {
      clock.mark('processing');
      if (isRedirect(response.statusCode ?? 0) && response.headers.location !== undefined) {
        response.resume();
        response.on('end', () => done({ response, body: Buffer.alloc(0), truncated: false, error: null }));
        response.on('error', (error) => fail(describeNetworkError(error, clock.phase)));
        return;
      }
      readBody(response, (outcome) => {
        clock.mark('transfer');
        if ('error' in outcome) fail(describeNetworkError(outcome.error, 'transfer'));
        else done({ response, body: outcome.body, truncated: outcome.truncated, error: null });
      });
    });
    req.end(hop.body);
  });
}

/** Marks phase boundaries as the request progresses; a phase never reached takes zero time. */
class PhaseClock {
  readonly #started = performance.now();
  readonly #ends: Partial<Record<Phase, number>> = {};
  phase: Phase;
  readonly #secure: boolean;

  constructor(secure: boolean, skipsLookup: boolean) {
    this.#secure = secure;
    this.phase = skipsLookup ? 'connect' : 'resolve';
  }

  mark(finished: Phase): void {
    this.#ends[finished] = performance.now();
    const next: Record<Phase, Phase> = {
      resolve: 'connect',
      connect: this.#secure ? 'tls' : 'processing',
      tls: 'processing',
      processing: 'transfer',
      transfer: 'transfer',
    };
    this.phase = next[finished];
  }

  seconds(): HttpPhaseSeconds {
    const order: Phase[] = ['resolve', 'connect', 'tls', 'processing', 'transfer'];
    const out: HttpPhaseSeconds = { resolve: 0, connect: 0, tls: 0, processing: 0, transfer: 0 };
    let previous = this.#started;
    for (const phase of order) {
      const end = this.#ends[phase];
      if (end === undefined) continue;
      out[phase] = (end - previous) / 1000;
      previous = end;
    }
    return out;
  }
}

function peerCertificate(socket: TLSSocket, host: string): TlsCertificateSeen | null {
  const validTo = Date.parse(socket.getPeerCertificate().valid_to ?? '');
  return Number.isNaN(validTo) ? null : { host, validToMs: validTo };
}

type BodyOutcome = { body: Buffer; truncated: boolean } | { error: Error };

/** Reads (and decompresses) the body up to {@link BODY_LIMIT_BYTES}; stops reading past it. */
function readBody(response: IncomingMessage, onDone: (outcome: BodyOutcome) => void): void {
  const stream = decoded(response);
  const chunks: Buffer[] = [];
  let size = 0;
  let finished = false;
  const finish = (outcome: BodyOutcome) => {
    if (finished) return;
    finished = true;
    onDone(outcome);
  };
  stream.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    size += chunk.length;
    if (size < BODY_LIMIT_BYTES) return;
    finish({ body: Buffer.concat(chunks).subarray(0, BODY_LIMIT_BYTES), truncated: true });
    response.destroy();
  });
  stream.on('end', () => finish({ body: Buffer.concat(chunks), truncated: false }));
  stream.on('error', (error: Error) => finish({ error }));
  response.on('error', (error: Error) => finish({ error }));
}

function decoded(response: IncomingMessage): NodeJS.ReadableStream {
  const encoding = String(response.headers['content-encoding'] ?? '').toLowerCase();
  if (encoding === 'gzip' || encoding === 'x-gzip') return response.pipe(createGunzip());
  if (encoding === 'deflate') return response.pipe(createInflate());
  if (encoding === 'br') return response.pipe(createBrotliDecompress());
  return response;
}

const TLS_TRUST_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** Words a socket error the way an operator reads it: what happened, in which phase, what to do. */
function describeNetworkError(error: Error, phase: Phase): string {
  const code = (error as NodeJS.ErrnoException).code ?? '';
  if (TLS_TRUST_CODES.has(code))
    return `TLS certificate not trusted: ${error.message} (${code}); give its CA in tls.ca_file, set tls.server_name, or set tls.insecure_skip_verify: true`;
  if (code === 'ECONNREFUSED') return `connection refused (ECONNREFUSED); is the service listening?`;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN')
    return `host not found (${code}); check the URL's host name and DNS`;
  return `${error.message}${code ? ` (${code})` : ''} while ${PHASE_WORDS[phase]}`;
}
