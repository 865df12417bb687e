import type { Logger } from 'pino';
import { incidentKey, incidentSeverity, incidentTitle, type AlertInstance } from '../core/index.js';
import type { DeliveryResult, IncidentEvent, Notification, Notifier, Urgency } from '../paging/index.js';
import type { AlertChange } from '../rules/index.js';
import type { RunEvent, RunExecutor } from '../runbooks/index.js';
import type { Incident, IncidentRepository, RunRepository, TimelineRepository } from '../store/index.js';

/** Options for {@link IncidentManager.create}. */
export interface IncidentManagerOptions {
  readonly incidents: IncidentRepository;
  readonly timeline: TimelineRepository;
  readonly runs: RunRepository;
  readonly executor: RunExecutor;
  readonly notifier: Notifier;
  readonly groupBy: readonly string[];
  readonly logger: Logger;
  readonly now: () => number;
  /** Base URL for links in notifications, e.g. `http://swas.example:7927`. */
  readonly externalUrl: string | null;
  /**
   * How long after a successful run its incident's alerts may keep firing before swas escalates:
   * automation ran, but the problem is still there. @default 120000
   */
  readonly stillFiringAfterRunMs?: number;
}

const TIMELINE_IN_NOTIFICATION = 20;

/**
 * Turns alert transitions and run progress into incidents with a timeline: opens or joins an incident when
 * an alert fires, starts the runbooks it triggers, escalates when automation fails, and resolves the
 * incident once its alerts have resolved and its runs have finished.
 */
export class IncidentManager {
  /** Firing alerts by incident id: what keeps an incident open. */
  private readonly firing = new Map<number, Map<string, AlertInstance>>();
  /** Serialises work per grouping key, so one burst of alerts opens one incident. */
  private readonly queues = new Map<string, Promise<void>>();
  private readonly followUps = new Set<NodeJS.Timeout>();

  private constructor(private readonly options: IncidentManagerOptions) {}

  /** Builds a manager; call {@link restore} after the rule manager restored its alerts. */
  static create(options: IncidentManagerOptions): IncidentManager {
    return new IncidentManager(options);
  }

  /** Re-attaches restored firing alerts to their open incidents, then resolves incidents nothing keeps open. */
  async restore(active: readonly AlertInstance[]): Promise<void> {
    for (const alert of active.filter((a) => a.state === 'firing')) {
      const incident = await this.options.incidents.findOpenByKey(this.keyOf(alert));
      if (incident !== null) this.attach(incident.id, alert);
    }
    for (const incident of await this.options.incidents.list({
      status: ['open', 'acknowledged'],
      limit: 1000,
    })) {
      await this.resolveIfDone(incident.id, 'nothing kept it open after a restart');
    }
  }

  /** Reacts to one alert transition from the rule manager (or intake). */
  handleAlertChange(change: AlertChange): Promise<void> {
    return this.serialise(this.keyOf(change.alert), async () => {
      if (change.transition === 'firing') await this.alertFiring(change.alert, change.at);
      if (change.transition === 'resolved') await this.alertResolved(change.alert, change.at);
    });
  }

  /** Records run progress on the incident's timeline; escalates failures and resolves finished incidents. */
  async handleRunEvent(event: RunEvent): Promise<void> {
    const incidentId = event.run.incidentId;
    if (incidentId === null) return;
    const at = this.options.now();
    const { run } = event;
    switch (event.type) {
      case 'run.started':
      case 'run.resumed':
        await this.note(
          incidentId,
          at,
          event.type,
          `runbook ${run.runbook} ${event.type === 'run.started' ? 'started' : 'resumed after a restart'} on ${targetText(run.target)}`,
          { runId: run.id },
        );
        return;
      case 'run.parked':
        await this.note(
          incidentId,
          at,
          'run.parked',
          `runbook ${run.runbook} parked at step ${run.currentStep + 1} while swas shuts down; it resumes on restart`,
          { runId: run.id },
        );
        return;
      case 'step.started':
        await this.note(
          incidentId,
          at,
          'step.started',
          `step ${event.step.index + 1}/${event.total} ${event.step.name} started`,
          { runId: run.id, step: event.step.index },
        );
        return;
      case 'step.finished': {
        const ok = event.step.status === 'succeeded';
        const message = event.step.result?.message;
        const detail = ok ? (typeof message === 'string' ? message : 'done') : (event.step.error ?? 'failed');
        await this.note(
          incidentId,
          at,
          ok ? 'step.succeeded' : 'step.failed',
          `step ${event.step.index + 1}/${event.total} ${event.step.name}: ${detail}`,
          { runId: run.id, step: event.step.index },
        );
        return;
      }
      case 'run.finished':
        await this.note(
          incidentId,
          at,
          `run.${run.status}`,
          `runbook ${run.runbook} ${run.status}${run.error ? `: ${run.error}` : ''}`,
          { runId: run.id },
        );
        if (event.escalate)
          await this.escalate(
            incidentId,
            `automation failed: runbook ${run.runbook} on ${targetText(run.target)}: ${run.error ?? 'failed'}`,
          );
        if (run.status === 'succeeded') this.followUp(incidentId, run.runbook);
        await this.resolveIfDone(incidentId, `runbook ${run.runbook} finished and its alerts have resolved`);
        return;
    }
  }

  /** Cancels pending follow-up checks (shutdown). */
  stop(): void {
    for (const timer of this.followUps) clearTimeout(timer);
    this.followUps.clear();
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
        const running = await this.options.runs.list({
          incidentId,
          status: ['pending', 'running', 'parked'],
          limit: 1,
        });
        if (running.length > 0) return;
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

  private async alertFiring(alert: AlertInstance, at: number): Promise<void> {
    const { incidents, groupBy } = this.options;
    let incident = await incidents.findOpenByKey(this.keyOf(alert));
    const opened = incident === null;
    incident ??= await incidents.open(
      {
        key: this.keyOf(alert),
        title: incidentTitle(alert.labels, alert.annotations, groupBy),
        severity: incidentSeverity(alert.labels),
        labels: pick(alert.labels, groupBy),
      },
      at,
    );
    if (opened) await this.note(incident.id, at, 'incident.opened', `incident opened: ${incident.title}`, {});
    this.attach(incident.id, alert);
    await this.note(incident.id, at, 'alert.firing', `alert ${alert.rule} firing${alertContext(alert)}`, {
      fingerprint: alert.fingerprint,
      labels: alert.labels,
      value: alert.value,
    });
    const handled = await this.startRunbooks(incident.id, alert, at);
    if (opened)
      await this.notify(
        incident,
        'incident.opened',
        handled ? 'low' : 'high',
        handled ? 'automation is handling it' : `alert ${alert.rule} is firing and no runbook handles it`,
      );
  }

  private async alertResolved(alert: AlertInstance, at: number): Promise<void> {
    const incidentId =
      this.incidentOf(alert.fingerprint) ??
      (await this.options.incidents.findOpenByKey(this.keyOf(alert)))?.id;
    if (incidentId === undefined) return;
    this.firing.get(incidentId)?.delete(alert.fingerprint);
    await this.note(incidentId, at, 'alert.resolved', `alert ${alert.rule} resolved${alertContext(alert)}`, {
      fingerprint: alert.fingerprint,
    });
    await this.resolveIfDone(incidentId, 'all its alerts resolved and no run is in progress');
  }

  private async startRunbooks(incidentId: number, alert: AlertInstance, at: number): Promise<boolean> {
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
        if (!result.reason.includes('already acting'))
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

  // Serialised per incident: an alert resolving and a run finishing at once must resolve it once.
  private resolveIfDone(incidentId: number, reason: string): Promise<void> {
    return this.serialise(`incident:${incidentId}`, async () => {
      if ((this.firing.get(incidentId)?.size ?? 0) > 0) return;
      const unfinished = await this.options.runs.list({
        incidentId,
        status: ['pending', 'running', 'parked'],
        limit: 1,
      });
      if (unfinished.length > 0) return;
      const incident = await this.options.incidents.get(incidentId);
      if (incident === null || incident.status === 'resolved') return;
      await this.markResolved(incident, reason);
    });
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

  private async notify(
    incident: Incident,
    event: IncidentEvent,
    urgency: Urgency,
    reason: string,
  ): Promise<void> {
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

  private async note(
    incidentId: number,
    at: number,
    kind: string,
    message: string,
    data: Record<string, unknown>,
  ): Promise<void> {
    await this.options.timeline.append({ incidentId, at, kind, message, data });
  }

  private attach(incidentId: number, alert: AlertInstance): void {
    let alerts = this.firing.get(incidentId);
    if (alerts === undefined) this.firing.set(incidentId, (alerts = new Map<string, AlertInstance>()));
    alerts.set(alert.fingerprint, alert);
  }

  private incidentOf(fingerprint: string): number | undefined {
    for (const [id, alerts] of this.firing) if (alerts.has(fingerprint)) return id;
    return undefined;
  }

  private keyOf(alert: AlertInstance): string {
    return incidentKey(alert.labels, this.options.groupBy);
  }

  private serialise(key: string, work: () => Promise<void>): Promise<void> {
    const next = (this.queues.get(key) ?? Promise.resolve()).then(work, work);
    const tail = next.catch(() => undefined);
    this.queues.set(key, tail);
    void tail.then(() => {
      if (this.queues.get(key) === tail) this.queues.delete(key);
    });
    return next;
  }
}

function pick(labels: Readonly<Record<string, string>>, names: readonly string[]): Record<string, string> {
  return Object.fromEntries(names.flatMap((n) => (labels[n] === undefined ? [] : [[n, labels[n]]])));
}

function alertContext(alert: AlertInstance): string {
  const parts = ['pool', 'member', 'instance', 'service'].flatMap((n) =>
    alert.labels[n] ? [`${n}=${alert.labels[n]}`] : [],
  );
  return parts.length > 0 ? ` (${parts.join(', ')})` : '';
}

function targetText(target: Readonly<Record<string, string>>): string {
  if (target.pool !== undefined && target.member !== undefined) return `${target.pool}/${target.member}`;
  return (
    Object.entries(target)
      .map(([k, v]) => `${k}=${v}`)
      .join(', ') || 'no target'
  );
}
