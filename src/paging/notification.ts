/** The incident events a channel can be told about. */
export type IncidentEvent =
  'incident.opened' | 'incident.escalated' | 'incident.resolved' | 'incident.acknowledged';

/**
 * How soon a human must look. `low`: automation is handling it inside a redundant pool (can wait for
 * business hours); `high`: automation failed, is not allowed, or nothing handles it.
 */
export type Urgency = 'low' | 'high';

/** What every notification says about its incident. */
export interface NotificationIncident {
  readonly id: number;
  readonly title: string;
  readonly status: string;
  readonly severity: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly openedAt: number;
  readonly resolvedAt: number | null;
  readonly acknowledgedAt: number | null;
}

/** One alert in the incident, as the notification shows it. */
export interface NotificationAlert {
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly state: string;
  readonly activeAt: number;
  readonly firedAt: number | null;
}

/** A notification about one incident event, before it is encoded for a channel. */
export interface Notification {
  readonly event: IncidentEvent;
  readonly urgency: Urgency;
  readonly incident: NotificationIncident;
  readonly alerts: readonly NotificationAlert[];
  /** Why this was sent, e.g. the failed step of a run. */
  readonly reason: string;
  readonly timeline: readonly { readonly at: number; readonly kind: string; readonly message: string }[];
  /** Where a person sees the incident, when swas knows its external URL. */
  readonly url: string | null;
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** The webhook JSON body (documented in docs/notifications.md): version 1, snake_case, ISO-8601 times. */
export function webhookBody(
  notification: Notification,
  deliveryId: string,
  sentAt: number,
): Record<string, unknown> {
  const { incident } = notification;
  return {
    version: '1',
    delivery_id: deliveryId,
    event: notification.event,
    sent_at: iso(sentAt),
    urgency: notification.urgency,
    reason: notification.reason,
    incident: {
      id: incident.id,
      title: incident.title,
      status: incident.status,
      severity: incident.severity,
      labels: incident.labels,
      opened_at: iso(incident.openedAt),
      acknowledged_at: iso(incident.acknowledgedAt),
      resolved_at: iso(incident.resolvedAt),
      url: notification.url,
    },
    alerts: notification.alerts.map((a) => ({
      labels: a.labels,
      annotations: a.annotations,
      state: a.state,
      active_at: iso(a.activeAt),
      fired_at: iso(a.firedAt),
    })),
    timeline: notification.timeline.map((t) => ({ at: iso(t.at), kind: t.kind, message: t.message })),
  };
}
