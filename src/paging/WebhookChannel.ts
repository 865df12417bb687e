import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { errorMessage } from '../core/index.js';
import { webhookBody, type IncidentEvent, type Notification } from './notification.js';

/** A webhook endpoint as configured. Header values are secrets. */
export interface WebhookTarget {
  readonly name: string;
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  readonly retries: number;
  readonly events: readonly IncidentEvent[];
}

/** The outcome of delivering one notification, after all attempts. */
export interface DeliveryResult {
  readonly channel: string;
  readonly deliveryId: string;
  readonly event: IncidentEvent;
  readonly ok: boolean;
  readonly attempts: number;
  /** The last failure, e.g. "HTTP 503" or "connect ECONNREFUSED 127.0.0.1:9"; null on success. */
  readonly error: string | null;
}

/** Options for {@link WebhookChannel}. */
export interface WebhookChannelOptions {
  /** First retry delay; doubles per attempt, capped at 30 s. @default 500 */
  readonly backoffMs?: number;
  readonly now?: () => number;
  readonly userAgent?: string;
}

/** Sends incident notifications as JSON POSTs, retrying with exponential backoff. */
export class WebhookChannel {
  constructor(
    private readonly target: WebhookTarget,
    private readonly options: WebhookChannelOptions = {},
  ) {}

  get name(): string {
    return this.target.name;
  }

  /** True when this webhook is subscribed to `event`. */
  wants(event: IncidentEvent): boolean {
    return this.target.events.includes(event);
  }

  /** Delivers one notification; never throws. A 2xx answer is success; anything else is retried. */
  async deliver(notification: Notification, signal?: AbortSignal): Promise<DeliveryResult> {
    const deliveryId = randomUUID();
    const now = this.options.now ?? Date.now;
    const body = JSON.stringify(webhookBody(notification, deliveryId, now()));
    const base = this.options.backoffMs ?? 500;
    let error: string | null = null;
    let attempts = 0;
    for (let attempt = 0; attempt <= this.target.retries; attempt++) {
      if (signal?.aborted) break;
      if (attempt > 0)
        await sleep(Math.min(base * 2 ** (attempt - 1), 30_000), undefined, { signal }).catch(
          () => undefined,
        );
      attempts += 1;
      error = await this.post(body, deliveryId, notification.event, signal);
      if (error === null) break;
    }
    return {
      channel: this.target.name,
      deliveryId,
      event: notification.event,
      ok: error === null,
      attempts,
      error,
    };
  }

  private async post(
    body: string,
    deliveryId: string,
    event: IncidentEvent,
    signal?: AbortSignal,
  ): Promise<string | null> {
    const timeout = AbortSignal.timeout(this.target.timeoutMs);
    try {
      const response = await fetch(this.target.url, {
        method: 'POST',
        headers: {
          ...this.target.headers,
          'content-type': 'application/json',
          'user-agent': this.options.userAgent ?? 'swas',
          'x-swas-event': event,
          'x-swas-delivery': deliveryId,
        },
        body,
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
      await response.body?.cancel();
      return response.ok ? null : `HTTP ${response.status} ${response.statusText}`.trim();
    } catch (thrown) {
      if (timeout.aborted) return `no answer within ${this.target.timeoutMs} ms`;
      const cause = thrown instanceof Error && thrown.cause instanceof Error ? thrown.cause.message : null;
      return cause ?? errorMessage(thrown);
    }
  }
}
