import WebSocket from 'ws';
import { errorMessage } from '../core/index.js';
import type { AgentLogger } from './agentLogger.js';
import { Backoff, type BackoffOptions, type BackoffStep } from './backoff.js';
import { tlsOptionsOf, type AgentTls } from './credential.js';
import {
  MAX_FRAME_BYTES,
  parseFrame,
  serverFrame,
  type AgentFrame,
  type ServerFrame,
  type WireSample,
} from './protocol.js';
import type { Spool } from './spool.js';
import { TlsTroubleLog } from './tlsTrouble.js';

/** One spooled collection: the samples of one batch, ready for a `samples` frame. */
export interface SpoolBatch {
  readonly samples: WireSample[];
}

/** Where the link is: dialling, up and sending, waiting to redial, or stopped for good. */
export type LinkState = 'connecting' | 'open' | 'waiting' | 'closed';

/** A reconnect the link scheduled, with why. */
export interface ReconnectScheduled extends BackoffStep {
  readonly reason: string;
}

/** How the link runs. */
export interface AgentLinkOptions {
  /** ws(s)://…/api/v1/agents/connect */
  readonly url: string;
  /** The credential to connect with, read fresh before each attempt (an operator may have re-enrolled). */
  readonly credential: () => Promise<string>;
  readonly hello: () => Extract<AgentFrame, { type: 'hello' }>;
  readonly spool: Spool<SpoolBatch>;
  readonly tls: AgentTls;
  readonly logger: AgentLogger;
  /** Frames other than welcome and ack (action, config). */
  readonly onFrame: (frame: ServerFrame) => void;
  readonly onReconnectScheduled?: (step: ReconnectScheduled) => void;
  /** Batches sent and not yet acknowledged at most. @default 4 */
  readonly window?: number;
  readonly backoff?: BackoffOptions;
  /** A connection that answers no ping for this long is dropped. @default 30000 */
  readonly pingIntervalMs?: number;
}

/** Counters for the agent's own metrics. */
export interface LinkStats {
  readonly connected: boolean;
  readonly reconnects: number;
  readonly malformedFrames: number;
}

// Frames the agent wants to send while the link is down (action results) wait here, up to this many.
const MAX_QUEUED_FRAMES = 100;

/**
 * The agent's connection to the server: dials out over WebSocket, sends spooled batches in order with a
 * small window of unacknowledged ones, acks the spool as the server confirms, and on any disconnect
 * redials forever with exponential backoff and full jitter, replaying from the oldest unacknowledged batch.
 */
export class AgentLink {
  private ws: WebSocket | null = null;
  private linkState: LinkState = 'closed';
  private ready = false;
  private stopping = false;
  private nextSend = 0;
  private readonly inFlight = new Set<number>();
  private readonly queued: AgentFrame[] = [];
  private readonly backoff: Backoff;
  private redialTimer: NodeJS.Timeout | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private lastFailure = 'connection closed';
  private counters = { reconnects: 0, malformedFrames: 0 };
  private readonly tlsTrouble: TlsTroubleLog;

  constructor(private readonly options: AgentLinkOptions) {
    this.backoff = new Backoff(options.backoff);
    this.tlsTrouble = new TlsTroubleLog(options.logger);
  }

  /** Where the link is now. */
  get state(): LinkState {
    return this.linkState;
  }

  /** Counters for the agent's own metrics. */
  stats(): LinkStats {
    return { connected: this.ready, ...this.counters };
  }

  /** Starts dialling; returns at once. */
  start(): void {
    this.stopping = false;
    void this.dial();
  }

  /** Sends spooled batches while the window has room; call after each append. */
  pump(): void {
    const ws = this.ws;
    if (!this.ready || ws === null) return;
    const room = (this.options.window ?? 4) - this.inFlight.size;
    if (room <= 0) return;
    for (const entry of this.options.spool.readFrom(this.nextSend, room)) {
      ws.send(JSON.stringify({ type: 'samples', seq: entry.seq, samples: entry.record.samples }));
      this.inFlight.add(entry.seq);
      this.nextSend = entry.seq + 1;
    }
  }

  /** Sends a frame now, or after the next welcome when the link is down (bounded; the oldest is dropped). */
  send(frame: AgentFrame): void {
    if (this.ready && this.ws !== null) {
      this.ws.send(JSON.stringify(frame));
      return;
    }
    if (this.queued.length >= MAX_QUEUED_FRAMES) this.queued.shift();
    this.queued.push(frame);
  }

  /** Closes the connection and stops redialling. */
  async close(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.redialTimer);
    clearInterval(this.pingTimer);
    this.linkState = 'closed';
    const ws = this.ws;
    if (ws === null || ws.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => {
        ws.terminate();
        resolve();
      }, 2000);
      ws.once('close', () => {
        clearTimeout(force);
        resolve();
      });
      if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
      else ws.close(1000, 'agent stopping');
    });
  }

  private async dial(): Promise<void> {
    if (this.stopping) return;
    this.linkState = 'connecting';
    let credential: string;
    try {
      credential = await this.options.credential();
    } catch (error) {
      // Re-enrolling (the credential was deleted) can meet the same TLS trouble as the link.
      this.tlsTrouble.note(error, 'cannot enroll', this.options.url);
      this.scheduleRedial(errorMessage(error));
      return;
    }
    if (this.stopping) return;
    const ws = new WebSocket(this.options.url, {
      headers: { authorization: `Bearer ${credential}` },
      maxPayload: MAX_FRAME_BYTES,
      handshakeTimeout: 15_000,
      ...tlsOptionsOf(this.options.tls),
    });
    this.ws = ws;
    this.lastFailure = 'connection closed';
    ws.on('open', () => this.onOpen(ws));
    ws.on('message', (data: WebSocket.RawData, isBinary) => this.onMessage(data, isBinary));
    ws.on('error', (error) => this.onError(error));
    ws.on('close', (code, reason) => this.onClose(ws, code, reason.toString('utf8')));
  }

  private onOpen(ws: WebSocket): void {
    this.linkState = 'open';
    this.inFlight.clear();
    this.nextSend = 0; // replay from the oldest unacknowledged batch
    ws.send(JSON.stringify(this.options.hello()));
    let alive = true;
    ws.on('pong', () => {
      alive = true;
    });
    this.pingTimer = setInterval(() => {
      if (!alive) {
        this.lastFailure = 'the server stopped answering pings';
        ws.terminate();
        return;
      }
      alive = false;
      ws.ping();
    }, this.options.pingIntervalMs ?? 30_000);
  }

  private onMessage(data: WebSocket.RawData, isBinary: boolean): void {
    const text = isBinary ? '' : Buffer.isBuffer(data) ? data : Buffer.concat(data as Buffer[]);
    const parsed = isBinary
      ? { ok: false as const, error: 'binary frames are not part of the protocol' }
      : parseFrame(serverFrame, text);
    if (!parsed.ok) {
      this.counters.malformedFrames += 1;
      this.options.logger.warn({ error: parsed.error }, 'ignored a malformed frame from the server');
      return;
    }
    const frame = parsed.frame;
    if (frame.type === 'welcome') this.onWelcome(frame.agent);
    else if (frame.type === 'ack') this.onAck(frame.seq);
    else this.options.onFrame(frame);
  }

  private onWelcome(agent: string): void {
    if (this.ws === null) return;
    this.ready = true;
    this.backoff.reset();
    this.tlsTrouble.reset();
    this.options.logger.info({ agent, url: this.options.url }, 'connected to the swas server');
    for (const frame of this.queued.splice(0)) this.ws.send(JSON.stringify(frame));
    this.pump();
  }

  private onAck(seq: number): void {
    const { spool, logger } = this.options;
    if (seq >= spool.stats().nextSeq) {
      logger.warn({ seq }, 'the server acknowledged a batch this agent never sent; ignored');
      return;
    }
    spool.ack(seq);
    for (const sent of this.inFlight) if (sent <= seq) this.inFlight.delete(sent);
    this.pump();
  }

  private onError(error: Error): void {
    const status = /Unexpected server response: (\d+)/.exec(error.message)?.[1];
    if (status === '401' || status === '403') {
      this.lastFailure = `the server refused this agent's credential (HTTP ${status})`;
      this.options.logger.error(
        { status: Number(status), url: this.options.url },
        'the server refused this agent’s credential: it was revoked or the server does not know it; ' +
          're-enroll with `swas agent token create` and a new enrollment_token (delete credential.json in state_dir); ' +
          'retrying with backoff',
      );
      return;
    }
    this.tlsTrouble.note(error, 'cannot connect to the swas server', this.options.url);
    this.lastFailure = error.message;
  }

  private onClose(ws: WebSocket, code: number, reason: string): void {
    if (this.ws !== ws) return;
    clearInterval(this.pingTimer);
    const wasReady = this.ready;
    this.ready = false;
    this.ws = null;
    if (this.stopping) return;
    const closedAfterUpgrade = this.lastFailure === 'connection closed';
    if (wasReady)
      this.options.logger.warn(
        { code, reason },
        'lost the connection to the swas server; spooling until it is back',
      );
    else if (closedAfterUpgrade && code !== 1006)
      // The server took the connection and closed it before welcome, e.g. it refused our hello.
      this.options.logger.warn({ code, reason }, 'the swas server closed the connection before welcome');
    const closed = `closed with code ${code}${reason ? ` (${reason})` : ''}`;
    this.scheduleRedial(wasReady || closedAfterUpgrade ? closed : this.lastFailure);
  }

  private scheduleRedial(reason: string): void {
    if (this.stopping) return;
    this.linkState = 'waiting';
    const step = this.backoff.next();
    this.counters.reconnects += 1;
    this.options.logger.debug({ ...step, reason }, 'reconnecting to the swas server after a delay');
    this.options.onReconnectScheduled?.({ ...step, reason });
    this.redialTimer = setTimeout(() => void this.dial(), step.delayMs);
  }
}
