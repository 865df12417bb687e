import { labelsKey, type AlertInstance, type Labels } from '../core/index.js';
import type { AlertingRule, RecordingRule, RuleGroupSpec } from './ruleGroups.js';

/** Health of one rule after its last evaluation, in the shape of Prometheus's rules API. */
export interface RuleHealth {
  health: 'ok' | 'err' | 'unknown';
  lastError: string;
  warnings: string[];
  lastEvaluationMs: number | null;
  evaluationMs: number;
  emptyEvaluations: number;
}

/** What the manager keeps per rule; carried over a reload when the group keeps a rule of that name and labels. */
export interface RuleState {
  group: RuleGroupSpec;
  rule: AlertingRule | RecordingRule;
  /** Pending and firing alerts by fingerprint. */
  alerts: Map<string, AlertInstance>;
  /** Series written at the last successful evaluation, so the ones that vanish get a staleness marker. */
  written: Map<string, Labels>;
  readonly health: RuleHealth;
}

/** Identifies a group across reloads: its file and name. */
export function groupKey(group: RuleGroupSpec): string {
  return `${group.file}\0${group.name}`;
}

/** Identifies one of swas's own alerts about a group. */
export function groupAlertKey(alertname: string, group: RuleGroupSpec): string {
  return `${alertname}\0${groupKey(group)}`;
}

/** Identifies a rule across reloads: its group, kind, name and labels. */
export function ruleKey(
  group: RuleGroupSpec,
  rule: Pick<AlertingRule | RecordingRule, 'kind' | 'name' | 'labels'>,
): string {
  return `${groupKey(group)}\0${rule.kind}\0${rule.name}\0${labelsKey(rule.labels)}`;
}

/**
 * The rule states for a new set of groups: a rule that stays keeps its state (with its new spec), a new rule
 * starts afresh, and the rules of a group that is now broken keep theirs unchanged, so their alerts wait for the fix.
 */
export function nextRuleStates(
  groups: readonly RuleGroupSpec[],
  previous: ReadonlyMap<string, RuleState>,
): Map<string, RuleState> {
  const next = new Map<string, RuleState>();
  for (const group of groups) {
    for (const rule of group.rules) {
      const kept = previous.get(ruleKey(group, rule));
      next.set(ruleKey(group, rule), kept ? Object.assign(kept, { group, rule }) : newRuleState(group, rule));
    }
  }
  keepBrokenRuleStates(groups, previous, next);
  return next;
}

/** Carries the state of rules whose group is now broken into `next` unchanged, so their alerts wait for the fix. */
function keepBrokenRuleStates(
  groups: readonly RuleGroupSpec[],
  previous: ReadonlyMap<string, RuleState>,
  next: Map<string, RuleState>,
): void {
  for (const group of groups) {
    if (group.broken === undefined) continue;
    const { wholeFile, rules } = group.broken;
    for (const [key, kept] of previous) {
      const same = wholeFile
        ? kept.group.file === group.file
        : rules.some((rule) => ruleKey(group, rule) === key);
      if (same && !next.has(key)) next.set(key, kept);
    }
  }
}

/** The state of a rule not evaluated yet. */
export function newRuleState(group: RuleGroupSpec, rule: AlertingRule | RecordingRule): RuleState {
  return {
    group,
    rule,
    alerts: new Map(),
    written: new Map(),
    health: {
      health: 'unknown',
      lastError: '',
      warnings: [],
      lastEvaluationMs: null,
      evaluationMs: 0,
      emptyEvaluations: 0,
    },
  };
}
