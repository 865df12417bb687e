import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { connect as connectTcp, isIP, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { checkServerIdentity, connect as connectTls, type PeerCertificate, type TLSSocket } from 'node:tls';
import { formatDuration } from '../core/index.js';
import type { ProbeContext, ProbeResult } from './types.js';

/** Client-side TLS settings shared by `tcp` probes with `tls: {...}` and `tls` probes. */
export interface TlsClientConfig {
  /** Sent as SNI and checked against the certificate; default the target host. */
  readonly server_name?: string | undefined;
  /** PEM file of the CA(s) to trust instead of the system store. */
  readonly ca_file?: string | undefined;
  /** Accept untrusted or misnamed certificates (expiry is still measured). */
  readonly insecure_skip_verify: boolean;
  /** Fail when the earliest certificate in the chain expires sooner than this many ms. */
  readonly cert_expires_after?: number | undefined;
}

/** A parsed `host:port` target. */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** Splits `host:port` or `[v6]:port`; null when the text is neither. */
export function splitHostPort(target: string): HostPort | null {
  const match = /^\[([0-9A-Fa-f:.]+)\]:(\d{1,5})$/.exec(target) ?? /^([^:[\]]+):(\d{1,5})$/.exec(target);
  if (match === null) return null;
  const port = Number(match[2]);
  if (port < 1 || port > 65535) return null;
  return { host: match[1] ?? '', port };
}

/** The probe's own time limit combined with the runner's signal, and how to say which one ended it. */
export interface ProbeDeadline {
  readonly signal: AbortSignal;
  /** Why the signal fired, e.g. `timed out after 5s`. */
  readonly reason: () => string;
}

/** Starts the probe's clock: aborts at `timeoutMs` or when the runner aborts `ctx.signal`. */
export function startDeadline(ctx: ProbeContext, timeoutMs: number): ProbeDeadline {
  const timer = AbortSignal.timeout(timeoutMs);
  const signal = AbortSignal.any([ctx.signal, timer]);
  const limit = formatDuration(timeoutMs);
  return {
    signal,
    reason: () => {
      const runnerReason: unknown = ctx.signal.reason;
      if (timer.aborted || (runnerReason instanceof Error && runnerReason.name === 'TimeoutError'))
        return `timed out after ${limit}`;
      // A runner that says why it stopped (e.g. its own timeout) is quoted; a bare abort() is not.
      if (runnerReason instanceof Error && runnerReason.name !== 'AbortError' && runnerReason.message !== '')
        return runnerReason.message;
      return 'stopped before it finished';
    },
  };
}

/** Seconds since `startMs` (a `performance.now()` reading). */
export function secondsSince(startMs: number): number {
  return (performance.now() - startMs) / 1000;
}

/** Builds a probe result from the first error (or none) and the gauges measured so far. */
export function probeResult(
  startMs: number,
  error: string | null,
  metrics: Record<string, number>,
): ProbeResult {
  return { success: error === null, durationSeconds: secondsSince(startMs), error, metrics };
}

const socketErrorText: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset by the server',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name lookup failed for now (DNS temporary failure)',
  ETIMEDOUT: 'connection timed out',
  EPIPE: 'connection closed by the server',
  ERR_SSL_WRONG_VERSION_NUMBER:
    'the server did not answer in TLS (wrong version number); is this a plain-text port?',
};

/** A socket error as short text: `connection refused` rather than `connect ECONNREFUSED 127.0.0.1:5999`. */
export function describeSocketError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as NodeJS.ErrnoException).code;
  if (code !== undefined && socketErrorText[code] !== undefined) return socketErrorText[code];
  // OpenSSL errors carry a short `reason`; their message is a long internal trace.
  const reason = (error as { reason?: unknown }).reason;
  return typeof reason === 'string' ? reason : error.message;
}

/** An open connection (plain or TLS) and the gauges measured while opening it. */
export type OpenResult =
  | { readonly ok: true; readonly socket: Socket; readonly metrics: Record<string, number> }
  | { readonly ok: false; readonly error: string; readonly metrics: Record<string, number> };

/** What an open needs: where, whether to wrap in TLS, and the deadline and clock of the probe. */
export interface OpenOptions {
  readonly target: HostPort;
  readonly tls: TlsClientConfig | false;
  readonly deadline: ProbeDeadline;
  readonly now: () => number;
}

/**
 * Connects to the target (and completes the TLS handshake and certificate checks when asked), measuring
 * `probe_dns_lookup_time_seconds`, `probe_tcp_connect_seconds`, `probe_ip_protocol` and, for TLS,
 * `probe_tls_handshake_seconds` and the certificate expiry gauges. Never throws; the socket is destroyed
 * on failure.
 */
export async function openConnection(options: OpenOptions): Promise<OpenResult> {
  const { target, tls, deadline } = options;
  const where = `${target.host}:${target.port}`;
  const metrics: Record<string, number> = { probe_dns_lookup_time_seconds: 0 };
  let ca: Buffer | undefined;
  if (tls !== false && tls.ca_file !== undefined) {
    try {
      ca = await readFile(tls.ca_file, { signal: deadline.signal });
    } catch (error) {
      return {
        ok: false,
        error: `TLS ${where}: cannot read ca_file ${tls.ca_file}: ${describeSocketError(error)}`,
        metrics,
      };
    }
  }
  const start = performance.now();
  let lookedUpAt = start;
  let connectedAt: number | null = null;
  const socket =
    tls === false
      ? connectTcp({ host: target.host, port: target.port })
      : connectTls({
          host: target.host,
          port: target.port,
          servername: tls.server_name ?? (isIP(target.host) === 0 ? target.host : undefined),
          ca,
          // Trust is judged after the handshake so an untrusted certificate still yields its expiry gauges.
          rejectUnauthorized: false,
        });
  // Errors reach the caller through once() or the read loop; this keeps a late one from crashing the process.
  socket.on('error', () => undefined);
  socket.once('lookup', () => {
    lookedUpAt = performance.now();
    metrics.probe_dns_lookup_time_seconds = (lookedUpAt - start) / 1000;
  });
  socket.once('connect', () => {
    connectedAt = performance.now();
    metrics.probe_tcp_connect_seconds = (connectedAt - lookedUpAt) / 1000;
    metrics.probe_ip_protocol = socket.remoteFamily === 'IPv6' ? 6 : 4;
  });
  try {
    await once(socket, tls === false ? 'connect' : 'secureConnect', { signal: deadline.signal });
  } catch (error) {
    socket.destroy();
    const phase = connectedAt === null ? `connect ${where}` : `TLS handshake with ${where}`;
    const reason = deadline.signal.aborted ? deadline.reason() : describeSocketError(error);
    return { ok: false, error: `${phase}: ${reason}`, metrics };
  }
  if (tls === false) return { ok: true, socket, metrics };
  metrics.probe_tls_handshake_seconds = (performance.now() - (connectedAt ?? start)) / 1000;
  const verdict = judgeCertificate(socket as TLSSocket, target, tls, options.now());
  Object.assign(metrics, verdict.metrics);
  if (verdict.error !== null) {
    socket.destroy();
    return { ok: false, error: verdict.error, metrics };
  }
  return { ok: true, socket, metrics };
}

const verifyErrorText: Record<string, string> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: 'it is self-signed',
  SELF_SIGNED_CERT_IN_CHAIN: 'its chain ends in a self-signed CA that is not trusted',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'its issuer is not a trusted CA',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'its issuer is not a trusted CA',
  CERT_HAS_EXPIRED: 'it has expired',
  CERT_NOT_YET_VALID: 'it is not valid yet',
  CERT_SIGNATURE_FAILURE: 'its signature does not verify',
};

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/** A span for people: `2 days`, `5 hours`, `12 minutes` (rounded down). */
function spanText(ms: number): string {
  const plural = (n: number, unit: string) => `${n} ${unit}${n === 1 ? '' : 's'}`;
  if (ms >= DAY_MS) return plural(Math.floor(ms / DAY_MS), 'day');
  if (ms >= HOUR_MS) return plural(Math.floor(ms / HOUR_MS), 'hour');
  return plural(Math.floor(ms / 60_000), 'minute');
}

/** A configured limit: `14 days` when whole days, else `36h`-style. */
function limitText(ms: number): string {
  return ms % DAY_MS === 0 ? spanText(ms) : formatDuration(ms);
}

/** The certificates the server sent, leaf first, stopping at the self-signed root. */
function chainOf(leaf: PeerCertificate): PeerCertificate[] {
  const chain: PeerCertificate[] = [];
  let cert: PeerCertificate | undefined = leaf;
  while (cert !== undefined && cert.valid_to !== undefined && !chain.includes(cert)) {
    chain.push(cert);
    const issuer: PeerCertificate | undefined = (cert as { issuerCertificate?: PeerCertificate })
      .issuerCertificate;
    cert = issuer === cert ? undefined : issuer;
  }
  return chain;
}

/** Checks trust, name and expiry of the server's certificate; metrics are returned whatever the verdict. */
function judgeCertificate(
  socket: TLSSocket,
  target: HostPort,
  tls: TlsClientConfig,
  nowMs: number,
): { metrics: Record<string, number>; error: string | null } {
  const name = tls.server_name ?? target.host;
  const where = `TLS ${target.host}:${target.port}`;
  const leaf = socket.getPeerCertificate(true);
  const chain = chainOf(leaf);
  if (chain.length === 0) return { metrics: {}, error: `${where}: the server sent no certificate` };
  const expiries = chain.map((cert) => Date.parse(cert.valid_to));
  const earliest = Math.min(...expiries);
  const metrics = {
    probe_tls_cert_expiry_timestamp_seconds: (expiries[0] ?? earliest) / 1000,
    probe_ssl_earliest_cert_expiry: earliest / 1000,
  };
  if (!tls.insecure_skip_verify && !socket.authorized) {
    const code = String(socket.authorizationError);
    const reason =
      code === 'ERR_TLS_CERT_ALTNAME_INVALID'
        ? (checkServerIdentity(name, leaf)?.message ?? 'its names do not include the host')
        : `${verifyErrorText[code] ?? 'verification failed'} (${code})`;
    const fix =
      code === 'ERR_TLS_CERT_ALTNAME_INVALID'
        ? 'set server_name to a name the certificate holds'
        : 'set ca_file to the CA that issued it, or insecure_skip_verify: true';
    return { metrics, error: `${where}: certificate of ${name} is not trusted: ${reason}; ${fix}` };
  }
  if (tls.cert_expires_after !== undefined && earliest - nowMs < tls.cert_expires_after) {
    const which =
      expiries[0] === earliest ? `certificate of ${name}` : `a CA certificate in the chain of ${name}`;
    const left = earliest - nowMs;
    const when = left < 0 ? `expired ${spanText(-left)} ago` : `expires in ${spanText(left)}`;
    return { metrics, error: `${which} ${when} (< ${limitText(tls.cert_expires_after)})` };
  }
  return { metrics, error: null };
}
