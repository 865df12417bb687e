import { Counter, type Registry } from 'prom-client';
import { incidentKey, type AlertInstance, type Labels } from '../core/index.js';
import type { DeliveryResult, Notification } from '../paging/index.js';
import type { AlertChange } from '../rules/index.js';
import type { RunEvent } from '../runbooks/index.js';
import type { Incident, Silence, SilenceRepository, TimelineRepository } from '../store/index.js';
import { INTAKE_SOURCE_ALERTMANAGER, INTAKE_SOURCE_LABEL } from './alertmanagerIntake.js';
import { AlertSuppression } from './alertSuppression.js';
import { GroupWait } from './groupWait.js';
import { IncidentLifecycle, type IncidentLifecycleOptions } from './IncidentLifecycle.js';
import {
  DEFAULT_NOISE_POLICY,
  describeSuppression,
  labelContext,
  suppressionOf,
  type NoisePolicy,
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
  /** Held and muted alerts: what silences, maintenance windows and inhibitions keep from acting. */
  private readonly suppression: AlertSuppression;
  /** New groups waiting out group_wait. */
  private readonly groupWait: GroupWait;
  private policy: NoisePolicy;
  private silences: readonly Silence[] = [];
  private recheckTimer: NodeJS.Timeout | null = null;
  private stopped = false;

  private constructor(private readonly options: IncidentManagerOptions) {
    this.lifecycle = new IncidentLifecycle(options);
    this.policy = options.policy ?? DEFAULT_NOISE_POLICY;
    const registers = options.registry ? [options.registry] : [];
    const discardedGroups = new Counter({
      name: 'swas_incident_groups_discarded_total',
      help: 'New alert groups whose alerts all resolved during group_wait, so no incident was opened.',
      registers,
    });
    const suppressedAlerts = new Counter({
      name: 'swas_alerts_suppressed_total',
      help: 'Firing alerts kept from opening incidents, paging and starting runbooks, by reason.',
      labelNames: ['reason'],
      registers,
    });
    this.groupWait = new GroupWait(discardedGroups);
    this.suppression = new AlertSuppression(this.lifecycle, suppressedAlerts, options.logger);
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
        if (why !== null) this.suppression.mute(alert.fingerprint, why);
      }
      // group_wait counts from when they fired: an alert that fired long before the restart waits no more.
      for (const alert of unattached) await this.admit(alert, now, alert.firedAt ?? now);
    });
    const open = await this.options.incidents.list({ status: ['open', 'acknowledged'], limit: 1000 });
    for (const incident of open) {
      // Alertmanager's alerts are not the rule manager's to restore: their incidents stay open until the
      // intake hears they resolved (Alertmanager sends resolved alerts, and repeats firing ones).
      for (const alert of await intakeAlertsStillFiring(this.options.timeline, incident.id)) {
        if (this.active.has(alert.fingerprint)) continue;
        this.active.set(alert.fingerprint, alert);
        this.lifecycle.attach(incident.id, alert);
      }
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
    this.groupWait.stop();
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
    // Already in an incident (an intake alert re-attached after a restart and delivered again): nothing new.
    if (this.lifecycle.incidentOf(alert.fingerprint) !== undefined) return;
    if (this.suppression.updateHeld(alert)) return;
    await this.admit(alert, at);
  }

  // Where a firing alert not yet in an incident goes: its group's wait, its open incident, held, or a new incident.
  private async admit(alert: AlertInstance, at: number, waitFrom = this.options.now()): Promise<void> {
    const key = this.keyOf(alert);
    if (this.groupWait.join(key, alert)) return;
    const incident = await this.options.incidents.findOpenByKey(key);
    if (incident !== null) return this.join(incident, alert, at);
    const why = suppressionOf(alert, this.context(at));
    if (why !== null) return this.suppression.hold(alert, why, at);
    const wait = this.policy.groupWaitMs;
    const delay = Math.min(wait, waitFrom + wait - this.options.now());
    if (wait > 0 && delay > 0 && !this.stopped) {
      this.groupWait.start(key, alert, delay, () => {
        this.lifecycle
          .serialise(ALERT_QUEUE, () => this.flush(key))
          .catch((error: unknown) =>
            this.options.logger.error(
              { err: error, group: key },
              'opening an incident after group_wait failed',
            ),
          );
      });
      return;
    }
    await this.openGroup(key, [alert], at);
  }

  // group_wait is over: the group's alerts that still fire open one incident.
  private async flush(key: string): Promise<void> {
    const waited = this.groupWait.take(key);
    if (waited === undefined) return;
    const alerts = waited.filter((a) => this.active.has(a.fingerprint));
    if (alerts.length === 0) {
      this.groupWait.discarded();
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
      else await this.suppression.hold(alert, why, at);
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
      await this.suppression.noteFiring(incident.id, alert, at);
      if (!(await this.lifecycle.startRunbooks(incident.id, alert, at))) unhandled.push(alert.rule);
    }
    await this.suppression.noteInhibitionsBy(incident.id, at);
    await this.lifecycle.notifyOpened(incident, unhandled);
  }

  // An alert joins its group's open incident; a suppressed one is noted, but starts nothing.
  private async join(incident: Incident, alert: AlertInstance, at: number): Promise<void> {
    const why = suppressionOf(alert, this.context(at));
    this.lifecycle.attach(incident.id, alert);
    if (why !== null) return this.suppression.joinMuted(incident.id, alert, why, at);
    this.suppression.unmute(alert.fingerprint);
    await this.suppression.noteFiring(incident.id, alert, at);
    await this.lifecycle.startRunbooks(incident.id, alert, at);
  }

  private async alertResolved(alert: AlertInstance, at: number): Promise<void> {
    const fingerprint = alert.fingerprint;
    this.active.delete(fingerprint);
    if (this.suppression.forgetResolved(fingerprint) || this.groupWait.leave(fingerprint)) {
      await this.recheck(at);
      return;
    }
    const incidentId =
      this.lifecycle.incidentOf(fingerprint) ??
      (await this.options.incidents.findOpenByKey(this.keyOf(alert)))?.id;
    // Forget the mute even when nobody resolves an incident here (someone resolved it by hand): a stale entry
    // would later read as "no longer silenced" and start runbooks for an alert that fires anew.
    const muted = this.suppression.takeMuted(fingerprint);
    if (incidentId !== undefined) {
      this.lifecycle.detach(incidentId, fingerprint);
      const was = muted === undefined ? '' : ` (it was ${describeSuppression(muted)})`;
      await this.lifecycle.note(
        incidentId,
        at,
        'alert.resolved',
        `alert ${alert.rule} resolved${labelContext(alert)}${was}`,
        { fingerprint },
      );
      await this.lifecycle.resolveIfDone(incidentId, 'all its alerts resolved and no run is in progress');
    }
    // An inhibiting alert may have been the one that resolved.
    await this.recheck(at);
  }

  /**
   * Re-evaluates suppression: held alerts no longer suppressed go on as newly firing; alerts in incidents
   * that a silence or maintenance window now covers are noted and muted, and those whose suppression ended
   * are noted and start their runbooks.
   */
  private async recheck(at: number): Promise<void> {
    const context = this.context(at);
    await this.suppression.recheckHeld(context, (alert) => this.admit(alert, at));
    for (const [incidentId, alerts] of this.lifecycle.attachedAlerts()) {
      for (const alert of alerts) await this.suppression.recheckAttached(incidentId, alert, context);
    }
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

/**
 * Alerts from the Alertmanager intake that an incident's timeline shows firing and not resolved since, rebuilt
 * from the timeline entries (which keep fingerprint and labels).
 */
async function intakeAlertsStillFiring(
  timeline: TimelineRepository,
  incidentId: number,
): Promise<AlertInstance[]> {
  const firing = new Map<string, AlertInstance>();
  for (const entry of await timeline.list(incidentId)) {
    const fingerprint = typeof entry.data.fingerprint === 'string' ? entry.data.fingerprint : null;
    if (fingerprint === null) continue;
    if (entry.kind === 'alert.resolved') firing.delete(fingerprint);
    if (entry.kind !== 'alert.firing') continue;
    const labels = entry.data.labels as Labels | undefined;
    if (labels?.[INTAKE_SOURCE_LABEL] !== INTAKE_SOURCE_ALERTMANAGER) continue;
    firing.set(fingerprint, {
      fingerprint,
      rule: labels.alertname ?? '',
      labels,
      annotations: {},
      state: 'firing',
      activeAt: entry.at,
      firedAt: entry.at,
      resolvedAt: null,
      lastActiveAt: entry.at,
      value: null,
    });
  }
  return [...firing.values()];
}
