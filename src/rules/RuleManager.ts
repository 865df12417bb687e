import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import {
  advanceAlert,
  errorMessage,
  type AlertInstance,
  type AlertTransition,
  type SampleAppender,
} from '../core/index.js';
import type { MetricsQuery } from '../promql/index.js';
import { observeAlerts } from './alertInstances.js';
import { evaluateRecordingRule } from './recording.js';
import type { AlertingRule, RecordingRule, RuleGroupSpec } from './ruleGroups.js';

/** A transition of one alert instance that the rest of swas reacts to. */
export interface AlertChange {
  readonly transition: Exclude<AlertTransition, 'none' | 'renewed'>;
  readonly alert: AlertInstance;
  readonly at: number;
}

/** Where alert state is kept across restarts. */
export interface AlertStatePort {
  loadActive(): Promise<AlertInstance[]>;
  save(alert: AlertInstance, now: number): Promise<void>;
}

/** Health of one rule after its last evaluation, in the shape of Prometheus's rules API. */
export interface RuleHealth {
  health: 'ok' | 'err' | 'unknown';
  lastError: string;
  warnings: string[];
  lastEvaluationMs: number | null;
  evaluationMs: number;
  emptyEvaluations: number;
}

/** Options for {@link RuleManager.create}. */
export interface RuleManagerOptions {
  readonly query: MetricsQuery;
  readonly appender: SampleAppender;
  readonly alertState: AlertStatePort;
  readonly onAlertChange: (change: AlertChange) => Promise<void>;
  readonly logger: Logger;
  readonly registry?: Registry;
  /** @default Date.now */
  readonly now?: () => number;
}

// After this many empty evaluations, check whether the rule names metrics nobody exposes.
const UNKNOWN_METRIC_CHECK_AFTER = 3;

/** Evaluates rule groups on their intervals, keeps alert state, and reports alert transitions. */
export class RuleManager {
  private groups: RuleGroupSpec[] = [];
  /** Pending and firing alerts by rule, then fingerprint: an evaluation touches only its own rule's. */
  private readonly alerts = new Map<string, Map<string, AlertInstance>>();
  private readonly health = new Map<string, RuleHealth>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly now: () => number;
  private running = false;
  private readonly evaluations: Counter;
  private readonly failures: Counter;
  private readonly missed: Counter;
  private readonly lastDuration: Gauge;

  private constructor(private readonly options: RuleManagerOptions) {
    this.now = options.now ?? Date.now;
    const registers = options.registry ? [options.registry] : [];
    this.evaluations = new Counter({
      name: 'swas_rule_evaluations_total',
      help: 'Rule evaluations.',
      labelNames: ['group'],
      registers,
    });
    this.failures = new Counter({
      name: 'swas_rule_evaluation_failures_total',
      help: 'Rule evaluations that failed.',
      labelNames: ['group'],
      registers,
    });
    this.missed = new Counter({
      name: 'swas_rule_group_iterations_missed_total',
      help: 'Group evaluations skipped because the previous one overran its interval.',
      labelNames: ['group'],
      registers,
    });
    this.lastDuration = new Gauge({
      name: 'swas_rule_group_last_duration_seconds',
      help: 'How long the last evaluation of a group took.',
      labelNames: ['group'],
      registers,
    });
  }

  /** Builds a manager; call {@link restore} then {@link start}. */
  static create(options: RuleManagerOptions): RuleManager {
    return new RuleManager(options);
  }

  /** Reloads alert state saved before a restart, so `for` timers continue and firing alerts are not new. */
  async restore(): Promise<number> {
    const restored = await this.options.alertState.loadActive();
    for (const alert of restored) this.alertsOf(alert.rule).set(alert.fingerprint, alert);
    return restored.length;
  }

  /** Replaces the rule groups (start-up and reload); alerts of rules that no longer exist are resolved. */
  async setGroups(groups: readonly RuleGroupSpec[]): Promise<void> {
    this.groups = [...groups];
    const names = new Set(
      groups.flatMap((g) => g.rules.filter((r) => r.kind === 'alerting').map((r) => r.name)),
    );
    for (const alert of this.activeAlerts()) {
      if (!names.has(alert.rule))
        await this.apply(
          alert.fingerprint,
          alert,
          { present: false },
          { forMs: 0, keepFiringForMs: 0 },
          this.now(),
        );
    }
    if (this.running) {
      this.stopTimers();
      this.scheduleAll();
    }
  }

  /** Starts evaluating every group on its interval. */
  start(): void {
    this.running = true;
    this.scheduleAll();
  }

  /** Stops scheduling and waits for evaluations in flight. */
  async stop(): Promise<void> {
    this.running = false;
    this.stopTimers();
    await Promise.allSettled([...this.inFlight]);
  }

  /** Alerts that are pending or firing now. */
  activeAlerts(): AlertInstance[] {
    return [...this.alerts.values()].flatMap((byFingerprint) => [...byFingerprint.values()]);
  }

  /** The groups with each rule's health, for the rules API. */
  status(): {
    group: RuleGroupSpec;
    rules: { rule: AlertingRule | RecordingRule; health: RuleHealth; alerts: AlertInstance[] }[];
  }[] {
    return this.groups.map((group) => ({
      group,
      rules: group.rules.map((rule) => ({
        rule,
        health: this.healthOf(group, rule),
        alerts: rule.kind === 'alerting' ? [...(this.alerts.get(rule.name)?.values() ?? [])] : [],
      })),
    }));
  }

  /** Evaluates one group once at `at` (the scheduler's tick; also used by tests). */
  async evaluateGroup(group: RuleGroupSpec, at: number): Promise<void> {
    const started = performance.now();
    for (const rule of group.rules) {
      const ruleStarted = performance.now();
      const health = this.healthOf(group, rule);
      this.evaluations.inc({ group: group.name });
      try {
        const error =
          rule.kind === 'alerting'
            ? await this.evaluateAlertingRule(group, rule, at, health)
            : await evaluateRecordingRule(rule, group.limit, at, this.options.query, this.options.appender);
        health.health = error === null ? 'ok' : 'err';
        health.lastError = error ?? '';
      } catch (thrown) {
        health.health = 'err';
        health.lastError = errorMessage(thrown);
      }
      if (health.health === 'err') {
        this.failures.inc({ group: group.name });
        this.options.logger.warn(
          { group: group.name, rule: rule.name, error: health.lastError },
          'rule evaluation failed',
        );
      }
      health.lastEvaluationMs = at;
      health.evaluationMs = performance.now() - ruleStarted;
    }
    this.lastDuration.set({ group: group.name }, (performance.now() - started) / 1000);
  }

  private async evaluateAlertingRule(
    group: RuleGroupSpec,
    rule: AlertingRule,
    at: number,
    health: RuleHealth,
  ): Promise<string | null> {
    const outcome = await this.options.query.instant(rule.expr, at);
    if (!outcome.ok) return outcome.error.message;
    const value = outcome.value;
    // As Prometheus: a scalar result is one sample without labels.
    const samples =
      value.resultType === 'vector'
        ? value.result
        : value.resultType === 'scalar'
          ? [{ labels: {}, value: value.result[1], t: value.result[0] }]
          : null;
    if (samples === null)
      return `an alerting rule must return a vector or a scalar, got a ${value.resultType}`;
    const observed = observeAlerts(rule, samples);
    if (group.limit > 0 && observed.size > group.limit)
      return `${observed.size} alerts exceed the group's limit of ${group.limit}`;
    await this.checkUnknownMetrics(group, rule, observed.size, health);
    const timing = { forMs: rule.forMs, keepFiringForMs: rule.keepFiringForMs };
    const current = this.alertsOf(rule.name);
    for (const fp of new Set([...observed.keys(), ...current.keys()]))
      await this.apply(fp, current.get(fp), observed.get(fp) ?? { present: false }, timing, at);
    for (const alert of current.values()) {
      this.options.appender.append({ __name__: 'ALERTS', ...alert.labels, alertstate: alert.state }, at, 1);
    }
    return null;
  }

  private async apply(
    fingerprint: string,
    previous: AlertInstance | undefined,
    observation: Parameters<typeof advanceAlert>[1],
    timing: { forMs: number; keepFiringForMs: number },
    at: number,
  ): Promise<void> {
    const rule = previous?.rule ?? (observation.present ? (observation.labels.alertname ?? '') : '');
    const { next, transition } = advanceAlert(previous, observation, { fingerprint, rule }, timing, at);
    if (next === undefined || next.state === 'resolved') this.alertsOf(rule).delete(fingerprint);
    else this.alertsOf(rule).set(fingerprint, next);
    if (transition === 'none' || transition === 'renewed') return;
    const alert = next ?? previous;
    if (alert === undefined) return;
    await this.options.alertState.save(
      transition === 'cancelled' ? { ...alert, state: 'resolved', resolvedAt: at } : alert,
      at,
    );
    try {
      await this.options.onAlertChange({ transition, alert, at });
    } catch (error) {
      this.options.logger.error({ err: error, alert: alert.labels }, 'handling an alert change failed');
    }
  }

  private async checkUnknownMetrics(
    group: RuleGroupSpec,
    rule: AlertingRule,
    observed: number,
    health: RuleHealth,
  ): Promise<void> {
    if (observed > 0) {
      health.emptyEvaluations = 0;
      health.warnings = [];
      return;
    }
    health.emptyEvaluations += 1;
    if (health.emptyEvaluations !== UNKNOWN_METRIC_CHECK_AFTER) return;
    const unknown = await this.options.query.unknownMetrics(rule.expr);
    if (unknown.length === 0) return;
    health.warnings = [
      `no target exposes ${unknown.map((m) => `"${m}"`).join(', ')}; check the metric name in ${group.file}`,
    ];
    this.options.logger.warn(
      { group: group.name, rule: rule.name, metrics: unknown },
      `rule ${rule.name} names metrics no target exposes`,
    );
  }

  private alertsOf(rule: string): Map<string, AlertInstance> {
    let byFingerprint = this.alerts.get(rule);
    if (byFingerprint === undefined)
      this.alerts.set(rule, (byFingerprint = new Map<string, AlertInstance>()));
    return byFingerprint;
  }

  private healthOf(group: RuleGroupSpec, rule: AlertingRule | RecordingRule): RuleHealth {
    const key = `${group.file}\0${group.name}\0${rule.name}`;
    let health = this.health.get(key);
    if (health === undefined) {
      health = {
        health: 'unknown',
        lastError: '',
        warnings: [],
        lastEvaluationMs: null,
        evaluationMs: 0,
        emptyEvaluations: 0,
      };
      this.health.set(key, health);
    }
    return health;
  }

  private scheduleAll(): void {
    for (const group of this.groups) this.schedule(group, this.now());
  }

  // Ticks stay on a fixed grid from the first one, so evaluation does not drift; overruns skip ticks and count them.
  private schedule(group: RuleGroupSpec, tick: number): void {
    const key = `${group.file}\0${group.name}`;
    const delay = Math.max(0, tick - this.now());
    this.timers.set(
      key,
      setTimeout(() => {
        if (!this.running) return;
        const evaluation = this.evaluateGroup(group, tick).finally(() => {
          this.inFlight.delete(evaluation);
          if (!this.running) return;
          let next = tick + group.intervalMs;
          const now = this.now();
          if (now >= next) {
            const skipped = Math.floor((now - next) / group.intervalMs) + 1;
            this.missed.inc({ group: group.name }, skipped);
            next += skipped * group.intervalMs;
          }
          this.schedule(group, next);
        });
        this.inFlight.add(evaluation);
      }, delay),
    );
  }

  private stopTimers(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }
}
