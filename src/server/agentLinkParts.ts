import type { Duplex } from 'node:stream';
import { Counter, Gauge, type Registry } from 'prom-client';
import { WebSocket, type RawData } from 'ws';
import {
  agentFrame,
  MAX_FRAME_BYTES,
  parseFrame,
  type AgentFrame,
  type ServerFrame,
} from '../agent/index.js';
import { SwasError } from '../core/index.js';
import type { Logger } from 'pino';
import type { Agent } from '../store/index.js';
import type { AgentConfigPush } from './agentConfigPush.js';

/** The path agents open their WebSocket on. */
export const AGENT_CONNECT_PATH = '/api/v1/agents/connect';

/** WebSocket close codes the server uses. */
export const AGENT_CLOSE = {
  shutdown: 1001,
  policy: 1008,
  tooBig: 1009,
  internal: 1011,
  /** A newer connection of the same agent took over. */
  replaced: 4000,
} as const;

/** Why a frame (and so the connection) was refused, as counted in swas_agent_frames_rejected_total. */
export type FrameRejection = 'malformed' | 'too_big' | 'binary' | 'no_hello' | 'unexpected_frame';

/** The answer of an agent to an action request. */
export type ActionResult = Extract<AgentFrame, { type: 'action_result' }>;

/** An action request that could not be answered: not connected, disconnected, or timed out. */
export class AgentActionError extends SwasError {}

/** The hub's own metrics. */
export class HubMetrics {
  readonly framesRejected: Counter<'reason'>;
  readonly samplesReceived: Counter;
  readonly samplesRejected: Counter<'reason'>;
  readonly labelsDropped: Counter;

  constructor(registry: Registry, connected: () => number) {
    new Gauge({
      name: 'swas_agents_connected',
      help: 'Agents with a live connection.',
      registers: [registry],
      collect() {
        this.set(connected());
      },
    });
    this.framesRejected = new Counter({
      name: 'swas_agent_frames_rejected_total',
      help: 'Agent frames refused (the connection was closed), by reason.',
      labelNames: ['reason'],
      registers: [registry],
    });
    this.samplesReceived = new Counter({
      name: 'swas_agent_samples_received_total',
      help: 'Samples received from agents.',
      registers: [registry],
    });
    this.samplesRejected = new Counter({
      name: 'swas_agent_samples_rejected_total',
      help: 'Agent samples the metrics store refused (out of order, duplicate, invalid labels).',
      labelNames: ['reason'],
      registers: [registry],
    });
    this.labelsDropped = new Counter({
      name: 'swas_agent_labels_dropped_total',
      help: 'Sample labels named "agent" dropped because the server sets that label itself.',
      registers: [registry],
    });
  }
}

/** Answers a refused upgrade with a plain HTTP response and closes the socket. */
export function refuseUpgrade(socket: Duplex, status: number, message: string): void {
  const body = JSON.stringify({
    error: { code: status === 401 ? 'SWAS-AGENT-401' : `SWAS-AGENT-${status}`, message },
  });
  const statusText: Record<number, string> = {
    401: 'Unauthorized',
    404: 'Not Found',
    500: 'Internal Server Error',
    503: 'Service Unavailable',
  };
  socket.end(
    `HTTP/1.1 ${status} ${statusText[status] ?? 'Error'}\r\n` +
      'Content-Type: application/json\r\nConnection: close\r\n' +
      (status === 401 ? 'WWW-Authenticate: Bearer\r\n' : '') +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/** What a connection needs of the hub that owns it (the AgentHub). */
export interface ConnectionHub {
  readonly options: {
    readonly now: () => number;
    readonly helloTimeoutMs: number;
    readonly logger: Logger;
    readonly configPush: AgentConfigPush;
    readonly onReady: (agent: Agent, remoteAddress: string | null) => void;
  };
  reject(link: AgentConnection, why: FrameRejection, message: string, code?: number): void;
  forget(link: AgentConnection, code: number, reason: string): void;
  settleAction(link: AgentConnection, result: ActionResult): void;
  pushConfig(link: AgentConnection): void;
  touch(link: AgentConnection, force?: boolean): Promise<void>;
  appendSamples(link: AgentConnection, frame: Extract<AgentFrame, { type: 'samples' }>): void;
  durable(): Promise<void>;
}

/** One agent's live WebSocket, owned by the hub. */
export class AgentConnection {
  ready = false;
  /** Where the agent connects from (the load balancer reaches its host there). */
  remoteAddress: string | null = null;
  lastSeenAt: number;
  touchedAt = 0;
  reported: { version?: string; configVersion?: string | null; hostname?: string } = {};
  private alive = true;
  private queue: Promise<void> = Promise.resolve();
  private readonly helloTimer: NodeJS.Timeout;
  private readonly done: Promise<void>;

  constructor(
    readonly agent: Agent,
    private readonly ws: WebSocket,
    private readonly hub: ConnectionHub,
  ) {
    this.lastSeenAt = hub.options.now();
    this.helloTimer = setTimeout(() => {
      hub.reject(this, 'no_hello', `no hello frame within ${hub.options.helloTimeoutMs} ms of connecting`);
    }, hub.options.helloTimeoutMs);
    this.done = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        clearTimeout(this.helloTimer);
        hub.forget(this, code, reason.toString('utf8'));
        resolve();
      });
    });
    ws.on('pong', () => {
      this.alive = true;
    });
    ws.on('error', (error: Error & { code?: string }) => {
      // ws has already closed the socket (1009 for an oversized frame); count and log why.
      const tooBig = error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH';
      hub.reject(
        this,
        tooBig ? 'too_big' : 'malformed',
        tooBig ? `frame over the ${MAX_FRAME_BYTES}-byte limit` : error.message,
        tooBig ? AGENT_CLOSE.tooBig : AGENT_CLOSE.policy,
      );
    });
    ws.on('message', (data: RawData, isBinary: boolean) => this.receive(data, isBinary));
  }

  send(frame: ServerFrame): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(frame));
  }

  close(code: number, reason: string): void {
    if (this.ws.readyState === WebSocket.CLOSED || this.ws.readyState === WebSocket.CLOSING) return;
    // Close reasons are limited to 123 bytes.
    this.ws.close(code, Buffer.from(reason).subarray(0, 123).toString('utf8'));
  }

  /** Resolves when the socket is gone; a peer that does not finish the close handshake is cut off. */
  async closed(timeoutMs: number): Promise<void> {
    const timer = setTimeout(() => this.ws.terminate(), timeoutMs);
    await this.done;
    clearTimeout(timer);
  }

  ping(): void {
    if (!this.alive) {
      this.hub.options.logger.warn(
        { agent: this.agent.name },
        'agent did not answer the last ping; dropping it',
      );
      this.ws.terminate();
      return;
    }
    this.alive = false;
    this.ws.ping();
  }

  private receive(data: RawData, isBinary: boolean): void {
    if (isBinary)
      return this.hub.reject(this, 'binary', 'binary frames are not accepted; send JSON text frames');
    const bytes = Array.isArray(data)
      ? Buffer.concat(data)
      : Buffer.isBuffer(data)
        ? data
        : Buffer.from(data);
    const parsed = parseFrame(agentFrame, bytes);
    if (!parsed.ok)
      return this.hub.reject(this, bytes.length > MAX_FRAME_BYTES ? 'too_big' : 'malformed', parsed.error);
    this.lastSeenAt = this.hub.options.now();
    this.alive = true;
    const frame = parsed.frame;
    if (!this.ready && frame.type !== 'hello') {
      return this.hub.reject(this, 'unexpected_frame', `the first frame must be hello, not ${frame.type}`);
    }
    switch (frame.type) {
      case 'hello':
        return this.hello(frame);
      case 'samples':
        // Batches are stored and acknowledged in the order they arrived.
        this.queue = this.queue.then(() => this.samples(frame));
        return;
      case 'action_result':
        return this.hub.settleAction(this, frame);
      case 'config_status':
        return this.configStatus(frame);
    }
  }

  private hello(frame: Extract<AgentFrame, { type: 'hello' }>): void {
    if (this.ready)
      return this.hub.reject(this, 'unexpected_frame', 'hello was sent twice on one connection');
    clearTimeout(this.helloTimer);
    this.ready = true;
    this.reported = { version: frame.version, configVersion: frame.configVersion, hostname: frame.hostname };
    this.send({ type: 'welcome', agent: this.agent.name, serverTime: this.hub.options.now() });
    this.hub.pushConfig(this);
    void this.hub.touch(this, true);
    this.hub.options.onReady(this.agent, this.remoteAddress);
  }

  private async samples(frame: Extract<AgentFrame, { type: 'samples' }>): Promise<void> {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    try {
      this.hub.appendSamples(this, frame);
      await this.hub.durable();
    } catch (error) {
      this.hub.options.logger.error(
        { agent: this.agent.name, err: error },
        'agent samples could not be made durable',
      );
      this.close(AGENT_CLOSE.internal, 'samples could not be stored; the agent keeps them and resends');
      return;
    }
    this.send({ type: 'ack', seq: frame.seq });
    void this.hub.touch(this);
  }

  private configStatus(frame: Extract<AgentFrame, { type: 'config_status' }>): void {
    this.hub.options.configPush.recordStatus(this.agent.name, frame);
    if (!frame.ok) return;
    this.reported = { ...this.reported, configVersion: frame.version };
    void this.hub.touch(this, true);
  }
}
