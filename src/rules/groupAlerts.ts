import { advanceAlert, alertFingerprint, type AlertInstance, type AlertObservation } from '../core/index.js';
import type { AlertChangePublisher } from './alertChanges.js';
import type { RestoredAlerts } from './restoredAlerts.js';
import {
  brokenObservation,
  GROUP_BROKEN_ALERT,
  GROUP_OVERRUN_ALERT,
  groupAlertLabels,
  overrunObservation,
  type RuleGroupSpec,
} from './ruleGroups.js';
import { groupAlertKey } from './ruleState.js';

/**
 * swas's own alerts about groups while pending or firing: SwasRuleGroupOverrun, advanced after each evaluation (it
 * resolves after the group has run on time a while), and SwasRuleGroupBroken, advanced when groups are set (it
 * resolves when the group is fixed).
 */
export class GroupAlerts {
  /** By alert and group. */
  private readonly alerts = new Map<string, AlertInstance>();

  constructor(
    private readonly restored: RestoredAlerts,
    private readonly publisher: AlertChangePublisher,
  ) {}

  /** The group alerts pending or firing now. */
  values(): IterableIterator<AlertInstance> {
    return this.alerts.values();
  }

  /**
   * Drops the alerts a new set of groups does not keep: an overrun alert lasts while its group is evaluated, a broken
   * alert while its group stays broken.
   */
  async retain(groups: readonly RuleGroupSpec[], at: number): Promise<void> {
    const keep = new Set(
      groups.map((g) => groupAlertKey(g.broken ? GROUP_BROKEN_ALERT : GROUP_OVERRUN_ALERT, g)),
    );
    for (const [key, alert] of this.alerts) {
      if (keep.has(key)) continue;
      this.alerts.delete(key);
      await this.publisher.drop(alert, at);
    }
  }

  /** Advances the SwasRuleGroupBroken alert of each broken group. */
  async trackBroken(broken: readonly RuleGroupSpec[], at: number): Promise<void> {
    for (const group of broken) {
      await this.track(GROUP_BROKEN_ALERT, group, brokenObservation(group), 0, at);
    }
  }

  /** Advances a group's SwasRuleGroupOverrun alert after an evaluation that made it skip `skipped` ticks. */
  trackOverrun(group: RuleGroupSpec, skipped: number, keepFiringForMs: number, at: number): Promise<void> {
    return this.track(GROUP_OVERRUN_ALERT, group, overrunObservation(group, skipped), keepFiringForMs, at);
  }

  private async track(
    alertname: string,
    group: RuleGroupSpec,
    observation: AlertObservation,
    keepFiringForMs: number,
    at: number,
  ): Promise<void> {
    const key = groupAlertKey(alertname, group);
    const fingerprint = alertFingerprint(alertname, groupAlertLabels(alertname, group));
    const previous = this.alerts.get(key) ?? this.restored.take(fingerprint);
    if (previous === undefined && !observation.present) return;
    const identity = { fingerprint, rule: alertname };
    const step = advanceAlert(previous, observation, identity, { forMs: 0, keepFiringForMs }, at);
    if (step.next === undefined || step.next.state === 'resolved') this.alerts.delete(key);
    else this.alerts.set(key, step.next);
    await this.publisher.apply({ fingerprint, previous, ...step }, at);
  }
}
