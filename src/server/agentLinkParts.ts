import type { Duplex } from 'node:stream';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { AgentFrame } from '../agent/index.js';
import { SwasError } from '../core/index.js';

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
