import { createHash } from 'node:crypto';
import { labelsKey, type Labels } from './labels.js';

/** A stable id for an alert instance: its rule and its labels, whatever their order. */
export function alertFingerprint(rule: string, labels: Labels): string {
  return createHash('sha256').update(rule).update('\0').update(labelsKey(labels)).digest('hex').slice(0, 16);
}

/** Where one alert instance stands. `inactive` instances are not kept. */
export type AlertState = 'pending' | 'firing' | 'resolved';

/** One instance of an alerting rule, identified by its labels. */
export interface AlertInstance {
  readonly fingerprint: string;
  readonly rule: string;
  readonly labels: Labels;
  readonly annotations: Readonly<Record<string, string>>;
  readonly state: AlertState;
  /** When the condition first held in this episode. */
  readonly activeAt: number;
  readonly firedAt: number | null;
  readonly resolvedAt: number | null;
  /** When the condition last held. */
  readonly lastActiveAt: number;
  /** The first evaluation where a firing alert's condition no longer held; keep_firing_for counts from here. */
  readonly keepFiringSince?: number | null;
  readonly value: number | null;
}

/** The timing knobs of an alerting rule, in ms. */
export interface AlertTiming {
  readonly forMs: number;
  readonly keepFiringForMs: number;
}

/** What one evaluation saw for an instance: present with a value, or absent. */
export type AlertObservation =
  | {
      readonly present: true;
      readonly value: number;
      readonly labels: Labels;
      readonly annotations: Readonly<Record<string, string>>;
    }
  | { readonly present: false };

/** A change worth telling the rest of the system about. */
export type AlertTransition = 'pending' | 'firing' | 'resolved' | 'cancelled' | 'renewed' | 'none';

/**
 * Advances one alert instance by one evaluation, as Prometheus does: pending until `for` has passed,
 * firing until the condition stops holding (plus `keep_firing_for`), then resolved. A pending alert whose
 * condition stops holding is dropped (`cancelled`). A resolved alert that holds again starts a new episode.
 */
export function advanceAlert(
  previous: AlertInstance | undefined,
  observation: AlertObservation,
  identity: { fingerprint: string; rule: string },
  timing: AlertTiming,
  now: number,
): { next: AlertInstance | undefined; transition: AlertTransition } {
  if (observation.present) {
    const base = {
      ...identity,
      labels: observation.labels,
      annotations: observation.annotations,
      value: observation.value,
      lastActiveAt: now,
      keepFiringSince: null,
    };
    if (previous === undefined || previous.state === 'resolved') {
      const state = timing.forMs === 0 ? 'firing' : 'pending';
      return {
        next: { ...base, state, activeAt: now, firedAt: state === 'firing' ? now : null, resolvedAt: null },
        transition: state,
      };
    }
    if (previous.state === 'pending' && now - previous.activeAt >= timing.forMs) {
      return { next: { ...previous, ...base, state: 'firing', firedAt: now }, transition: 'firing' };
    }
    return { next: { ...previous, ...base }, transition: 'none' };
  }
  if (previous === undefined || previous.state === 'resolved') return { next: previous, transition: 'none' };
  if (previous.state === 'pending') return { next: undefined, transition: 'cancelled' };
  if (timing.keepFiringForMs > 0) {
    const since = previous.keepFiringSince ?? now;
    if (now - since < timing.keepFiringForMs)
      return { next: { ...previous, keepFiringSince: since }, transition: 'none' };
  }
  return { next: { ...previous, state: 'resolved', resolvedAt: now }, transition: 'resolved' };
}
