import type { Notifier } from '../../paging/index.js';
import type { IncidentRepository, RunRepository, TimelineRepository } from '../../store/index.js';
import type { StepNotice, StepNotifier } from './stepPorts.js';

/** What {@link NotifierStepNotifier} reads to describe a run's incident. */
export interface NotifierStepNotifierOptions {
  readonly notifier: Pick<Notifier, 'send'>;
  readonly runs: RunRepository;
  readonly incidents: IncidentRepository;
  readonly timeline: TimelineRepository;
  /** Where a person sees an incident (`server.external_url`), or null. */
  readonly externalUrl: string | null;
}

const TIMELINE_IN_NOTIFICATION = 20;

/**
 * Sends `notify` and `page` steps through the incident notification channels as `incident.escalated`
 * with the step's urgency, carrying the run's incident and the end of its timeline.
 */
export class NotifierStepNotifier implements StepNotifier {
  constructor(private readonly options: NotifierStepNotifierOptions) {}

  async notify(notice: StepNotice): Promise<{ ok: true; detail: string } | { ok: false; error: string }> {
    const run = await this.options.runs.get(notice.runId);
    if (run === null) return { ok: false, error: `run ${notice.runId} does not exist` };
    const incidentId = run.run.incidentId;
    if (incidentId === null)
      return { ok: false, error: `run ${notice.runId} belongs to no incident, so there is nobody to tell` };
    const incident = await this.options.incidents.get(incidentId);
    if (incident === null)
      return { ok: false, error: `incident ${incidentId} of run ${notice.runId} is gone` };
    const timeline = (await this.options.timeline.list(incidentId)).slice(-TIMELINE_IN_NOTIFICATION);
    const base = this.options.externalUrl?.replace(/\/$/, '');
    this.options.notifier.send({
      event: 'incident.escalated',
      urgency: notice.urgency,
      reason: `runbook ${notice.runbook} (run ${notice.runId}): ${notice.message}`,
      incident,
      alerts: [],
      timeline: timeline.map((t) => ({ at: t.at, kind: t.kind, message: t.message })),
      url: base ? `${base}/#/incidents/${incident.id}` : null,
    });
    return { ok: true, detail: `incident ${incidentId} (${notice.urgency} urgency) sent to the channels` };
  }
}
