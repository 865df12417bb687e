import type { AlertInstance, Labels, SampleAppender } from '../core/index.js';
import type { MetricsQuery } from '../promql/index.js';
import { evaluateAlertingRule } from './alertInstances.js';
import { evaluateRecordingRule, writeRuleOutput } from './recording.js';
import type { AlertingRule, RecordingRule, RuleGroupSpec } from './ruleGroups.js';

export { asVector } from './recording.js';

/** A rule that failed at one evaluation; promtool stops a test group at the first tick with such errors. */
export interface RuleEvalError {
  readonly rule: string;
  readonly atMs: number;
  readonly message: string;
}

/** A firing alert as promtool compares it: labels and expanded annotations. */
export interface FiringAlert {
  readonly labels: Labels;
  readonly annotations: Labels;
}

interface RuleState {
  alerts: Map<string, AlertInstance>;
  /** Series this rule wrote at its last evaluation, so the ones that vanish get a staleness marker. */
  written: Map<string, Labels>;
}

/**
 * Evaluates rule groups tick by tick against a store, as Prometheus's rule manager does for unit tests, through
 * the same rule evaluation as the rule manager: recording rules write their results (read by later rules),
 * alerting rules keep state (with `resolve_when` and `min_firing_for`) and write `ALERTS` / `ALERTS_FOR_STATE`,
 * and series a rule stops producing are marked stale.
 */
export class UnitTestEvaluator {
  private readonly states = new Map<AlertingRule | RecordingRule, RuleState>();

  constructor(
    private readonly groups: readonly RuleGroupSpec[],
    private readonly query: MetricsQuery,
    private readonly appender: SampleAppender,
    /** `$externalLabels` and `$externalURL` in alert templates (the test group's `external_labels`, `external_url`). */
    private readonly external: { labels: Labels; url: string } = { labels: {}, url: '' },
  ) {}

  /** Evaluates every group once at `atMs`, in order; returns the rules that failed. */
  async evaluateAt(atMs: number): Promise<RuleEvalError[]> {
    const errors: RuleEvalError[] = [];
    for (const group of this.groups) {
      const context = {
        query: this.query,
        at: atMs,
        evalMs: atMs - group.queryOffsetMs,
        limit: group.limit,
        externalLabels: this.external.labels,
        externalURL: this.external.url,
      };
      for (const rule of group.rules) {
        const state = this.stateOf(rule);
        const outcome =
          rule.kind === 'alerting'
            ? await evaluateAlertingRule(rule, context, state.alerts)
            : await evaluateRecordingRule(rule, context);
        if ('steps' in outcome) {
          const alerts = new Map(state.alerts);
          for (const { fingerprint, next } of outcome.steps) {
            if (next === undefined || next.state === 'resolved') alerts.delete(fingerprint);
            else alerts.set(fingerprint, next);
          }
          state.alerts = alerts;
        }
        if (outcome.ok)
          state.written = writeRuleOutput(this.appender, state.written, outcome.series, context.evalMs);
        else errors.push({ rule: rule.name, atMs, message: outcome.error });
      }
    }
    return errors;
  }

  /** The firing instances of every alerting rule called `alertname`, across all groups. */
  firingAlerts(alertname: string): FiringAlert[] {
    const out: FiringAlert[] = [];
    for (const [rule, state] of this.states) {
      if (rule.kind !== 'alerting' || rule.name !== alertname) continue;
      for (const alert of state.alerts.values()) {
        if (alert.state === 'firing') out.push({ labels: alert.labels, annotations: alert.annotations });
      }
    }
    return out;
  }

  private stateOf(rule: AlertingRule | RecordingRule): RuleState {
    let state = this.states.get(rule);
    if (state === undefined) {
      state = { alerts: new Map(), written: new Map() };
      this.states.set(rule, state);
    }
    return state;
  }
}
