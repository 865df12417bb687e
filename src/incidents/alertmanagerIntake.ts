import { z } from 'zod';
import { alertFingerprint, type AlertInstance, type Labels } from '../core/index.js';
import type { AlertChange } from '../rules/index.js';

/** The label every alert that came in through the Alertmanager webhook carries: where it came from. */
export const INTAKE_SOURCE_LABEL = 'swas_source';
/** The value of {@link INTAKE_SOURCE_LABEL} for alerts from the Alertmanager webhook. */
export const INTAKE_SOURCE_ALERTMANAGER = 'alertmanager';

const TIMESTAMP_HINT = 'must be an RFC 3339 timestamp such as 2026-01-02T15:04:05Z';
const timestamp = z.iso.datetime({ offset: true, error: TIMESTAMP_HINT });
const stringMap = z.record(z.string(), z.string());

// Alertmanager always sends every field; older releases lack `fingerprint` and `truncatedAlerts`, and
// hand-written senders (curl, amtool-like scripts) often leave out the group fields, so only what swas
// needs is required. Unknown fields are ignored: Alertmanager may add some within version "4".
const alertSchema = z.object({
  status: z.enum(['firing', 'resolved']),
  labels: stringMap.refine((labels) => (labels.alertname ?? '') !== '', {
    error: 'needs a non-empty "alertname" label: swas names the alert after it',
  }),
  annotations: stringMap.default({}),
  startsAt: timestamp,
  endsAt: timestamp.optional(),
  generatorURL: z.string().optional(),
  fingerprint: z.string().optional(),
});

const payloadSchema = z.object({
  version: z.literal('4'),
  receiver: z.string().optional(),
  status: z.enum(['firing', 'resolved']).optional(),
  alerts: z.array(alertSchema),
  groupLabels: stringMap.optional(),
  commonLabels: stringMap.optional(),
  commonAnnotations: stringMap.optional(),
  externalURL: z.string().optional(),
  groupKey: z.string().optional(),
  truncatedAlerts: z.number().int().min(0).optional(),
});

/** An Alertmanager webhook body (payload version "4"), validated. */
export type AlertmanagerPayload = z.output<typeof payloadSchema>;
/** One alert of an {@link AlertmanagerPayload}. */
export type AlertmanagerAlert = AlertmanagerPayload['alerts'][number];

/**
 * Validates a decoded Alertmanager webhook body. A failure names every bad field by its path
 * (`alerts.0.startsAt: …`) and what was expected; a payload version other than "4" is refused first,
 * because its fields may mean something else.
 */
export function parseAlertmanagerPayload(
  body: unknown,
): { ok: true; payload: AlertmanagerPayload } | { ok: false; error: string } {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    return { ok: false, error: `expected a JSON object (an Alertmanager webhook body), got ${kindOf(body)}` };
  const version: unknown = (body as Record<string, unknown>).version;
  if (version !== '4')
    return {
      ok: false,
      error: `version: swas reads Alertmanager webhook payload version "4", got ${version === undefined ? 'no version' : JSON.stringify(version)}; this URL takes the body of an Alertmanager webhook_config receiver`,
    };
  const parsed = payloadSchema.safeParse(body);
  if (parsed.success) return { ok: true, payload: parsed.data };
  return {
    ok: false,
    error: parsed.error.issues
      .map((i) => `${i.path.length > 0 ? i.path.join('.') : 'body'}: ${i.message}`)
      .join('; '),
  };
}

/**
 * Turns one Alertmanager alert into the alert transition the incident manager understands. Labels are kept
 * as Alertmanager sent them plus `swas_source="alertmanager"`, so grouping and runbook triggers match the
 * labels the operator already knows, and the alert never shares an identity with a rule swas evaluates.
 * Times in the future (clock skew between hosts) are capped at `now`, so the timeline stays in order.
 */
export function alertChangeFromAlertmanager(alert: AlertmanagerAlert, now: number): AlertChange {
  const labels: Labels = { ...alert.labels, [INTAKE_SOURCE_LABEL]: INTAKE_SOURCE_ALERTMANAGER };
  const rule = alert.labels.alertname ?? '';
  const startsAt = Math.min(Date.parse(alert.startsAt), now);
  const annotations: Record<string, string> = { ...alert.annotations };
  if (alert.generatorURL && annotations.generator_url === undefined)
    annotations.generator_url = alert.generatorURL;
  const base = {
    fingerprint: alertFingerprint(rule, labels),
    rule,
    labels,
    annotations,
    activeAt: startsAt,
    firedAt: startsAt,
    value: null,
  };
  if (alert.status === 'firing') {
    const firing: AlertInstance = { ...base, state: 'firing', resolvedAt: null, lastActiveAt: now };
    return { transition: 'firing', alert: firing, at: startsAt };
  }
  // Alertmanager marks a resolved alert by its end time; one without a usable end resolved when it arrived.
  const ends = alert.endsAt === undefined ? Number.NaN : Date.parse(alert.endsAt);
  const resolvedAt = Number.isFinite(ends) && ends >= startsAt ? Math.min(ends, now) : now;
  const resolved: AlertInstance = { ...base, state: 'resolved', resolvedAt, lastActiveAt: resolvedAt };
  return { transition: 'resolved', alert: resolved, at: resolvedAt };
}

/** Where the intake sends the transitions it accepts; the incident manager in a running server. */
export interface AlertChangeSink {
  handleAlertChange(change: AlertChange): Promise<void>;
}

/** Options for {@link AlertmanagerIntake.create}. */
export interface AlertmanagerIntakeOptions {
  readonly sink: AlertChangeSink;
  readonly now: () => number;
  /**
   * How long an alert is remembered after its last delivery. Longer than Alertmanager's repeat_interval, so
   * repeats are recognised; forgetting only costs one repeated timeline entry. @default 86400000 (24 h)
   */
  readonly rememberForMs?: number;
  /** The most alerts remembered at once; the least recently delivered are forgotten first. @default 100000 */
  readonly maxRemembered?: number;
}

/** What one webhook delivery contained, and how many of its alerts were new transitions. */
export interface IntakeSummary {
  readonly received: number;
  readonly firing: number;
  readonly resolved: number;
  /** Alerts whose state swas had not seen yet, handed to the incident manager. */
  readonly forwarded: number;
}

interface Seen {
  readonly state: 'firing' | 'resolved';
  /** The episode: Alertmanager keeps `startsAt` while an alert keeps firing. */
  readonly startsAt: number;
  readonly lastSeen: number;
}

/**
 * Accepts Alertmanager webhook deliveries and forwards only transitions. Alertmanager repeats every firing
 * alert of a group each repeat_interval, an HA pair may both deliver, and a group notification lists alerts
 * that did not change; the incident manager would note each as a new firing on the timeline. So the intake
 * remembers each alert's last state and episode, and forwards a firing alert once per episode and a resolved
 * one once. A resolved alert it never saw firing is still forwarded: after a restart it may be the only news
 * that an open incident's alert ended.
 */
export class AlertmanagerIntake {
  // Ordered by last delivery (re-inserted on each), so forgetting walks from the front.
  private readonly seen = new Map<string, Seen>();

  private constructor(private readonly options: AlertmanagerIntakeOptions) {}

  /** Builds an intake that forwards to `options.sink`. */
  static create(options: AlertmanagerIntakeOptions): AlertmanagerIntake {
    return new AlertmanagerIntake(options);
  }

  /**
   * Handles one delivery, alert by alert in order. If the sink fails, that alert is not remembered and the
   * error propagates, so the caller answers 5xx and Alertmanager retries; alerts before it are not redone.
   */
  async receive(payload: AlertmanagerPayload): Promise<IntakeSummary> {
    const now = this.options.now();
    this.forget(now);
    let forwarded = 0;
    for (const alert of payload.alerts) {
      const change = alertChangeFromAlertmanager(alert, now);
      const key = change.alert.fingerprint;
      const previous = this.seen.get(key);
      const state = change.transition === 'firing' ? 'firing' : 'resolved';
      // The episode is the sent start, not the one capped at now, which would change with every repeat.
      const startsAt = Date.parse(alert.startsAt);
      this.seen.delete(key);
      this.seen.set(key, { state, startsAt, lastSeen: now });
      if (!isNews(previous, state, startsAt)) continue;
      try {
        await this.options.sink.handleAlertChange(change);
      } catch (error) {
        this.seen.delete(key);
        if (previous !== undefined) this.seen.set(key, previous);
        throw error;
      }
      forwarded++;
    }
    const firing = payload.alerts.filter((a) => a.status === 'firing').length;
    return { received: payload.alerts.length, firing, resolved: payload.alerts.length - firing, forwarded };
  }

  /** How many alerts the intake currently remembers (for tests and the debug log). */
  remembered(): number {
    return this.seen.size;
  }

  private forget(now: number): void {
    const keepFrom = now - (this.options.rememberForMs ?? 86_400_000);
    const max = this.options.maxRemembered ?? 100_000;
    for (const [key, entry] of this.seen) {
      if (entry.lastSeen >= keepFrom && this.seen.size < max) break;
      this.seen.delete(key);
    }
  }
}

// A firing alert is news unless this episode is already known (firing, or resolved: a late repeat from an
// HA peer must not reopen it); a resolved alert is news unless it is already known resolved.
function isNews(previous: Seen | undefined, state: 'firing' | 'resolved', startsAt: number): boolean {
  if (previous === undefined) return true;
  if (state === 'resolved') return previous.state !== 'resolved';
  return previous.startsAt !== startsAt;
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}
