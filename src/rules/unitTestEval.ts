import {
  advanceAlert,
  labelsKey,
  METRIC_NAME_LABEL,
  STALE_NAN,
  type AlertInstance,
  type Labels,
  type SampleAppender,
} from '../core/index.js';
import type { MetricsQuery, QueryOutcome } from '../promql/index.js';
import { observeAlerts } from './alertInstances.js';
import type { AlertingRule, RecordingRule, RuleGroupSpec } from './ruleGroups.js';

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
  readonly alerts: Map<string, AlertInstance>;
  /** Series this rule wrote at its last evaluation, so the ones that vanish get a staleness marker. */
  written: Map<string, Labels>;
}

/**
 * Evaluates rule groups tick by tick against a store, as Prometheus's rule manager does for unit tests:
 * recording rules write their results (read by later rules), alerting rules keep state through `advanceAlert`
 * and write `ALERTS` / `ALERTS_FOR_STATE`, and series a rule stops producing are marked stale.
 */
export class UnitTestEvaluator {
  private readonly states = new Map<AlertingRule | RecordingRule, RuleState>();

  constructor(
    private readonly groups: readonly RuleGroupSpec[],
    private readonly query: MetricsQuery,
    private readonly appender: SampleAppender,
  ) {}

  /** Evaluates every group once at `atMs`, in order; returns the rules that failed. */
  async evaluateAt(atMs: number): Promise<RuleEvalError[]> {
    const errors: RuleEvalError[] = [];
    for (const group of this.groups) {
      for (const rule of group.rules) {
        const state = this.stateOf(rule);
        const written = new Map<string, Labels>();
        const error =
          rule.kind === 'alerting'
            ? await this.evaluateAlerting(rule, state, atMs, written)
            : await this.evaluateRecording(rule, atMs, written);
        for (const [key, labels] of state.written) {
          if (!written.has(key)) this.appender.append(labels, atMs, STALE_NAN);
        }
        state.written = written;
        if (error !== null) errors.push({ rule: rule.name, atMs, message: error });
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

  private async evaluateRecording(
    rule: RecordingRule,
    atMs: number,
    written: Map<string, Labels>,
  ): Promise<string | null> {
    const result = asVector(await this.query.instant(rule.expr, atMs));
    if (typeof result === 'string') return result;
    const out = result.map((s) => ({
      labels: { ...s.labels, ...rule.labels, [METRIC_NAME_LABEL]: rule.name },
      value: s.value,
    }));
    for (const sample of out) {
      const key = labelsKey(sample.labels);
      if (written.has(key))
        return 'vector contains metrics with the same labelset after applying rule labels';
      written.set(key, sample.labels);
    }
    for (const sample of out) this.appender.append(sample.labels, atMs, sample.value);
    return null;
  }

  private async evaluateAlerting(
    rule: AlertingRule,
    state: RuleState,
    atMs: number,
    written: Map<string, Labels>,
  ): Promise<string | null> {
    const result = asVector(await this.query.instant(rule.expr, atMs));
    if (typeof result === 'string') return result;
    const observed = observeAlerts(
      rule,
      result.map((s) => ({ ...s, t: atMs })),
    );
    if (observed.size !== result.length)
      return 'vector contains metrics with the same labelset after applying alert labels';
    const timing = { forMs: rule.forMs, keepFiringForMs: rule.keepFiringForMs };
    for (const fp of new Set([...observed.keys(), ...state.alerts.keys()])) {
      const { next } = advanceAlert(
        state.alerts.get(fp),
        observed.get(fp) ?? { present: false },
        { fingerprint: fp, rule: rule.name },
        timing,
        atMs,
      );
      if (next === undefined || next.state === 'resolved') state.alerts.delete(fp);
      else state.alerts.set(fp, next);
    }
    for (const alert of state.alerts.values()) {
      const alerts = { ...alert.labels, [METRIC_NAME_LABEL]: 'ALERTS', alertstate: alert.state };
      const forState = { ...alert.labels, [METRIC_NAME_LABEL]: 'ALERTS_FOR_STATE' };
      this.appender.append(alerts, atMs, 1);
      this.appender.append(forState, atMs, alert.activeAt / 1000);
      written.set(labelsKey(alerts), alerts);
      written.set(labelsKey(forState), forState);
    }
    return null;
  }
}

/** Prometheus's rule query function: a scalar becomes a one-sample vector without labels. */
export function asVector(outcome: QueryOutcome): { labels: Labels; value: number }[] | string {
  if (!outcome.ok) return outcome.error.message;
  const value = outcome.value;
  if (value.resultType === 'vector') return value.result.map((s) => ({ labels: s.labels, value: s.value }));
  if (value.resultType === 'scalar') return [{ labels: {}, value: value.result[1] }];
  return 'rule result is not a vector or scalar';
}
