import type { Logger } from 'pino';
import { dropAlert, type AlertInstance, type AlertTransition } from '../core/index.js';
import type { AlertInstanceStep } from './alertInstances.js';

/** A transition of one alert instance that the rest of swas reacts to. */
export interface AlertChange {
  readonly transition: Exclude<AlertTransition, 'none' | 'renewed'>;
  readonly alert: AlertInstance;
  readonly at: number;
}

/** Where alert state is kept across restarts. */
export interface AlertStatePort {
  loadActive(): Promise<AlertInstance[]>;
  save(alert: AlertInstance, now: number): Promise<void>;
}

/** Saves each alert transition, then reports it; a failure to handle the report is logged, not thrown. */
export class AlertChangePublisher {
  constructor(
    private readonly alertState: AlertStatePort,
    private readonly onAlertChange: (change: AlertChange) => Promise<void>,
    private readonly logger: Logger,
  ) {}

  /** Saves and reports one step of an alert, unless nothing changed that others react to. */
  async apply(step: AlertInstanceStep, at: number): Promise<void> {
    const { transition, next, previous } = step;
    if (transition === 'none' || transition === 'renewed') return;
    const alert = next ?? previous;
    if (alert === undefined) return;
    await this.alertState.save(
      transition === 'cancelled' ? { ...alert, state: 'resolved', resolvedAt: at } : alert,
      at,
    );
    try {
      await this.onAlertChange({ transition, alert, at });
    } catch (error) {
      this.logger.error({ err: error, alert: alert.labels }, 'handling an alert change failed');
    }
  }

  /** Ends an alert whose rule is gone: a pending one is cancelled, a firing one resolves. */
  drop(alert: AlertInstance, at: number): Promise<void> {
    return this.apply({ fingerprint: alert.fingerprint, previous: alert, ...dropAlert(alert, at) }, at);
  }
}
