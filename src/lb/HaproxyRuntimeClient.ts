import { connect, isIP, type Socket } from 'node:net';
import { errorMessage } from '../core/index.js';
import { LbError, type LbErrorContext } from './LbError.js';
import { classifyRuntimeReply, type ParseResult, type RuntimeReplyErrorKind } from './haproxyParsers.js';

/** Where HAProxy's runtime API listens: a unix socket or a TCP address. */
export type RuntimeSocketAddress =
  | { readonly kind: 'unix'; readonly path: string }
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number };

/** Options for {@link HaproxyRuntimeClient.create}. */
export interface HaproxyRuntimeClientOptions {
  /** The load balancer's name in swas config; every error message names it. */
  readonly lbName: string;
  /** A unix socket path (`/run/haproxy/admin.sock`) or `host:port` (`127.0.0.1:9999`, `[::1]:9999`). */
  readonly socket: string;
  /**
   * Limit on connecting and on each wait for reply data, in milliseconds.
   * @default 2000
   */
  readonly timeoutMs?: number;
}

/** Which pool/member a command is about, so errors can name them. */
export interface RuntimeCommandTarget {
  readonly pool?: string;
  readonly member?: string;
}

const DEFAULT_TIMEOUT_MS = 2000;
// A `show stat` of a very large config is a few MB; anything far beyond that is not HAProxy talking.
const MAX_REPLY_BYTES = 64 * 1024 * 1024;

/** Reads a socket setting: a path (anything with a '/') or host:port. */
export function parseRuntimeSocketAddress(text: string): ParseResult<RuntimeSocketAddress> {
  const value = text.trim();
  if (value === '') return { ok: false, error: 'the socket is empty' };
  if (value.includes('/')) return { ok: true, value: { kind: 'unix', path: value } };
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(value);
  const host = match?.[1] ?? match?.[2];
  const port = Number(match?.[3]);
  if (match === null || host === undefined || !(port >= 1 && port <= 65535)) {
    return {
      ok: false,
      error:
        `"${value}" is neither a unix socket path nor host:port; write /run/haproxy/admin.sock, ` +
        `./admin.sock (relative path), 127.0.0.1:9999 or [::1]:9999`,
    };
  }
  if (match[1] !== undefined && isIP(host) !== 6)
    return { ok: false, error: `"${host}" is not an IPv6 address` };
  return { ok: true, value: { kind: 'tcp', host, port } };
}

/** Talks to HAProxy's runtime API (stats socket): one command per connection, every wait bounded. */
export class HaproxyRuntimeClient {
  readonly lbName: string;
  /** The socket as configured, for messages. */
  readonly endpoint: string;
  readonly timeoutMs: number;
  private readonly address: RuntimeSocketAddress;

  private constructor(lbName: string, endpoint: string, address: RuntimeSocketAddress, timeoutMs: number) {
    this.lbName = lbName;
    this.endpoint = endpoint;
    this.address = address;
    this.timeoutMs = timeoutMs;
  }

  /** Checks the options and builds a client; throws LbError 'invalid_argument' on a bad socket or timeout. */
  static create(options: HaproxyRuntimeClientOptions): HaproxyRuntimeClient {
    const context = { lb: options.lbName, endpoint: options.socket };
    const address = parseRuntimeSocketAddress(options.socket);
    if (!address.ok) {
      throw new LbError('invalid_argument', `load balancer "${options.lbName}": ${address.error}`, context);
    }
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) {
      throw new LbError(
        'invalid_argument',
        `load balancer "${options.lbName}": timeoutMs must be a whole number of milliseconds above 0, got ${timeoutMs}`,
        context,
      );
    }
    return new HaproxyRuntimeClient(options.lbName, options.socket.trim(), address.value, timeoutMs);
  }

  /** Runs a command that prints data (`show …`); throws the LbError an error reply stands for. */
  async query(command: string, target: RuntimeCommandTarget = {}): Promise<string> {
    const reply = await this.send(command, target);
    const problem = classifyRuntimeReply(reply);
    if (problem !== null) throw this.replyError(problem.kind, problem.text, command, target);
    if (reply.trim() === '') throw this.replyError('command_failed', '', command, target);
    return reply;
  }

  /** Runs a command that prints nothing on success (`set …`); any text back is an error. */
  async execute(command: string, target: RuntimeCommandTarget = {}): Promise<void> {
    const reply = await this.send(command, target);
    if (reply.trim() === '') return;
    const problem = classifyRuntimeReply(reply);
    throw this.replyError(problem?.kind ?? 'command_failed', reply.trim(), command, target);
  }

  /** Sends one command and returns HAProxy's raw reply; throws LbError 'unreachable' on transport failure. */
  async send(command: string, target: RuntimeCommandTarget = {}): Promise<string> {
    if (/[\n\r;]/.test(command)) {
      // The runtime API treats ';' and newlines as command separators: one call must be one command.
      throw new LbError(
        'invalid_argument',
        `refusing to send ${JSON.stringify(command)} to HAProxy "${this.lbName}": it contains a command separator`,
        this.context(command, target),
      );
    }
    return new Promise<string>((resolve, reject) => {
      const socket =
        this.address.kind === 'unix'
          ? connect({ path: this.address.path })
          : connect({ host: this.address.host, port: this.address.port });
      this.exchange(socket, command, (outcome) => {
        if (outcome.ok) resolve(outcome.reply);
        else reject(this.transportError(outcome.problem, outcome.cause, command, target));
      });
    });
  }

  private exchange(socket: Socket, command: string, done: (outcome: ExchangeOutcome) => void): void {
    const chunks: Buffer[] = [];
    let bytes = 0;
    let phase: 'connect' | 'reply' = 'connect';
    let settled = false;
    const finish = (outcome: ExchangeOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      done(outcome);
    };
    const arm = (): NodeJS.Timeout =>
      setTimeout(
        () => finish({ ok: false, problem: phase === 'connect' ? 'connect-timeout' : 'reply-timeout' }),
        this.timeoutMs,
      );
    let timer = arm();
    socket.once('connect', () => {
      phase = 'reply';
      clearTimeout(timer);
      timer = arm();
      // Half-closing tells HAProxy this is the only command (non-interactive mode); it replies, then closes.
      socket.end(`${command}\n`);
    });
    socket.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > MAX_REPLY_BYTES) return finish({ ok: false, problem: 'too-large' });
      chunks.push(chunk);
      clearTimeout(timer);
      timer = arm();
    });
    socket.once('end', () => finish({ ok: true, reply: Buffer.concat(chunks).toString('utf8') }));
    socket.once('error', (cause: NodeJS.ErrnoException) =>
      finish({ ok: false, problem: 'socket-error', cause }),
    );
    socket.once('close', () => finish({ ok: true, reply: Buffer.concat(chunks).toString('utf8') }));
  }

  private context(command: string, target: RuntimeCommandTarget, reply?: string): LbErrorContext {
    return {
      lb: this.lbName,
      endpoint: this.endpoint,
      ...target,
      command,
      ...(reply === undefined ? {} : { reply }),
    };
  }

  private transportError(
    problem: TransportProblem,
    cause: NodeJS.ErrnoException | undefined,
    command: string,
    target: RuntimeCommandTarget,
  ): LbError {
    const where = `HAProxy "${this.lbName}" runtime API at ${this.endpoint} (running "${command}")`;
    const context = this.context(command, target);
    if (problem === 'too-large') {
      return new LbError(
        'command_failed',
        `${where} sent more than ${MAX_REPLY_BYTES} bytes for "${command}"; check that ${this.endpoint} is HAProxy's stats socket`,
        context,
      );
    }
    return new LbError(
      'unreachable',
      `${where}: ${transportAdvice(problem, cause, this.endpoint, this.timeoutMs)}`,
      context,
      {
        cause,
      },
    );
  }

  private replyError(
    kind: RuntimeReplyErrorKind,
    text: string,
    command: string,
    target: RuntimeCommandTarget,
  ): LbError {
    const said =
      text === '' ? 'an empty reply' : JSON.stringify(text.length > 300 ? `${text.slice(0, 300)}…` : text);
    const lb = `HAProxy "${this.lbName}" (runtime API ${this.endpoint})`;
    const context = this.context(command, target, text);
    const messages: Record<RuntimeReplyErrorKind, string> = {
      no_such_pool: `${lb} has no backend "${target.pool ?? '?'}" (it answered ${said}); list pools with \`swas lb pools\``,
      no_such_member:
        `backend "${target.pool ?? '?'}" of ${lb} has no server "${target.member ?? '?'}" (it answered ${said}); ` +
        `list members with \`swas lb members ${target.pool ?? ''}\``.trimEnd(),
      permission_denied:
        `${lb} refused "${command}": ${said}. The socket's level is too low; declare it in haproxy.cfg ` +
        `as "stats socket ${this.endpoint} level admin"`,
      invalid_argument: `${lb} rejected "${command}": ${said}`,
      command_failed:
        `${lb} answered "${command}" with ${said}` +
        (/^Unknown command/i.test(text)
          ? `; this socket does not offer that command (an old HAProxy, or the master CLI instead of a worker's stats socket)`
          : ''),
    };
    return new LbError(kind, messages[kind], context);
  }
}

type TransportProblem = 'connect-timeout' | 'reply-timeout' | 'socket-error' | 'too-large';
type ExchangeOutcome =
  { ok: true; reply: string } | { ok: false; problem: TransportProblem; cause?: NodeJS.ErrnoException };

function transportAdvice(
  problem: TransportProblem,
  cause: NodeJS.ErrnoException | undefined,
  endpoint: string,
  timeoutMs: number,
): string {
  if (problem === 'connect-timeout') {
    return `no connection within ${timeoutMs} ms; check that HAProxy runs and that ${endpoint} is reachable from here`;
  }
  if (problem === 'reply-timeout') {
    return `connected, but no reply within ${timeoutMs} ms; HAProxy may be overloaded, or ${endpoint} is not its stats socket`;
  }
  const code = cause?.code;
  const declare = `check \`stats socket ${endpoint} level admin\` in haproxy.cfg`;
  switch (code) {
    case 'ENOENT':
      return `the socket ${endpoint} does not exist; is HAProxy running? Also ${declare}`;
    case 'ECONNREFUSED':
      return `connection refused at ${endpoint}; HAProxy is not running or not listening there; ${declare}`;
    case 'EACCES':
    case 'EPERM':
      return `swas may not open ${endpoint} (${code}); give the user swas runs as access, e.g. \`stats socket ${endpoint} mode 660 group <swas group> level admin\``;
    default:
      return `could not talk to ${endpoint}: ${errorMessage(cause)}`;
  }
}
