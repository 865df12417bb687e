import { Counter, type Registry } from 'prom-client';
import { incidentKey, type AlertInstance } from '../core/index.js';
import type { DeliveryResult, Notification } from '../paging/index.js';
import type { AlertChange } from '../rules/index.js';
import type { RunEvent } from '../runbooks/index.js';
import type { Incident, Silence, SilenceRepository } from '../store/index.js';
import { IncidentLifecycle, type IncidentLifecycleOptions } from './IncidentLifecycle.js';
import {
  DEFAULT_NOISE_POLICY,
  describeSuppression,
  labelContext,
  sameSuppression,
  suppressionCause,
  suppressionData,
  suppressionEndedKind,
  suppressionOf,
  type NoisePolicy,
  type Suppression,
  type SuppressionContext,
} from './noisePolicy.js';

/** Options for {@link IncidentManager.create}. */
export interface IncidentManagerOptions extends IncidentLifecycleOptions {
  readonly silences: SilenceRepository;
  /** group_wait, inhibition rules and maintenance windows. @default no wait, no rules, no windows */
  readonly policy?: NoisePolicy;
  /** How often silences are re-read and maintenance windows re-checked. @default 5000 */
  readonly recheckIntervalMs?: number;
  readonly registry?: Registry;
}

// Alert flow (firing, resolving, group_wait, re-checks) runs on one queue: suppression decisions read state
// across groups (an inhibiting alert is usually in another group), so they must not interleave.
const ALERT_QUEUE = 'alerts';

/** A firing alert kept out of incidents, and why. */
interface Held {
  alert: AlertInstance;
  why: Suppression;
  /** Whether an inhibition was already noted on the source's incident timeline. */
  noted: boolean;
}

/**
 * Turns alert transitions and run progress into incidents with a timeline: opens or joins an incident when
 * an alert fires (after group_wait, unless a silence, maintenance window or inhibition rule holds it back),
 * starts the runbooks it triggers, escalates when automation fails, and resolves the incident once its
 * alerts have resolved and its runs have finished. A silenced alert in an incident still resolves it.
 */
export class IncidentManager {
  private readonly lifecycle: IncidentLifecycle;
  /** Every firing alert swas knows of, in an incident or not: inhibition sources. */
  private readonly active = new Map<string, AlertInstance>();
  /** Firing alerts a silence, maintenance window or inhibition keeps out of incidents. */
  private readonly held = new Map<string, Held>();
  /** Alerts in an incident that are suppressed now: they start no runbooks until it ends. */
  private readonly muted = new Map<string, Suppression>();
  /** Why an alert now entering an incident was held back before, for its timeline entry. */
  private readonly releasedFrom = new Map<string, Suppression>();
  /** New groups waiting out group_wait, by grouping key. */
  private readonly waiting = new Map<string, { alerts: Map<string, AlertInstance>; timer: NodeJS.Timeout }>();
  private policy: NoisePolicy;
  private silences: readonly Silence[] = [];
  private recheckTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly discardedGroups: Counter;
  private readonly suppressedAlerts: Counter<'reason'>;

  private constructor(private readonly options: IncidentManagerOptions) {
    this.lifecycle = new IncidentLifecycle(options);
    this.policy = options.policy ?? DEFAULT_NOISE_POLICY;
    const registers = options.registry ? [options.registry] : [];
    this.discardedGroups = new Counter({
      name: 'swas_incident_groups_discarded_total',
      help: 'New alert groups whose alerts all resolved during group_wait, so no incident was opened.',
      registers,
    });
    this.suppressedAlerts = new Counter({
      name: 'swas_alerts_suppressed_total',
      help: 'Firing alerts kept from opening incidents, paging and starting runbooks, by reason.',
      labelNames: ['reason'],
      registers,
    });
  }

  /** Builds a manager; call {@link restore} after the rule manager restored its alerts. */
  static create(options: IncidentManagerOptions): IncidentManager {
    return new IncidentManager(options);
  }

  /**
   * Re-attaches restored firing alerts to their open incidents, admits the others as newly firing (group_wait
   * counts from when they fired), resolves incidents nothing keeps open, and starts re-checking silences.
   */
  async restore(active: readonly AlertInstance[]): Promise<void> {
    await this.lifecycle.serialise(ALERT_QUEUE, async () => {
      await this.refreshSilences();
      const now = this.options.now();
      const context = this.context(now);
      const unattached: AlertInstance[] = [];
      for (const alert of active.filter((a) => a.state === 'firing')) {
        this.active.set(alert.fingerprint, alert);
        const incident = await this.options.incidents.findOpenByKey(this.keyOf(alert));
        if (incident === null) {
          unattached.push(alert);
          continue;
        }
        this.lifecycle.attach(incident.id, alert);
        const why = suppressionOf(alert, context, false);
        if (why !== null) this.muted.set(alert.fingerprint, why);
      }
      // group_wait counts from when they fired: an alert that fired long before the restart waits no more.
      for (const alert of unattached) await this.admit(alert, now, alert.firedAt ?? now);
    });
    for (const incident of await this.options.incidents.list({
      status: ['open', 'acknowledged'],
      limit: 1000,
    })) {
      await this.lifecycle.resolveIfDone(incident.id, 'nothing kept it open after a restart');
    }
    this.startRechecks();
  }

  /** Reacts to one alert transition from the rule manager (or intake). */
  handleAlertChange(change: AlertChange): Promise<void> {
    return this.lifecycle.serialise(ALERT_QUEUE, async () => {
      if (change.transition === 'firing') await this.alertFiring(change.alert, change.at);
      if (change.transition === 'resolved') await this.alertResolved(change.alert, change.at);
    });
  }

  /**
   * Re-reads silences and re-evaluates firing alerts: call after a silence was created or expired. Alerts a
   * silence no longer covers are treated as newly firing; incidents note alerts a new silence covers.
   */
  silencesChanged(): Promise<void> {
    return this.lifecycle.serialise(ALERT_QUEUE, async () => {
      await this.refreshSilences();
      await this.recheck(this.options.now());
    });
  }

  /** Replaces group_wait, inhibition rules and maintenance windows (config reload), then re-checks alerts. */
  setPolicy(policy: NoisePolicy): Promise<void> {
    this.policy = policy;
    return this.lifecycle.serialise(ALERT_QUEUE, () => this.recheck(this.options.now()));
  }

  /** Cancels timers: follow-up checks, group_wait and re-checks (shutdown). Waiting alerts are admitted again on restore. */
  stop(): void {
    this.stopped = true;
    this.lifecycle.stop();
    for (const group of this.waiting.values()) clearTimeout(group.timer);
    this.waiting.clear();
    if (this.recheckTimer) clearInterval(this.recheckTimer);
    this.recheckTimer = null;
  }

  /** Records run progress on the incident's timeline; escalates failures and resolves finished incidents. */
  handleRunEvent(event: RunEvent): Promise<void> {
    return this.lifecycle.handleRunEvent(event);
  }

  /** Records a notification delivery (or its final failure) on the incident's timeline. */
  recordDelivery(notification: Notification, result: DeliveryResult): Promise<void> {
    return this.lifecycle.recordDelivery(notification, result);
  }

  /** A person acknowledges an incident: paging for it stops escalating. */
  acknowledge(id: number, by: string): Promise<Incident | null> {
    return this.lifecycle.acknowledge(id, by);
  }

  /** A person resolves an incident by hand. */
  resolve(id: number, by: string): Promise<Incident | null> {
    return this.lifecycle.resolve(id, by);
  }

  private async alertFiring(alert: AlertInstance, at: number): Promise<void> {
    this.active.set(alert.fingerprint, alert);
    const held = this.held.get(alert.fingerprint);
    if (held !== undefined) {
      held.alert = alert;
      return;
    }
    await this.admit(alert, at);
  }

  // Where a firing alert not yet in an incident goes: its group's wait, its open incident, held, or a new incident.
  private async admit(alert: AlertInstance, at: number, waitFrom = this.options.now()): Promise<void> {
    const key = this.keyOf(alert);
    const waiting = this.waiting.get(key);
    if (waiting !== undefined) {
      waiting.alerts.set(alert.fingerprint, alert);
      return;
    }
    const incident = await this.options.incidents.findOpenByKey(key);
    if (incident !== null) return this.join(incident, alert, at);
    const why = suppressionOf(alert, this.context(at));
    if (why !== null) return this.hold(alert, why, at);
    const wait = this.policy.groupWaitMs;
    const delay = Math.min(wait, waitFrom + wait - this.options.now());
    if (wait > 0 && delay > 0 && !this.stopped) {
      const timer = setTimeout(() => {
        this.lifecycle
          .serialise(ALERT_QUEUE, () => this.flush(key))
          .catch((error: unknown) =>
            this.options.logger.error(
              { err: error, group: key },
              'opening an incident after group_wait failed',
            ),
          );
      }, delay);
      timer.unref();
      this.waiting.set(key, { alerts: new Map([[alert.fingerprint, alert]]), timer });
      return;
    }
    await this.openGroup(key, [alert], at);
  }

  // group_wait is over: the group's alerts that still fire open one incident.
  private async flush(key: string): Promise<void> {
    const group = this.waiting.get(key);
    if (group === undefined) return;
    this.waiting.delete(key);
    const alerts = [...group.alerts.values()].filter((a) => this.active.has(a.fingerprint));
    if (alerts.length === 0) {
      this.discardedGroups.inc();
      return;
    }
    await this.openGroup(key, alerts, this.options.now());
  }

  private async openGroup(key: string, alerts: readonly AlertInstance[], at: number): Promise<void> {
    const context = this.context(at);
    const admitted: AlertInstance[] = [];
    for (const alert of alerts) {
      // Checked again: an inhibiting alert may have fired during group_wait.
      const why = suppressionOf(alert, context);
      if (why === null) admitted.push(alert);
      else await this.hold(alert, why, at);
    }
    const first = admitted[0];
    if (first === undefined) return;
    const existing = await this.options.incidents.findOpenByKey(key);
    if (existing !== null) {
      for (const alert of admitted) await this.join(existing, alert, at);
      return;
    }
    const incident = await this.lifecycle.open(key, first, at);
    const unhandled: string[] = [];
    for (const alert of admitted) {
      this.lifecycle.attach(incident.id, alert);
      await this.noteFiring(incident.id, alert, at);
      if (!(await this.lifecycle.startRunbooks(incident.id, alert, at))) unhandled.push(alert.rule);
    }
    await this.noteInhibitionsBy(incident.id, at);
    await this.lifecycle.notifyOpened(incident, unhandled);
  }

  // An alert joins its group's open incident; a suppressed one is noted, but starts nothing.
  private async join(incident: Incident, alert: AlertInstance, at: number): Promise<void> {
    const why = suppressionOf(alert, this.context(at));
    this.lifecycle.attach(incident.id, alert);
    if (why === null) {
      this.muted.delete(alert.fingerprint);
      await this.noteFiring(incident.id, alert, at);
      await this.lifecycle.startRunbooks(incident.id, alert, at);
      return;
    }
    this.muted.set(alert.fingerprint, why);
    this.suppressedAlerts.inc({ reason: why.kind });
    await this.lifecycle.note(
      incident.id,
      at,
      `alert.${why.kind}`,
      `alert ${alert.rule} firing${labelContext(alert)}, ${describeSuppression(why)}: no runbook started, nobody paged`,
      { fingerprint: alert.fingerprint, labels: alert.labels, ...suppressionData(why) },
    );
  }

  private async hold(alert: AlertInstance, why: Suppression, at: number): Promise<void> {
    const held: Held = { alert, why, noted: false };
    this.held.set(alert.fingerprint, held);
    this.suppressedAlerts.inc({ reason: why.kind });
    this.options.logger.debug({ alert: alert.labels, why: describeSuppression(why) }, 'alert held back');
    if (why.kind !== 'inhibited') return;
    const sourceIncident = this.lifecycle.incidentOf(why.source.fingerprint);
    if (sourceIncident !== undefined) await this.noteInhibited(sourceIncident, held, at);
  }

  // Inhibited alerts are noted on the timeline of the incident whose alert inhibits them.
  private async noteInhibited(incidentId: number, held: Held, at: number): Promise<void> {
    held.noted = true;
    await this.lifecycle.note(
      incidentId,
      at,
      'alert.inhibited',
      `alert ${held.alert.rule} firing${labelContext(held.alert)}, ${describeSuppression(held.why)}: no incident opened, nobody paged`,
      { fingerprint: held.alert.fingerprint, labels: held.alert.labels, ...suppressionData(held.why) },
    );
  }

  private async noteInhibitionsBy(incidentId: number, at: number): Promise<void> {
    for (const held of this.held.values()) {
      if (held.noted || held.why.kind !== 'inhibited') continue;
      if (!this.lifecycle.holds(incidentId, held.why.source.fingerprint)) continue;
      await this.noteInhibited(incidentId, held, at);
    }
  }

  private async noteFiring(incidentId: number, alert: AlertInstance, at: number): Promise<void> {
    const was = this.releasedFrom.get(alert.fingerprint);
    this.releasedFrom.delete(alert.fingerprint);
    const after = was === undefined ? '' : ` (no longer ${suppressionCause(was)})`;
    await this.lifecycle.note(
      incidentId,
      at,
      'alert.firing',
      `alert ${alert.rule} firing${labelContext(alert)}${after}`,
      {
        fingerprint: alert.fingerprint,
        labels: alert.labels,
        value: alert.value,
      },
    );
  }

  private async alertResolved(alert: AlertInstance, at: number): Promise<void> {
    const fingerprint = alert.fingerprint;
    this.active.delete(fingerprint);
    this.releasedFrom.delete(fingerprint);
    if (this.held.delete(fingerprint) || this.leaveWaiting(fingerprint)) {
      await this.recheck(at);
      return;
    }
    const incidentId =
      this.lifecycle.incidentOf(fingerprint) ??
      (await this.options.incidents.findOpenByKey(this.keyOf(alert)))?.id;
    if (incidentId !== undefined) {
      this.lifecycle.detach(incidentId, fingerprint);
      const muted = this.muted.get(fingerprint);
      this.muted.delete(fingerprint);
      const was = muted === undefined ? '' : ` (it was ${describeSuppression(muted)})`;
      await this.lifecycle.note(
        incidentId,
        at,
        'alert.resolved',
        `alert ${alert.rule} resolved${labelContext(alert)}${was}`,
        {
          fingerprint,
        },
      );
      await this.lifecycle.resolveIfDone(incidentId, 'all its alerts resolved and no run is in progress');
    }
    // An inhibiting alert may have been the one that resolved.
    await this.recheck(at);
  }

  // A waiting alert that resolves leaves its group; a group left empty opens no incident at all.
  private leaveWaiting(fingerprint: string): boolean {
    for (const [key, group] of this.waiting) {
      if (!group.alerts.delete(fingerprint)) continue;
      if (group.alerts.size === 0) {
        clearTimeout(group.timer);
        this.waiting.delete(key);
        this.discardedGroups.inc();
      }
      return true;
    }
    return false;
  }

  /**
   * Re-evaluates suppression: held alerts no longer suppressed go on as newly firing; alerts in incidents
   * that a silence or maintenance window now covers are noted and muted, and those whose suppression ended
   * are noted and start their runbooks.
   */
  private async recheck(at: number): Promise<void> {
    const context = this.context(at);
    for (const [fingerprint, held] of [...this.held]) {
      const why = suppressionOf(held.alert, context);
      if (why === null) {
        this.held.delete(fingerprint);
        this.releasedFrom.set(fingerprint, held.why);
        await this.admit(held.alert, at);
      } else if (!sameSuppression(why, held.why)) {
        this.held.set(fingerprint, { alert: held.alert, why, noted: false });
      }
    }
    for (const [incidentId, alerts] of this.lifecycle.attachedAlerts()) {
      for (const alert of alerts) await this.recheckAttached(incidentId, alert, context);
    }
  }

  private async recheckAttached(
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

  private async refreshSilences(): Promise<void> {
    try {
      this.silences = await this.options.silences.list({ activeAt: this.options.now(), limit: 10_000 });
    } catch (error) {
      this.options.logger.warn({ err: error }, 'cannot read silences; the last known ones stay in force');
    }
  }

  // Silences end by time and maintenance windows open and close by the clock, so re-check regularly.
  private startRechecks(): void {
    if (this.recheckTimer !== null || this.stopped) return;
    this.recheckTimer = setInterval(() => {
      this.silencesChanged().catch((error: unknown) =>
        this.options.logger.error({ err: error }, 're-checking silences and maintenance windows failed'),
      );
    }, this.options.recheckIntervalMs ?? 5000);
    this.recheckTimer.unref();
  }

  private context(at: number): SuppressionContext {
    return { policy: this.policy, silences: this.silences, firing: [...this.active.values()], at };
  }

  private keyOf(alert: AlertInstance): string {
    return incidentKey(alert.labels, this.options.groupBy);
  }
}
