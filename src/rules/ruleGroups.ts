import type { LoadedRuleFile } from '../config/index.js';
import type { Labels } from '../core/index.js';

/** An alerting rule ready to evaluate. */
export interface AlertingRule {
  readonly kind: 'alerting';
  readonly name: string;
  readonly expr: string;
  readonly forMs: number;
  readonly keepFiringForMs: number;
  readonly labels: Labels;
  readonly annotations: Readonly<Record<string, string>>;
}

/** A recording rule ready to evaluate. */
export interface RecordingRule {
  readonly kind: 'recording';
  readonly name: string;
  readonly expr: string;
  readonly labels: Labels;
}

/** A rule group: evaluated together, in order, at one interval. */
export interface RuleGroupSpec {
  readonly name: string;
  readonly file: string;
  readonly intervalMs: number;
  /** Max alerts (or recorded series) per rule; 0 = no limit. */
  readonly limit: number;
  readonly rules: readonly (AlertingRule | RecordingRule)[];
}

/** Turns loaded rule files into evaluable groups, applying the default interval. */
export function compileRuleGroups(
  files: readonly LoadedRuleFile[],
  defaultIntervalMs: number,
): RuleGroupSpec[] {
  return files.flatMap((file) =>
    file.groups.map((group) => ({
      name: group.name,
      file: file.file,
      intervalMs: group.interval ?? defaultIntervalMs,
      limit: group.limit,
      rules: group.rules.map((rule): AlertingRule | RecordingRule =>
        'alert' in rule
          ? {
              kind: 'alerting',
              name: rule.alert,
              expr: rule.expr,
              forMs: rule.for,
              keepFiringForMs: rule.keep_firing_for,
              labels: rule.labels,
              annotations: rule.annotations,
            }
          : { kind: 'recording', name: rule.record, expr: rule.expr, labels: rule.labels },
      ),
    })),
  );
}
