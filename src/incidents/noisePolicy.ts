import type { AlertInstance } from '../core/index.js';
import type { SwasConfig } from '../config/index.js';
import type { Silence } from '../store/index.js';
import {
  compileMatcherTexts,
  findInhibition,
  findMaintenance,
  findSilence,
  type InhibitRule,
  type MaintenanceWindow,
} from './alertMatchers.js';
import { parseCron, timeZoneProblem } from '../core/index.js';

/** How the incident manager keeps noise down: group_wait, inhibition and maintenance windows, compiled. */
export interface NoisePolicy {
  /** @default 0 */
  readonly groupWaitMs: number;
  readonly inhibitRules: readonly InhibitRule[];
  readonly maintenanceWindows: readonly MaintenanceWindow[];
}

/** No grouping delay, no inhibition, no maintenance windows. */
export const DEFAULT_NOISE_POLICY: NoisePolicy = Object.freeze({
  groupWaitMs: 0,
  inhibitRules: [],
  maintenanceWindows: [],
});

/** One problem in `incidents:`; `field` is the dotted path, e.g. `incidents.maintenance_windows[0].schedule`. */
export interface NoisePolicyProblem {
  readonly field: string;
  readonly message: string;
}

/** Compiles the `incidents:` section; every problem is reported with its field path. */
export function compileNoisePolicy(
  incidents: SwasConfig['incidents'],
): { ok: true; policy: NoisePolicy } | { ok: false; problems: NoisePolicyProblem[] } {
  const problems: NoisePolicyProblem[] = [];
  const matchers = (texts: readonly string[], field: string) => {
    const compiled = compileMatcherTexts(texts);
    if (compiled.ok) return compiled.matchers;
    problems.push({ field: `${field}[${compiled.index}]`, message: compiled.error });
    return [];
  };
  const inhibitRules = incidents.inhibit_rules.map((rule, index): InhibitRule => {
    const at = `incidents.inhibit_rules[${index}]`;
    return {
      index,
      source: matchers(rule.source_matchers, `${at}.source_matchers`),
      target: matchers(rule.target_matchers, `${at}.target_matchers`),
      equal: rule.equal,
    };
  });
  const maintenanceWindows = incidents.maintenance_windows.flatMap((window, index): MaintenanceWindow[] => {
    const at = `incidents.maintenance_windows[${index}]`;
    const schedule = parseCron(window.schedule);
    if (!schedule.ok) problems.push({ field: `${at}.schedule`, message: schedule.error });
    const zone = timeZoneProblem(window.time_zone);
    if (zone !== null) problems.push({ field: `${at}.time_zone`, message: zone });
    const compiled = matchers(window.matchers, `${at}.matchers`);
    if (!schedule.ok || zone !== null) return [];
    return [
      {
        name: window.name,
        schedule: schedule.schedule,
        durationMs: window.duration,
        timeZone: window.time_zone,
        matchers: compiled,
      },
    ];
  });
  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    policy: Object.freeze({ groupWaitMs: incidents.group_wait, inhibitRules, maintenanceWindows }),
  };
}

/** Why a firing alert is kept from opening an incident, paging or starting runbooks. */
export type Suppression =
  | { readonly kind: 'silenced'; readonly silence: Silence }
  | { readonly kind: 'maintenance'; readonly window: MaintenanceWindow; readonly startedAt: number }
  | { readonly kind: 'inhibited'; readonly rule: InhibitRule; readonly source: AlertInstance };

/** What suppression decisions look at. */
export interface SuppressionContext {
  readonly policy: NoisePolicy;
  readonly silences: readonly Silence[];
  /** Firing alerts that may inhibit others. */
  readonly firing: Iterable<AlertInstance>;
  readonly at: number;
}

/**
 * Decides whether an alert is suppressed now: by a silence first, then a maintenance window, then (unless
 * `inhibition` is false) an inhibition rule.
 */
export function suppressionOf(
  alert: AlertInstance,
  context: SuppressionContext,
  inhibition = true,
): Suppression | null {
  const silence = findSilence(context.silences, alert.labels, context.at);
  if (silence !== null) return { kind: 'silenced', silence };
  const maintenance = findMaintenance(context.policy.maintenanceWindows, alert.labels, context.at);
  if (maintenance !== null) return { kind: 'maintenance', ...maintenance };
  if (!inhibition) return null;
  const inhibited = findInhibition(context.policy.inhibitRules, alert, context.firing);
  return inhibited === null ? null : { kind: 'inhibited', ...inhibited };
}

/** True when two suppressions are the same cause (same silence, window occurrence, or inhibiting alert). */
export function sameSuppression(a: Suppression, b: Suppression): boolean {
  if (a.kind === 'silenced' && b.kind === 'silenced') return a.silence.id === b.silence.id;
  if (a.kind === 'maintenance' && b.kind === 'maintenance')
    return a.window.name === b.window.name && a.startedAt === b.startedAt;
  if (a.kind === 'inhibited' && b.kind === 'inhibited')
    return a.source.fingerprint === b.source.fingerprint && a.rule.index === b.rule.index;
  return false;
}

/** A phrase for timelines: `silenced by silence #3 (db upgrade) until 2026-11-22T04:00:00.000Z`. */
export function describeSuppression(s: Suppression): string {
  switch (s.kind) {
    case 'silenced': {
      const comment = s.silence.comment === '' ? '' : ` (${s.silence.comment})`;
      return `silenced by silence #${s.silence.id}${comment} until ${new Date(s.silence.endsAt).toISOString()}`;
    }
    case 'maintenance':
      return `in maintenance window "${s.window.name}" until ${new Date(s.startedAt + s.window.durationMs).toISOString()}`;
    case 'inhibited':
      return `inhibited by ${s.source.rule}${labelContext(s.source)} (incidents.inhibit_rules[${s.rule.index}])`;
  }
}

/** The labels that tell people which thing an alert is about, as ` (pool=web, member=web-1)`. */
export function labelContext(alert: AlertInstance): string {
  const parts = ['pool', 'member', 'instance', 'service'].flatMap((n) =>
    alert.labels[n] ? [`${n}=${alert.labels[n]}`] : [],
  );
  return parts.length > 0 ? ` (${parts.join(', ')})` : '';
}

/** Names the cause alone, for "no longer …": `silenced by silence #3`. */
export function suppressionCause(s: Suppression): string {
  switch (s.kind) {
    case 'silenced':
      return `silenced by silence #${s.silence.id}`;
    case 'maintenance':
      return `in maintenance window "${s.window.name}"`;
    case 'inhibited':
      return `inhibited by ${s.source.rule}${labelContext(s.source)}`;
  }
}

/** The timeline kind for a suppression that ended: `silence.ended`, `maintenance.ended`, `inhibition.ended`. */
export function suppressionEndedKind(s: Suppression): string {
  return `${s.kind === 'silenced' ? 'silence' : s.kind === 'maintenance' ? 'maintenance' : 'inhibition'}.ended`;
}

/** Timeline data that links an entry to its silence, window or inhibiting alert. */
export function suppressionData(s: Suppression | undefined): Record<string, unknown> {
  if (s === undefined) return {};
  switch (s.kind) {
    case 'silenced':
      return { silenceId: s.silence.id };
    case 'maintenance':
      return { maintenanceWindow: s.window.name, windowStartedAt: s.startedAt };
    case 'inhibited':
      return { inhibitedBy: s.source.fingerprint, inhibitRule: s.rule.index };
  }
}
