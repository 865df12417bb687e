import type { AlertInstance } from '../core/index.js';
import type { AlertingRule, RuleGroupSpec } from './ruleGroups.js';
import { groupKey } from './ruleState.js';

/**
 * Alerts restored at start-up that no rule has taken over yet. Each rule takes over the restored alerts of its
 * name at its first evaluation; those no rule takes over by the time every group has run once are resolved.
 */
export class RestoredAlerts {
  private readonly unclaimed = new Map<string, AlertInstance>();
  private readonly evaluatedSinceRestore = new Set<string>();

  /** Adds the alerts loaded at start-up; every group must run again before the unclaimed ones resolve. */
  load(alerts: readonly AlertInstance[]): void {
    for (const alert of alerts) this.unclaimed.set(alert.fingerprint, alert);
    this.evaluatedSinceRestore.clear();
  }

  /** The alerts no rule has taken over yet. */
  values(): IterableIterator<AlertInstance> {
    return this.unclaimed.values();
  }

  /** Takes over the restored alert with this fingerprint, if there is one. */
  take(fingerprint: string): AlertInstance | undefined {
    const alert = this.unclaimed.get(fingerprint);
    this.unclaimed.delete(fingerprint);
    return alert;
  }

  /**
   * Moves the restored alerts that belong to `rule` into its `alerts`: those of its name that carry its fixed
   * labels (several rules may share a name).
   */
  claim(rule: AlertingRule, alerts: Map<string, AlertInstance>): void {
    if (this.unclaimed.size === 0) return;
    const fixed = Object.entries(rule.labels).filter(([, v]) => !v.includes('{{'));
    for (const alert of this.unclaimed.values()) {
      if (alert.rule !== rule.name || !fixed.every(([k, v]) => alert.labels[k] === v)) continue;
      this.unclaimed.delete(alert.fingerprint);
      alerts.set(alert.fingerprint, alert);
    }
  }

  /** Drops, one by one, the restored alerts of rule names that no longer exist. */
  dropUnnamed(names: ReadonlySet<string>, drop: (alert: AlertInstance) => Promise<void>): Promise<void> {
    return this.dropWhere((alert) => !names.has(alert.rule), drop);
  }

  /**
   * Records that `group` ran, and once every group that is evaluated has, drops the alerts still unclaimed. Alerts of
   * a broken group's rules wait for the group to be fixed, as its other alerts do.
   */
  async evaluated(
    group: RuleGroupSpec,
    groups: readonly RuleGroupSpec[],
    drop: (alert: AlertInstance) => Promise<void>,
  ): Promise<void> {
    this.evaluatedSinceRestore.add(groupKey(group));
    if (this.unclaimed.size === 0) return;
    const evaluated = groups.filter((g) => g.broken === undefined);
    if (!evaluated.every((g) => this.evaluatedSinceRestore.has(groupKey(g)))) return;
    const waiting = new Set(groups.flatMap((g) => (g.broken?.rules ?? []).map((r) => r.name)));
    await this.dropWhere((alert) => !waiting.has(alert.rule), drop);
  }

  private async dropWhere(
    matches: (alert: AlertInstance) => boolean,
    drop: (alert: AlertInstance) => Promise<void>,
  ): Promise<void> {
    for (const alert of [...this.unclaimed.values()].filter(matches)) {
      this.unclaimed.delete(alert.fingerprint);
      await drop(alert);
    }
  }
}
