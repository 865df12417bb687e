import type { Logger } from 'pino';
import { incidentSeverity, incidentTitle, type AlertInstance } from '../core/index.js';
import type { DeliveryResult, IncidentEvent, Notification, Notifier, Urgency } from '../paging/index.js';
import type { RunEvent, RunExecutor } from '../runbooks/index.js';
import type { Incident, IncidentRepository, RunRepository, TimelineRepository } from '../store/index.js';
import { runEventNote, targetText } from './runEventNotes.js';

/** What {@link IncidentLifecycle} works with; a subset of the incident manager's options. */
export interface IncidentLifecycleOptions {
  readonly incidents: IncidentRepository;
  readonly timeline: TimelineRepository;
  readonly runs: RunRepository;
  readonly executor: RunExecutor;
  readonly notifier: Notifier;
  readonly logger: Logger;
  readonly now: () => number;
  /** Base URL for links in notifications, e.g. `http://swas.example:7927`. */
  readonly externalUrl: string | null;
  readonly groupBy: readonly string[];
  /**
   * How long after a successful run its incident's alerts may keep firing before swas escalates:
   * automation ran, but the problem is still there. @default 120000
   */
  readonly stillFiringAfterRunMs?: number;
}

const TIMELINE_IN_NOTIFICATION = 20;

/**
 * The life of open incidents once alerts are in them: which alerts keep each open, the timeline, runbook
 * starts and progress, escalation, acknowledgement, notifications and resolving.
 */
export class IncidentLifecycle {
  /** Firing alerts by incident id: what keeps an incident open. */
  private readonly firing = new Map<number, Map<string, AlertInstance>>();
  private readonly queues = new Map<string, Promise<void>>();
  private readonly followUps = new Set<NodeJS.Timeout>();

  constructor(private readonly options: IncidentLifecycleOptions) {}

  /** Cancels pending follow-up checks (shutdown). */
  stop(): void {
    for (const timer of this.followUps) clearTimeout(timer);
    this.followUps.clear();
  }

  /** The firing alerts of each incident, for re-checks. */
  attachedAlerts(): [number, AlertInstance[]][] {
    return [...this.firing].map(([id, alerts]) => [id, [...alerts.values()]]);
  }

  /** Opens an incident for a group, titled after its first alert, and notes it. */
  async open(key: string, first: AlertInstance, at: number): Promise<Incident> {
    const { groupBy } = this.options;
    const incident = await this.options.incidents.open(
      {
        key,
        title: incidentTitle(first.labels, first.annotations, groupBy),
        severity: incidentSeverity(first.labels),
        labels: pick(first.labels, groupBy),
      },
      at,
    );
    await this.note(incident.id, at, 'incident.opened', `incident opened: ${incident.title}`, {});
    return incident;
  }

  /** Pages that an incident opened: low urgency when automation handles every alert, else high. */
  async notifyOpened(incident: Incident, unhandledRules: readonly string[]): Promise<void> {
    const names = [...new Set(unhandledRules)];
    await this.notify(
      incident,
      'incident.opened',
      names.length === 0 ? 'low' : 'high',
      names.length === 0
        ? 'automation is handling it'
        : names.length === 1
          ? `alert ${names[0]} is firing and no runbook handles it`
          : `alerts ${names.join(', ')} are firing and no runbook handles them`,
    );
  }

  /** Records that an alert left its incident; the caller then calls {@link resolveIfDone}. */
  detach(incidentId: number, fingerprint: string): void {
    this.firing.get(incidentId)?.delete(fingerprint);
  }

  /** Whether this incident holds this alert. */
  holds(incidentId: number, fingerprint: string): boolean {
    return this.firing.get(incidentId)?.has(fingerprint) ?? false;
  }

  // A run that succeeded while its alerts keep firing did not fix the problem: a human must look.
  private followUp(incidentId: number, runbook: string): void {
    const delay = this.options.stillFiringAfterRunMs ?? 120_000;
    const timer = setTimeout(() => {
      this.followUps.delete(timer);
      void this.serialise(`incident:${incidentId}`, async () => {
        const firing = this.firing.get(incidentId)?.size ?? 0;
        const incident = await this.options.incidents.get(incidentId);
        if (firing === 0 || incident === null || incident.status === 'resolved') return;
        if (await this.hasUnfinishedRun(incidentId)) return;
        await this.escalate(
          incidentId,
          `runbook ${runbook} succeeded, but ${firing} alert${firing === 1 ? ' is' : 's are'} still firing ${Math.round(delay / 1000)} s later`,
        );
      }).catch((error: unknown) =>
        this.options.logger.error({ err: error, incident: incidentId }, 'follow-up check failed'),
      );
    }, delay);
    timer.unref();
    this.followUps.add(timer);
  }

  /** Records a notification delivery (or its final failure) on the incident's timeline. */
  async recordDelivery(notification: Notification, result: DeliveryResult): Promise<void> {
    const message = result.ok
      ? `${result.event} sent to ${result.channel} (attempt ${result.attempts})`
      : `${result.event} to ${result.channel} failed after ${result.attempts} attempts: ${result.error}`;
    await this.note(
      notification.incident.id,
      this.options.now(),
      result.ok ? 'notify.sent' : 'notify.failed',
      message,
      { channel: result.channel, deliveryId: result.deliveryId },
    );
  }

  /** A person acknowledges an incident: paging for it stops escalating. */
  async acknowledge(id: number, by: string): Promise<Incident | null> {
    const incident = await this.options.incidents.get(id);
    if (incident === null || incident.status !== 'open') return incident;
    const now = this.options.now();
    const updated = await this.options.incidents.update(
      id,
      { status: 'acknowledged', acknowledgedAt: now, acknowledgedBy: by },
      now,
    );
    await this.note(id, now, 'incident.acknowledged', `acknowledged by ${by}`, { by });
    if (updated) await this.notify(updated, 'incident.acknowledged', 'low', `acknowledged by ${by}`);
    return updated;
  }

  /** A person resolves an incident by hand. */
  async resolve(id: number, by: string): Promise<Incident | null> {
    const incident = await this.options.incidents.get(id);
    if (incident === null || incident.status === 'resolved') return incident;
    return this.markResolved(incident, `resolved by ${by}`);
  }

  /** Starts the runbooks an alert triggers; true when automation handles it (started, or already acting). */
  async startRunbooks(incidentId: number, alert: AlertInstance, at: number): Promise<boolean> {
    const runbooks = this.options.executor.runbooksFor(alert.labels);
    let handled = false;
    for (const runbook of runbooks) {
      const result = await this.options.executor.start(runbook, {
        labels: alert.labels,
        incidentId,
        trigger: { alert: alert.rule, fingerprint: alert.fingerprint },
      });
      if (result.started) handled = true;
      else {
        await this.note(
          incidentId,
          at,
          'run.refused',
          `runbook ${runbook.name} did not start: ${result.reason}`,
          {},
        );
        // A refusal people already know of (a run is acting, the target is quarantined) is only noted.
        if (result.escalate)
          await this.escalate(incidentId, `runbook ${runbook.name} could not start: ${result.reason}`);
        else handled = true;
      }
    }
    return handled;
  }

  private async escalate(incidentId: number, reason: string): Promise<void> {
    const now = this.options.now();
    const incident = await this.options.incidents.update(incidentId, { escalatedAt: now }, now);
    if (incident === null) return;
    await this.note(incidentId, now, 'incident.escalated', `escalated: ${reason}`, {});
    await this.notify(incident, 'incident.escalated', 'high', reason);
  }

  /** Resolves the incident when no alert keeps it open and no run is in progress; serialised per incident, so it resolves once. */
  resolveIfDone(incidentId: number, reason: string): Promise<void> {
    return this.serialise(`incident:${incidentId}`, async () => {
      if ((this.firing.get(incidentId)?.size ?? 0) > 0) return;
      if (await this.hasUnfinishedRun(incidentId)) return;
      const incident = await this.options.incidents.get(incidentId);
      if (incident === null || incident.status === 'resolved') return;
      await this.markResolved(incident, reason);
    });
  }

  private async hasUnfinishedRun(incidentId: number): Promise<boolean> {
    const unfinished = await this.options.runs.list({
      incidentId,
      status: ['pending', 'running', 'parked'],
      limit: 1,
    });
    return unfinished.length > 0;
  }

  private async markResolved(incident: Incident, reason: string): Promise<Incident | null> {
    const now = this.options.now();
    const resolved = await this.options.incidents.update(
      incident.id,
      { status: 'resolved', resolvedAt: now },
      now,
    );
    this.firing.delete(incident.id);
    await this.note(incident.id, now, 'incident.resolved', `incident resolved: ${reason}`, {});
    if (resolved) await this.notify(resolved, 'incident.resolved', 'low', reason);
    return resolved;
  }

  /** Sends a notification with the incident, its firing alerts and the end of its timeline. */
  async notify(incident: Incident, event: IncidentEvent, urgency: Urgency, reason: string): Promise<void> {
    const timeline = (await this.options.timeline.list(incident.id)).slice(-TIMELINE_IN_NOTIFICATION);
    const alerts = [...(this.firing.get(incident.id)?.values() ?? [])];
    const base = this.options.externalUrl?.replace(/\/$/, '');
    this.options.notifier.send({
      event,
      urgency,
      reason,
      incident,
      alerts: alerts.map((a) => ({
        labels: a.labels,
        annotations: a.annotations,
        state: a.state,
        activeAt: a.activeAt,
        firedAt: a.firedAt,
      })),
      timeline: timeline.map((t) => ({ at: t.at, kind: t.kind, message: t.message })),
      url: base ? `${base}/#/incidents/${incident.id}` : null,
    });
  }

  /** Appends an entry to an incident's timeline. */
  async note(
    incidentId: number,
    at: number,
    kind: string,
    message: string,
    data: Record<string, unknown>,
  ): Promise<void> {
    await this.options.timeline.append({ incidentId, at, kind, message, data });
  }

  /** Records that an alert keeps an incident open. */
  attach(incidentId: number, alert: AlertInstance): void {
    let alerts = this.firing.get(incidentId);
    if (alerts === undefined) this.firing.set(incidentId, (alerts = new Map<string, AlertInstance>()));
    alerts.set(alert.fingerprint, alert);
  }

  /** The incident a firing alert is in, if any. */
  incidentOf(fingerprint: string): number | undefined {
    for (const [id, alerts] of this.firing) if (alerts.has(fingerprint)) return id;
    return undefined;
  }

  /** Runs work after earlier work with the same key has settled. */
  serialise(key: string, work: () => Promise<void>): Promise<void> {
    const next = (this.queues.get(key) ?? Promise.resolve()).then(work, work);
    const tail = next.catch(() => undefined);
    this.queues.set(key, tail);
    void tail.then(() => {
      if (this.queues.get(key) === tail) this.queues.delete(key);
    });
    return next;
  }

  /** Records run progress on the incident's timeline; escalates failures and resolves finished incidents. */
  async handleRunEvent(event: RunEvent): Promise<void> {
    const incidentId = event.run.incidentId;
    if (incidentId === null) return;
    const note = runEventNote(event);
    await this.note(incidentId, this.options.now(), note.kind, note.message, note.data);
    if (event.type !== 'run.finished') return;
    const { run } = event;
    if (event.escalate)
      await this.escalate(
        incidentId,
        `automation failed: runbook ${run.runbook} on ${targetText(run.target)}: ${run.error ?? 'failed'}`,
      );
    if (run.status === 'succeeded') this.followUp(incidentId, run.runbook);
    await this.resolveIfDone(incidentId, `runbook ${run.runbook} finished and its alerts have resolved`);
  }
}

function pick(labels: Readonly<Record<string, string>>, names: readonly string[]): Record<string, string> {
  return Object.fromEntries(names.flatMap((n) => (labels[n] === undefined ? [] : [[n, labels[n]]])));
}
