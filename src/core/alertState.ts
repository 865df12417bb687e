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
  /** With `resolve_when`: the first evaluation where no expression returned this alert's series. */
  readonly unseenSince?: number | null;
  readonly value: number | null;
}

/** The timing knobs of an alerting rule, in ms. */
export interface AlertTiming {
  readonly forMs: number;
  readonly keepFiringForMs: number;
  /** A firing alert stays firing at least this long after it fired. @default 0 */
  readonly minFiringForMs?: number;
  /**
   * Set when the rule has `resolve_when`: a firing alert then resolves only when `resolve_when` holds for it, or
   * when no expression has seen its series for `unseenResolveMs` (the series is gone). @default null
   */
  readonly hysteresis?: { readonly unseenResolveMs: number } | null;
}

/**
 * What one evaluation saw for an instance: present in `expr` with a value, or absent. For rules with
 * `resolve_when`, an absent instance says why: `holds` (resolve_when returned it), `band` (its series is there,
 * between the thresholds, with its current value when known), or `unseen` (no expression returned it).
 */
export type AlertObservation =
  | {
      readonly present: true;
      readonly value: number;
      readonly labels: Labels;
      readonly annotations: Readonly<Record<string, string>>;
    }
  | { readonly present: false; readonly resolve?: 'holds' | 'band' | 'unseen'; readonly value?: number };

/** A change worth telling the rest of the system about. */
export type AlertTransition = 'pending' | 'firing' | 'resolved' | 'cancelled' | 'renewed' | 'none';

/** The outcome of advancing one instance. */
export interface AlertStep {
  readonly next: AlertInstance | undefined;
  readonly transition: AlertTransition;
}

/**
 * Advances one alert instance by one evaluation, as Prometheus does: pending until `for` has passed,
 * firing until the condition stops holding (plus `keep_firing_for`), then resolved. A pending alert whose
 * condition stops holding is dropped (`cancelled`). A resolved alert that holds again starts a new episode.
 * With hysteresis (`resolve_when`), a firing alert resolves only when its resolve condition holds or its series is
 * gone; `min_firing_for` and `keep_firing_for` then hold it a while longer (docs/rules.md, Hysteresis).
 */
export function advanceAlert(
  previous: AlertInstance | undefined,
  observation: AlertObservation,
  identity: { fingerprint: string; rule: string },
  timing: AlertTiming,
  now: number,
): AlertStep {
  if (observation.present) {
    const base = {
      ...identity,
      labels: observation.labels,
      annotations: observation.annotations,
      value: observation.value,
      lastActiveAt: now,
      keepFiringSince: null,
      unseenSince: null,
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
  return advanceFiringAbsent(previous, observation, timing, now);
}

// A firing alert whose `expr` did not return it this time.
function advanceFiringAbsent(
  previous: AlertInstance,
  observation: AlertObservation & { present: false },
  timing: AlertTiming,
  now: number,
): AlertStep {
  const hysteresis = timing.hysteresis ?? null;
  const seen = observation.resolve === 'holds' || observation.resolve === 'band';
  const unseenSince = hysteresis === null || seen ? null : (previous.unseenSince ?? now);
  const held = {
    ...previous,
    value: observation.value ?? previous.value,
    unseenSince,
  };
  const holds =
    hysteresis === null ||
    observation.resolve === 'holds' ||
    (unseenSince !== null && now - unseenSince >= hysteresis.unseenResolveMs);
  if (!holds) return { next: held, transition: 'none' };
  const since = previous.keepFiringSince ?? now;
  const firedAt = previous.firedAt ?? previous.activeAt;
  if (now - since < timing.keepFiringForMs || now - firedAt < (timing.minFiringForMs ?? 0))
    return { next: { ...held, keepFiringSince: since }, transition: 'none' };
  return {
    next: { ...held, keepFiringSince: since, state: 'resolved', resolvedAt: now },
    transition: 'resolved',
  };
}

/**
 * Ends an instance at once whatever its timers say (its rule was removed, or exceeded its group's `limit`):
 * a pending alert is cancelled, a firing one resolved.
 */
export function dropAlert(previous: AlertInstance, now: number): AlertStep {
  if (previous.state === 'pending') return { next: undefined, transition: 'cancelled' };
  if (previous.state === 'resolved') return { next: previous, transition: 'none' };
  return { next: { ...previous, state: 'resolved', resolvedAt: now }, transition: 'resolved' };
}
