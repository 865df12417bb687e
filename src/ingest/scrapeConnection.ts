import { connect, type Socket } from 'node:net';
import {
  RawHttpError,
  ResponseReader,
  type BodyBufferPool,
  type RawHttpResponse,
} from './scrapeResponseReader.js';

/**
 * A lean HTTP/1.1 GET over kept-alive `net.Socket`s, for plain-http scrapes. `node:http` (ClientRequest,
 * agent, llhttp, IncomingMessage streams) cost ~440 µs of CPU per kept-alive scrape, a raw socket ~160 µs;
 * scrapes run every second for every target, so the difference was a visible share of ingest CPU.
 */

export interface RawGetOptions {
  /** Host name or address as given to `net.connect` (IPv6 without brackets). */
  readonly host: string;
  readonly port: number;
  /** The whole request: request line, headers and the empty line. */
  readonly head: Buffer;
  /** Time left for connect, headers and body. */
  readonly timeoutMs: number;
  /** Largest body read (0 = no limit). */
  readonly bodyLimitBytes: number;
  /** Open a new connection instead of reusing an idle one (the retry after a stale socket). */
  readonly fresh: boolean;
  readonly buffers: BodyBufferPool;
}

/** Connections per host:port, as the `node:http` agent used before (maxSockets: 4). */
export const MAX_CONNECTIONS_PER_ORIGIN = 4;
/** An idle connection is closed after this long without traffic. */
export const IDLE_CLOSE_MS = 60_000;
/** One kept connection to an origin; it serves one exchange at a time. */
class Connection {
  readonly socket: Socket;
  exchange: Exchange | null = null;
  /** Has served a response before: a failure before any byte may be the server's idle close. */
  used = false;
  dead = false;

  constructor(readonly pool: OriginPool) {
    this.socket = connect({ host: pool.host, port: pool.port });
    this.socket.setNoDelay(true);
    // Fires after this long without traffic; only idle connections are closed by it.
    this.socket.setTimeout(IDLE_CLOSE_MS);
    this.socket.on('data', (chunk: Buffer) => {
      if (this.exchange === null) this.pool.drop(this);
      else this.exchange.onData(chunk);
    });
    this.socket.on('end', () => {
      if (this.exchange === null) this.pool.drop(this);
      else this.exchange.onEnd();
    });
    this.socket.on('error', (error) => this.exchange?.onError(error));
    this.socket.on('close', () => {
      const exchange = this.exchange;
      this.pool.drop(this);
      exchange?.onError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
    });
    this.socket.on('timeout', () => {
      if (this.exchange === null) this.pool.drop(this);
    });
  }
}

/** The connections to one host:port. */
class OriginPool {
  private readonly idle: Connection[] = [];
  private readonly waiting: Exchange[] = [];
  private open = 0;

  constructor(
    readonly key: string,
    readonly host: string,
    readonly port: number,
  ) {}

  acquire(exchange: Exchange, fresh: boolean): void {
    if (fresh && this.open >= MAX_CONNECTIONS_PER_ORIGIN && this.idle.length > 0) {
      const oldest = this.idle.shift();
      if (oldest !== undefined) this.drop(oldest);
    }
    const idle = fresh ? undefined : this.idle.pop();
    if (idle !== undefined) {
      idle.socket.ref();
      exchange.start(idle);
    } else if (this.open < MAX_CONNECTIONS_PER_ORIGIN) {
      this.open++;
      exchange.start(new Connection(this));
    } else {
      this.waiting.push(exchange);
    }
  }

  /** An exchange that timed out before it got a connection. */
  cancel(exchange: Exchange): void {
    const at = this.waiting.indexOf(exchange);
    if (at >= 0) this.waiting.splice(at, 1);
    this.forgetIfEmpty();
  }

  release(connection: Connection, reusable: boolean): void {
    connection.exchange = null;
    if (!reusable) {
      this.drop(connection);
      return;
    }
    connection.used = true;
    const next = this.waiting.shift();
    if (next !== undefined) {
      next.start(connection);
      return;
    }
    // Idle connections do not keep the process alive.
    connection.socket.unref();
    this.idle.push(connection);
  }

  /** Closes a connection (idempotent) and gives its place to a waiting exchange. */
  drop(connection: Connection): void {
    connection.exchange = null;
    if (connection.dead) return;
    connection.dead = true;
    connection.socket.destroy();
    this.open--;
    const at = this.idle.indexOf(connection);
    if (at >= 0) this.idle.splice(at, 1);
    const next = this.waiting.shift();
    if (next !== undefined) {
      this.open++;
      next.start(new Connection(this));
    }
    this.forgetIfEmpty();
  }

  private forgetIfEmpty(): void {
    if (this.open === 0 && this.waiting.length === 0 && pools.get(this.key) === this) pools.delete(this.key);
  }
}

const pools = new Map<string, OriginPool>();

/** One request from sending to the end of its response. */
class Exchange {
  private connection: Connection | null = null;
  private readonly reader: ResponseReader;
  private readonly timer: NodeJS.Timeout;
  private settled = false;
  private gotBytes = false;

  constructor(
    private readonly pool: OriginPool,
    private readonly head: Buffer,
    timeoutMs: number,
    limit: number,
    buffers: BodyBufferPool,
    private readonly resolve: (response: RawHttpResponse) => void,
    private readonly reject: (error: Error) => void,
  ) {
    this.reader = new ResponseReader(limit, buffers);
    this.timer = setTimeout(() => this.fail(new RawHttpError('timeout', 'timed out')), timeoutMs);
  }

  start(connection: Connection): void {
    this.connection = connection;
    connection.exchange = this;
    connection.socket.write(this.head);
  }

  onData(chunk: Buffer): void {
    this.gotBytes = true;
    let done: boolean;
    try {
      done = this.reader.feed(chunk);
    } catch (error) {
      this.fail(error as Error);
      return;
    }
    if (done) this.finish();
  }

  onEnd(): void {
    if (this.isStale()) {
      this.fail(new RawHttpError('stale', 'kept connection closed by the target'));
      return;
    }
    try {
      this.reader.end();
    } catch (error) {
      this.fail(error as Error);
      return;
    }
    this.finish();
  }

  onError(error: Error): void {
    const code = (error as NodeJS.ErrnoException).code;
    const stale = this.isStale() && (code === 'ECONNRESET' || code === 'EPIPE');
    this.fail(stale ? new RawHttpError('stale', error.message) : error);
  }

  private isStale(): boolean {
    return !this.gotBytes && this.connection?.used === true;
  }

  private finish(): void {
    if (this.settled || this.connection === null) return;
    this.settled = true;
    clearTimeout(this.timer);
    const reader = this.reader;
    this.pool.release(this.connection, reader.keepAlive && !reader.extra);
    this.resolve(reader.response());
  }

  fail(error: Error): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    if (this.connection === null) this.pool.cancel(this);
    else this.pool.drop(this.connection);
    this.reader.dispose();
    this.reject(error);
  }
}

/**
 * Sends `head` to host:port over a kept connection (or a new one) and reads the response. Rejects with a
 * {@link RawHttpError} or with the socket's own error (connection refused and the like).
 */
export function rawGet(options: RawGetOptions): Promise<RawHttpResponse> {
  const key = `${options.host}:${options.port}`;
  let pool = pools.get(key);
  if (pool === undefined) {
    pool = new OriginPool(key, options.host, options.port);
    pools.set(key, pool);
  }
  const origin = pool;
  return new Promise((resolve, reject) => {
    const exchange = new Exchange(
      origin,
      options.head,
      options.timeoutMs,
      options.bodyLimitBytes,
      options.buffers,
      resolve,
      reject,
    );
    origin.acquire(exchange, options.fresh);
  });
}
