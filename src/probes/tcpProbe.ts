import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import {
  openConnection,
  probeResult,
  splitHostPort,
  startDeadline,
  describeSocketError,
  type ProbeDeadline,
  type TlsClientConfig,
} from './netConnect.js';
import { compileProbeRegex } from './httpExpect.js';
import type { ProbeRunner } from './types.js';

/** A `tcp` probe: connect, optionally over TLS, optionally send text and check the first bytes back. */
export interface TcpProbeConfig {
  readonly kind: 'tcp';
  /** `host:port` to connect to. */
  readonly target: string;
  /** Milliseconds the whole probe may take. */
  readonly timeout: number;
  /** Text written right after connecting. */
  readonly send?: string | undefined;
  /** RE2 pattern the reply must match by the end of its first line (unanchored). */
  readonly expect?: string | undefined;
  /** `false` for plain TCP, else TLS settings. */
  readonly tls: false | TlsClientConfig;
}

/** How much of the reply is read while waiting for `expect` to match; a banner is far shorter. */
const MAX_REPLY_BYTES = 64 * 1024;

/** The reply as quoted text for an error message, cut to a readable length. */
function quoteReply(text: string): string {
  const cut = text.length > 120 ? `${text.slice(0, 120)}…` : text;
  return JSON.stringify(cut);
}

/** Writes `text` and waits until the socket has taken it; returns an error text or null. */
async function sendText(
  socket: Socket,
  text: string,
  deadline: ProbeDeadline,
  where: string,
): Promise<string | null> {
  const written = new Promise<Error | null | undefined>((resolve) => socket.write(text, resolve));
  const aborted = new Promise<'aborted'>((resolve) =>
    deadline.signal.addEventListener('abort', () => resolve('aborted'), { once: true }),
  );
  const outcome = deadline.signal.aborted ? 'aborted' : await Promise.race([written, aborted]);
  if (outcome === 'aborted') return `send to ${where}: ${deadline.reason()}`;
  return outcome instanceof Error ? `send to ${where}: ${describeSocketError(outcome)}` : null;
}

/** Reads until the reply matches the RE2 pattern `expected`; returns an error text or null when it matched. */
async function expectReply(
  socket: Socket,
  expected: string,
  deadline: ProbeDeadline,
  where: string,
): Promise<string | null> {
  const compiled = compileProbeRegex(expected);
  if (!compiled.ok) return `${compiled.error}; fix expect in the probe config`;
  const pattern = compiled.regex;
  const shown = `/${expected}/`;
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const received = () => Buffer.concat(chunks).toString('utf8');
    const got = () => (size === 0 ? 'nothing' : quoteReply(received()));
    const finish = (error: string | null) => {
      socket.off('data', onData).off('end', onEnd).off('close', onEnd).off('error', onError);
      deadline.signal.removeEventListener('abort', onAbort);
      resolve(error);
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      const text = received();
      if (pattern.test(text)) finish(null);
      // The first line decides, so a wrong reply fails now instead of waiting for the timeout.
      else if (text.includes('\n')) finish(`expected ${shown} but ${where} sent ${got()}`);
      else if (size >= MAX_REPLY_BYTES)
        finish(
          `expected ${shown} in the first ${MAX_REPLY_BYTES} bytes from ${where}, but the server sent ${got()}`,
        );
    };
    const onEnd = () => finish(`expected ${shown} but ${where} sent ${got()} and closed the connection`);
    const onError = (error: Error) =>
      finish(
        `expected ${shown} but reading from ${where} failed: ${describeSocketError(error)} (got ${got()})`,
      );
    const onAbort = () => finish(`expected ${shown} but ${where} sent ${got()}; ${deadline.reason()}`);
    if (deadline.signal.aborted) return onAbort();
    socket.on('data', onData).once('end', onEnd).once('close', onEnd).once('error', onError);
    deadline.signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Connects to a TCP service (optionally over TLS), sends `send`, and checks the reply against `expect`. */
export const runTcpProbe: ProbeRunner<TcpProbeConfig> = async (config, ctx) => {
  const start = performance.now();
  const target = splitHostPort(config.target);
  if (target === null) {
    return probeResult(
      start,
      `tcp probe target "${config.target}" is not host:port; write it like db.internal:5432`,
      {},
    );
  }
  const where = config.target;
  const deadline = startDeadline(ctx, config.timeout);
  const opened = await openConnection({ target, tls: config.tls, deadline, now: ctx.now });
  if (!opened.ok) return probeResult(start, opened.error, opened.metrics);
  const { socket, metrics } = opened;
  try {
    if (config.send !== undefined) {
      const error = await sendText(socket, config.send, deadline, where);
      if (error !== null) return probeResult(start, error, metrics);
    }
    if (config.expect !== undefined) {
      const error = await expectReply(socket, config.expect, deadline, where);
      metrics.probe_failed_due_to_regex = error === null ? 0 : 1;
      if (error !== null) return probeResult(start, error, metrics);
    }
    return probeResult(start, null, metrics);
  } finally {
    socket.destroy();
  }
};
