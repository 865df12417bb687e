import {
  errorMessage,
  parseMatchers,
  type AlertInstance,
  type AlertMatcher,
  type Labels,
} from '../core/index.js';
import type { Silence } from '../store/index.js';
import { compileMatcher, matchesAll, type CompiledMatcher } from '../tsdb/index.js';
import { windowStartAt, type RecurringWindow } from '../core/index.js';

/** The outcome of compiling matcher texts: `index` names the text that failed. */
export type MatcherTextsParse =
  { ok: true; matchers: CompiledMatcher[] } | { ok: false; index: number; error: string };

/**
 * Compiles matchers written as Alertmanager strings (`severity="critical"`, `alertname=~"Host.*"`; one
 * text may hold several, comma-separated). Regexes are RE2, fully anchored.
 */
export function compileMatcherTexts(texts: readonly string[]): MatcherTextsParse {
  const matchers: CompiledMatcher[] = [];
  for (const [index, text] of texts.entries()) {
    const parsed = parseMatchers(text);
    if (!parsed.ok) return { ok: false, index, error: parsed.error };
    const compiled = compileAlertMatchers(parsed.matchers);
    if (!compiled.ok) return { ok: false, index, error: compiled.error };
    matchers.push(...compiled.matchers);
  }
  return { ok: true, matchers };
}

/** Compiles parsed matchers; an invalid regex is an error value naming the matcher. */
export function compileAlertMatchers(
  matchers: readonly AlertMatcher[],
): { ok: true; matchers: CompiledMatcher[] } | { ok: false; error: string } {
  try {
    return { ok: true, matchers: matchers.map((m) => compileMatcher(m)) };
  } catch (error) {
    return { ok: false, error: errorMessage(error) };
  }
}

/** True when every matcher holds for the labels (a missing label is the empty value). */
export function alertMatches(matchers: readonly CompiledMatcher[], labels: Labels): boolean {
  return matchesAll(matchers, labels);
}

/** An inhibition rule, Alertmanager's shape: firing sources mute targets that share the `equal` labels. */
export interface InhibitRule {
  /** Its position in `incidents.inhibit_rules`, for messages. */
  readonly index: number;
  readonly source: readonly CompiledMatcher[];
  readonly target: readonly CompiledMatcher[];
  readonly equal: readonly string[];
}

/** What inhibits an alert: the rule and the firing source alert. */
export interface Inhibition {
  readonly rule: InhibitRule;
  readonly source: AlertInstance;
}

/**
 * The first firing alert that inhibits `target`, or null. As Alertmanager: an alert never inhibits itself,
 * and an alert matching both sides of a rule is not inhibited by others that also match both sides.
 */
export function findInhibition(
  rules: readonly InhibitRule[],
  target: AlertInstance,
  firing: Iterable<AlertInstance>,
): Inhibition | null {
  const candidates = [...firing];
  for (const rule of rules) {
    if (!matchesAll(rule.target, target.labels)) continue;
    const twoSided = matchesAll(rule.source, target.labels);
    for (const source of candidates) {
      if (source.fingerprint === target.fingerprint || source.state !== 'firing') continue;
      if (!matchesAll(rule.source, source.labels)) continue;
      if (twoSided && matchesAll(rule.target, source.labels)) continue;
      if (rule.equal.every((name) => (source.labels[name] ?? '') === (target.labels[name] ?? '')))
        return { rule, source };
    }
  }
  return null;
}

/** True when a silence applies at `at`: started, not ended, not expired early. */
export function silenceActive(silence: Silence, at: number): boolean {
  return (
    silence.startsAt <= at && at < silence.endsAt && (silence.expiredAt === null || at < silence.expiredAt)
  );
}

// Stored silences were validated on the way in; one that still fails to compile silences nothing.
const compiledSilences = new WeakMap<Silence, readonly CompiledMatcher[] | null>();

/** The first silence active at `at` whose matchers all hold for the labels, or null. */
export function findSilence(silences: readonly Silence[], labels: Labels, at: number): Silence | null {
  for (const silence of silences) {
    if (!silenceActive(silence, at)) continue;
    let matchers = compiledSilences.get(silence);
    if (matchers === undefined) {
      const compiled = compileAlertMatchers(silence.matchers);
      matchers = compiled.ok ? compiled.matchers : null;
      compiledSilences.set(silence, matchers);
    }
    if (matchers !== null && matchers.length > 0 && matchesAll(matchers, labels)) return silence;
  }
  return null;
}

/** A maintenance window from `incidents.maintenance_windows`: a recurring silence. */
export interface MaintenanceWindow extends RecurringWindow {
  readonly name: string;
  readonly matchers: readonly CompiledMatcher[];
}

/** The first maintenance window open at `at` whose matchers hold for the labels, with when it started. */
export function findMaintenance(
  windows: readonly MaintenanceWindow[],
  labels: Labels,
  at: number,
): { window: MaintenanceWindow; startedAt: number } | null {
  for (const window of windows) {
    if (!matchesAll(window.matchers, labels)) continue;
    const startedAt = windowStartAt(window, at);
    if (startedAt !== null) return { window, startedAt };
  }
  return null;
}
