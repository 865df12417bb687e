import type { Counter } from 'prom-client';
import type { AlertInstance } from '../core/index.js';

/** New alert groups waiting out group_wait before they open an incident, by grouping key. */
export class GroupWait {
  private readonly waiting = new Map<string, { alerts: Map<string, AlertInstance>; timer: NodeJS.Timeout }>();

  /** @param discardedGroups counts groups whose alerts all resolved while waiting. */
  constructor(private readonly discardedGroups: Counter) {}

  /** Adds a firing alert to its group when that group is waiting; false when it is not. */
  join(key: string, alert: AlertInstance): boolean {
    const waiting = this.waiting.get(key);
    if (waiting === undefined) return false;
    waiting.alerts.set(alert.fingerprint, alert);
    return true;
  }

  /** Starts a group with its first alert; `expired` runs after `delayMs` (the timer does not keep Node alive). */
  start(key: string, alert: AlertInstance, delayMs: number, expired: () => void): void {
    const timer = setTimeout(expired, delayMs);
    timer.unref();
    this.waiting.set(key, { alerts: new Map([[alert.fingerprint, alert]]), timer });
  }

  /** Ends a group's wait: its alerts, or undefined when it is not waiting (any more). */
  take(key: string): AlertInstance[] | undefined {
    const group = this.waiting.get(key);
    if (group === undefined) return undefined;
    this.waiting.delete(key);
    return [...group.alerts.values()];
  }

  /** Counts a group that ended its wait with no alert still firing, so it opens no incident. */
  discarded(): void {
    this.discardedGroups.inc();
  }

  /** A waiting alert that resolves leaves its group; a group left empty opens no incident at all. */
  leave(fingerprint: string): boolean {
    for (const [key, group] of this.waiting) {
      if (!group.alerts.delete(fingerprint)) continue;
      if (group.alerts.size === 0) {
        clearTimeout(group.timer);
        this.waiting.delete(key);
        this.discarded();
      }
      return true;
    }
    return false;
  }

  /** Cancels every wait (shutdown); the waiting alerts are admitted again on restore. */
  stop(): void {
    for (const group of this.waiting.values()) clearTimeout(group.timer);
    this.waiting.clear();
  }
}
