import type { Logger } from 'pino';
import type { Notification } from './notification.js';
import type { DeliveryResult, WebhookChannel } from './WebhookChannel.js';

/** Fans notifications out to every subscribed channel, in the background, and reports each delivery. */
export class Notifier {
  private readonly pending = new Set<Promise<void>>();
  private readonly abort = new AbortController();

  constructor(
    private channels: readonly WebhookChannel[],
    private readonly onDelivery: (notification: Notification, result: DeliveryResult) => Promise<void>,
    private readonly logger: Logger,
  ) {}

  /** Replaces the channels (config reload); deliveries in flight finish on the old ones. */
  setChannels(channels: readonly WebhookChannel[]): void {
    this.channels = channels;
  }

  /** Queues delivery to every channel that wants this event; returns at once. */
  send(notification: Notification): void {
    for (const channel of this.channels.filter((c) => c.wants(notification.event))) {
      const delivery = channel
        .deliver(notification, this.abort.signal)
        .then(async (result) => {
          const log = {
            channel: result.channel,
            event: result.event,
            incident: notification.incident.id,
            attempts: result.attempts,
          };
          if (result.ok) this.logger.info(log, 'notification delivered');
          else this.logger.warn({ ...log, error: result.error }, 'notification failed after all retries');
          await this.onDelivery(notification, result);
        })
        .catch((error: unknown) => this.logger.error({ err: error }, 'recording a notification failed'))
        .finally(() => this.pending.delete(delivery));
      this.pending.add(delivery);
    }
  }

  /** Waits for deliveries in flight up to `timeoutMs`, then abandons the rest. */
  async drain(timeoutMs: number): Promise<void> {
    const timer = setTimeout(() => this.abort.abort(), timeoutMs);
    await Promise.allSettled([...this.pending]);
    clearTimeout(timer);
  }
}
