import type { Logger } from 'pino';
import type { Counter } from 'prom-client';
import type { AlertInstance } from '../core/index.js';
import type { IncidentLifecycle } from './IncidentLifecycle.js';
import {
  describeSuppression,
  labelContext,
  sameSuppression,
  suppressionCause,
  suppressionData,
  suppressionEndedKind,
  suppressionOf,
  type Suppression,
  type SuppressionContext,
} from './noisePolicy.js';

/** A firing alert kept out of incidents, and why. */
interface Held {
  alert: AlertInstance;
  why: Suppression;
  /** Whether an inhibition was already noted on the source's incident timeline. */
  noted: boolean;
}

/**
 * What silences, maintenance windows and inhibition rules do to firing alerts: alerts held out of incidents, alerts in
 * incidents that are muted (they start no runbooks), and the timeline entries that say so and when it ends.
 */
export class AlertSuppression {
  /** Firing alerts a silence, maintenance window or inhibition keeps out of incidents. */
  private readonly held = new Map<string, Held>();
  /** Alerts in an incident that are suppressed now: they start no runbooks until it ends. */
  private readonly muted = new Map<string, Suppression>();
  /** Why an alert now entering an incident was held back before, for its timeline entry. */
  private readonly releasedFrom = new Map<string, Suppression>();

  constructor(
    private readonly lifecycle: IncidentLifecycle,
    private readonly suppressedAlerts: Counter<'reason'>,
    private readonly logger: Logger,
  ) {}

  /** Updates a held alert with its latest state; false when the alert is not held. */
  updateHeld(alert: AlertInstance): boolean {
    const held = this.held.get(alert.fingerprint);
    if (held === undefined) return false;
    held.alert = alert;
    return true;
  }

  /** Keeps a firing alert out of incidents; an inhibited one is noted on the incident of the alert inhibiting it. */
  async hold(alert: AlertInstance, why: Suppression, at: number): Promise<void> {
    const held: Held = { alert, why, noted: false };
    this.held.set(alert.fingerprint, held);
    this.suppressedAlerts.inc({ reason: why.kind });
    this.logger.debug({ alert: alert.labels, why: describeSuppression(why) }, 'alert held back');
    if (why.kind !== 'inhibited') return;
    const sourceIncident = this.lifecycle.incidentOf(why.source.fingerprint);
    if (sourceIncident !== undefined) await this.noteInhibited(sourceIncident, held, at);
  }

  /** Notes on a new incident's timeline the held alerts its alerts inhibit. */
  async noteInhibitionsBy(incidentId: number, at: number): Promise<void> {
    for (const held of this.held.values()) {
      if (held.noted || held.why.kind !== 'inhibited') continue;
      if (!this.lifecycle.holds(incidentId, held.why.source.fingerprint)) continue;
      await this.noteInhibited(incidentId, held, at);
    }
  }

  // Inhibited alerts are noted on the timeline of the incident whose alert inhibits them.
  private async noteInhibited(incidentId: number, held: Held, at: number): Promise<void> {
    held.noted = true;
    await this.lifecycle.note(
      incidentId,
      at,
      'alert.inhibited',
      `${firingText(held.alert)}, ${describeSuppression(held.why)}: no incident opened, nobody paged`,
      { fingerprint: held.alert.fingerprint, labels: held.alert.labels, ...suppressionData(held.why) },
    );
  }

  /** Records that an alert in an incident is suppressed (restore), so it starts no runbooks. */
  mute(fingerprint: string, why: Suppression): void {
    this.muted.set(fingerprint, why);
  }

  /** An alert joins an incident suppressed: it is muted and noted, but starts nothing. */
  async joinMuted(incidentId: number, alert: AlertInstance, why: Suppression, at: number): Promise<void> {
    this.muted.set(alert.fingerprint, why);
    this.suppressedAlerts.inc({ reason: why.kind });
    await this.lifecycle.note(
      incidentId,
      at,
      `alert.${why.kind}`,
      `${firingText(alert)}, ${describeSuppression(why)}: no runbook started, nobody paged`,
      { fingerprint: alert.fingerprint, labels: alert.labels, ...suppressionData(why) },
    );
  }

  /** Records that an alert in an incident is not suppressed (any more). */
  unmute(fingerprint: string): void {
    this.muted.delete(fingerprint);
  }

  /** Notes an alert firing in an incident, saying what held it back before, if anything. */
  async noteFiring(incidentId: number, alert: AlertInstance, at: number): Promise<void> {
    const was = this.releasedFrom.get(alert.fingerprint);
    this.releasedFrom.delete(alert.fingerprint);
    const after = was === undefined ? '' : ` (no longer ${suppressionCause(was)})`;
    await this.lifecycle.note(incidentId, at, 'alert.firing', `${firingText(alert)}${after}`, {
      fingerprint: alert.fingerprint,
      labels: alert.labels,
      value: alert.value,
    });
  }

  /** Forgets a resolved alert unless it is in an incident; true when it was held. */
  forgetResolved(fingerprint: string): boolean {
    this.releasedFrom.delete(fingerprint);
    return this.held.delete(fingerprint);
  }

  /** Forgets that a resolved alert in an incident was muted; returns why it was, if it was. */
  takeMuted(fingerprint: string): Suppression | undefined {
    const muted = this.muted.get(fingerprint);
    this.muted.delete(fingerprint);
    return muted;
  }

  /** Held alerts no longer suppressed go to `admit` as newly firing; the others keep their latest reason. */
  async recheckHeld(
    context: SuppressionContext,
    admit: (alert: AlertInstance) => Promise<void>,
  ): Promise<void> {
    for (const [fingerprint, held] of [...this.held]) {
      const why = suppressionOf(held.alert, context);
      if (why === null) {
        this.held.delete(fingerprint);
        this.releasedFrom.set(fingerprint, held.why);
        await admit(held.alert);
      } else if (!sameSuppression(why, held.why)) {
        this.held.set(fingerprint, { alert: held.alert, why, noted: false });
      }
    }
  }

  /**
   * An alert in an incident that a silence or maintenance window now covers is noted and muted; one whose
   * suppression ended is noted and starts its runbooks.
   */
  async recheckAttached(
    incidentId: number,
    alert: AlertInstance,
    context: SuppressionContext,
  ): Promise<void> {
    const was = this.muted.get(alert.fingerprint);
    // Inhibition only keeps muted what it muted when the alert joined; it never mutes an alert later.
    const why = suppressionOf(alert, context, was?.kind === 'inhibited');
    if (why === null && was === undefined) return;
    if (why !== null && was !== undefined && sameSuppression(why, was)) return;
    const data = { fingerprint: alert.fingerprint, ...suppressionData(why ?? was) };
    if (why !== null) {
      this.muted.set(alert.fingerprint, why);
      await this.lifecycle.note(
        incidentId,
        context.at,
        `alert.${why.kind}`,
        `alert ${alert.rule}${labelContext(alert)} is now ${describeSuppression(why)}: it starts no runbook`,
        data,
      );
      return;
    }
    if (was === undefined) return;
    this.muted.delete(alert.fingerprint);
    await this.lifecycle.note(
      incidentId,
      context.at,
      suppressionEndedKind(was),
      `alert ${alert.rule}${labelContext(alert)} is no longer ${suppressionCause(was)} and still fires: treated as newly firing`,
      data,
    );
    await this.lifecycle.startRunbooks(incidentId, alert, context.at);
  }
}

/** `alert <rule> firing{labels}`, how timeline entries name a firing alert. */
function firingText(alert: AlertInstance): string {
  return `alert ${alert.rule} firing${labelContext(alert)}`;
}
