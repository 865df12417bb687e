import { Counter, Gauge, type Registry } from 'prom-client';

/** The rule manager's own metrics. */
export interface RuleMetrics {
  readonly evaluations: Counter;
  readonly failures: Counter;
  readonly missed: Counter;
  readonly lastDuration: Gauge;
  readonly brokenGroups: Gauge;
}

/** Creates the rule manager's metrics, registered in `registry` when there is one. */
export function createRuleMetrics(registry: Registry | undefined): RuleMetrics {
  const registers = registry ? [registry] : [];
  return {
    evaluations: new Counter({
      name: 'swas_rule_evaluations_total',
      help: 'Rule evaluations.',
      labelNames: ['group'],
      registers,
    }),
    failures: new Counter({
      name: 'swas_rule_evaluation_failures_total',
      help: 'Rule evaluations that failed.',
      labelNames: ['group'],
      registers,
    }),
    missed: new Counter({
      name: 'swas_rule_group_iterations_missed_total',
      help: 'Group evaluations skipped because the previous one overran its interval.',
      labelNames: ['group'],
      registers,
    }),
    lastDuration: new Gauge({
      name: 'swas_rule_group_last_duration_seconds',
      help: 'How long the last evaluation of a group took.',
      labelNames: ['group'],
      registers,
    }),
    brokenGroups: new Gauge({
      name: 'swas_rule_groups_broken',
      help: 'Rule groups that could not be loaded and are not evaluated (see /api/v1/rules).',
      registers,
    }),
  };
}
