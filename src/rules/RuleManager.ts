import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import {
  advanceAlert,
  alertFingerprint,
  dropAlert,
  errorMessage,
  labelsKey,
  type AlertInstance,
  type AlertObservation,
  type AlertTransition,
  type Labels,
  type SampleAppender,
} from '../core/index.js';
import type { MetricsQuery } from '../promql/index.js';
import { evaluateAlertingRule, type AlertInstanceStep } from './alertInstances.js';
import { evaluateRecordingRule, markStale, writeRuleOutput } from './recording.js';
import {
  brokenObservation,
  GROUP_BROKEN_ALERT,
  GROUP_OVERRUN_ALERT,
  groupAlertLabels,
  overrunObservation,
  withDeadline,
  type AlertingRule,
  type RecordingRule,
  type RuleGroupSpec,
} from './ruleGroups.js';

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
  /** A group's SwasRuleGroupOverrun alert resolves once the group has run on time for this many intervals. @default 10 */
  readonly overrunResolveIntervals?: number;
  /** `$externalLabels` and `$externalURL` in alert templates; replaced on reload with {@link setTemplateData}. */
  readonly externalLabels?: Labels;
  readonly externalURL?: string;
}

// After this many empty evaluations, check whether the rule names metrics nobody exposes.
const UNKNOWN_METRIC_CHECK_AFTER = 3;

/** What the manager keeps per rule; carried over a reload when the group keeps a rule of that name and labels. */
interface RuleState {
  group: RuleGroupSpec;
  rule: AlertingRule | RecordingRule;
  /** Pending and firing alerts by fingerprint. */
  alerts: Map<string, AlertInstance>;
  /** Series written at the last successful evaluation, so the ones that vanish get a staleness marker. */
  written: Map<string, Labels>;
  readonly health: RuleHealth;
}

/** Evaluates rule groups on their intervals, keeps alert state, and reports alert transitions. */
export class RuleManager {
  private groups: RuleGroupSpec[] = [];
  private rules = new Map<string, RuleState>();
  /** swas's own alerts about groups (SwasRuleGroupOverrun, SwasRuleGroupBroken) while pending or firing, by alert and group. */
  private readonly groupAlerts = new Map<string, AlertInstance>();
  /** Alerts restored at start-up that no rule has taken over yet. */
  private readonly unclaimed = new Map<string, AlertInstance>();
  private readonly evaluatedSinceRestore = new Set<string>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly now: () => number;
  private running = false;
  /** Bumped on every (re)schedule, so an evaluation in flight from before a reload does not schedule again. */
  private generation = 0;
  private readonly evaluations: Counter;
  private readonly failures: Counter;
  private readonly missed: Counter;
  private readonly lastDuration: Gauge;
  private readonly brokenGroups: Gauge;

  private external: { labels: Labels; url: string };

  private constructor(private readonly options: RuleManagerOptions) {
    this.now = options.now ?? Date.now;
    this.external = { labels: options.externalLabels ?? {}, url: options.externalURL ?? '' };
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
    this.brokenGroups = new Gauge({
      name: 'swas_rule_groups_broken',
      help: 'Rule groups that could not be loaded and are not evaluated (see /api/v1/rules).',
      registers,
    });
  }

  /** Builds a manager; call {@link restore} then {@link start}. */
  static create(options: RuleManagerOptions): RuleManager {
    return new RuleManager(options);
  }

  /** Sets what templates see as `$externalLabels` and `$externalURL` (start-up and reload). */
  setTemplateData(externalLabels: Labels, externalURL: string): void {
    this.external = { labels: externalLabels, url: externalURL };
  }

  /**
   * Reloads alert state saved before a restart, so `for` timers continue and firing alerts are not new. Each rule
   * takes over the restored alerts of its name at its first evaluation; those no rule takes over by the time every
   * group has run once are resolved.
   */
  async restore(): Promise<number> {
    const restored = await this.options.alertState.loadActive();
    for (const alert of restored) this.unclaimed.set(alert.fingerprint, alert);
    this.evaluatedSinceRestore.clear();
    return restored.length;
  }

  /**
   * Replaces the rule groups (start-up and reload). A rule that stays (same file, group, name and labels) keeps its
   * alerts; alerts of rules that are gone are resolved and their series marked stale. A rule of a broken group keeps
   * its alerts as they were, unevaluated, until the group is fixed: a typo is not a recovery.
   */
  async setGroups(groups: readonly RuleGroupSpec[]): Promise<void> {
    const at = this.now();
    const next = new Map<string, RuleState>();
    for (const group of groups) {
      for (const rule of group.rules) {
        const kept = this.rules.get(ruleKey(group, rule));
        next.set(
          ruleKey(group, rule),
          kept ? Object.assign(kept, { group, rule }) : newRuleState(group, rule),
        );
      }
    }
    keepBrokenRuleStates(groups, this.rules, next);
    const removed = [...this.rules].filter(([key]) => !next.has(key)).map(([, state]) => state);
    this.groups = [...groups];
    this.rules = next;
    for (const state of removed) {
      markStale(this.options.appender, state.written, at - state.group.queryOffsetMs);
      for (const alert of state.alerts.values()) await this.drop(alert, at);
    }
    // An overrun alert lasts while its group is evaluated; a broken alert while its group stays broken.
    const keep = new Set(
      groups.map((g) => groupAlertKey(g.broken ? GROUP_BROKEN_ALERT : GROUP_OVERRUN_ALERT, g)),
    );
    for (const [key, alert] of this.groupAlerts) {
      if (keep.has(key)) continue;
      this.groupAlerts.delete(key);
      await this.drop(alert, at);
    }
    const names = new Set([
      GROUP_OVERRUN_ALERT,
      GROUP_BROKEN_ALERT,
      ...groups.flatMap((g) => [...g.rules, ...(g.broken?.rules ?? [])].map((r) => r.name)),
    ]);
    for (const alert of [...this.unclaimed.values()].filter((a) => !names.has(a.rule))) {
      this.unclaimed.delete(alert.fingerprint);
      await this.drop(alert, at);
    }
    const broken = groups.filter((g) => g.broken !== undefined);
    this.brokenGroups.set(broken.length);
    for (const group of broken) {
      await this.trackGroupAlert(GROUP_BROKEN_ALERT, group, brokenObservation(group), 0, at);
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

  /** Alerts that are pending or firing now, including swas's own about overrunning and broken groups. */
  activeAlerts(): AlertInstance[] {
    return [
      ...[...this.rules.values()].flatMap((state) => [...state.alerts.values()]),
      ...this.groupAlerts.values(),
      ...this.unclaimed.values(),
    ];
  }

  /** The groups with each rule's health, for the rules API; a broken group has no rules here, see `group.broken`. */
  status(): {
    group: RuleGroupSpec;
    rules: { rule: AlertingRule | RecordingRule; health: RuleHealth; alerts: AlertInstance[] }[];
  }[] {
    return this.groups.map((group) => ({
      group,
      rules: group.rules.map((rule) => {
        const state = this.stateOf(group, rule);
        return { rule, health: state.health, alerts: [...state.alerts.values()] };
      }),
    }));
  }

  /** Evaluates one group once at `at` (the scheduler's tick; also used by tests). */
  async evaluateGroup(group: RuleGroupSpec, at: number): Promise<void> {
    const started = performance.now();
    const query = withDeadline(this.options.query, group.intervalMs);
    for (const rule of group.rules) {
      const state = this.stateOf(group, rule);
      const ruleStarted = performance.now();
      this.evaluations.inc({ group: group.name });
      let error: string | null;
      try {
        error = await this.evaluateRule(state, query, at);
      } catch (thrown) {
        error = errorMessage(thrown);
      }
      this.recordHealth(state, error, at, performance.now() - ruleStarted);
    }
    this.lastDuration.set({ group: group.name }, (performance.now() - started) / 1000);
    this.evaluatedSinceRestore.add(groupKey(group));
    await this.resolveUnclaimed(at);
  }

  private async evaluateRule(state: RuleState, query: MetricsQuery, at: number): Promise<string | null> {
    const { group, rule } = state;
    const context = {
      query,
      at,
      evalMs: at - group.queryOffsetMs,
      limit: group.limit,
      externalLabels: this.external.labels,
      externalURL: this.external.url,
    };
    if (rule.kind === 'recording') {
      const outcome = await evaluateRecordingRule(rule, context);
      if (!outcome.ok) return outcome.error;
      state.written = writeRuleOutput(this.options.appender, state.written, outcome.series, context.evalMs);
      return null;
    }
    this.claimRestored(rule, state);
    const outcome = await evaluateAlertingRule(rule, context, state.alerts);
    const alerts = new Map(state.alerts);
    for (const { fingerprint, next } of outcome.steps) {
      if (next === undefined || next.state === 'resolved') alerts.delete(fingerprint);
      else alerts.set(fingerprint, next);
    }
    state.alerts = alerts;
    for (const step of outcome.steps) await this.apply(step, at);
    if (!outcome.ok) return outcome.error;
    state.written = writeRuleOutput(this.options.appender, state.written, outcome.series, context.evalMs);
    await this.checkUnknownMetrics(state, outcome.samples);
    return null;
  }

  // A restored alert belongs to a rule of its name whose fixed labels it carries (several rules may share a name).
  private claimRestored(rule: AlertingRule, state: RuleState): void {
    if (this.unclaimed.size === 0) return;
    const fixed = Object.entries(rule.labels).filter(([, v]) => !v.includes('{{'));
    for (const alert of this.unclaimed.values()) {
      if (alert.rule !== rule.name || !fixed.every(([k, v]) => alert.labels[k] === v)) continue;
      this.unclaimed.delete(alert.fingerprint);
      state.alerts.set(alert.fingerprint, alert);
    }
  }

  private async resolveUnclaimed(at: number): Promise<void> {
    if (this.unclaimed.size === 0) return;
    const evaluated = this.groups.filter((g) => g.broken === undefined);
    if (!evaluated.every((g) => this.evaluatedSinceRestore.has(groupKey(g)))) return;
    // Alerts of a broken group's rules wait for the group to be fixed, as its other alerts do.
    const waiting = new Set(this.groups.flatMap((g) => (g.broken?.rules ?? []).map((r) => r.name)));
    for (const alert of [...this.unclaimed.values()].filter((a) => !waiting.has(a.rule))) {
      this.unclaimed.delete(alert.fingerprint);
      await this.drop(alert, at);
    }
  }

  private recordHealth(state: RuleState, error: string | null, at: number, ms: number): void {
    const { health, group, rule } = state;
    const before = health.health === 'err' ? health.lastError : null;
    health.health = error === null ? 'ok' : 'err';
    health.lastError = error ?? '';
    health.lastEvaluationMs = at;
    health.evaluationMs = ms;
    const where = { group: group.name, file: group.file, rule: rule.name };
    if (error !== null) this.failures.inc({ group: group.name });
    // Logged when the error starts or changes, not at every tick it persists.
    if (error !== null && error !== before)
      this.options.logger.warn({ ...where, error }, `rule ${rule.name} failed: ${error}`);
    if (error === null && before !== null)
      this.options.logger.info(where, `rule ${rule.name} evaluates again after failing`);
  }

  private drop(alert: AlertInstance, at: number): Promise<void> {
    return this.apply({ fingerprint: alert.fingerprint, previous: alert, ...dropAlert(alert, at) }, at);
  }

  private async apply(step: AlertInstanceStep, at: number): Promise<void> {
    const { transition, next, previous } = step;
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

  private async checkUnknownMetrics(state: RuleState, samples: number): Promise<void> {
    const { health, group, rule } = state;
    if (samples > 0) {
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

  private stateOf(group: RuleGroupSpec, rule: AlertingRule | RecordingRule): RuleState {
    const key = ruleKey(group, rule);
    let state = this.rules.get(key);
    if (state === undefined) this.rules.set(key, (state = newRuleState(group, rule)));
    return state;
  }

  /**
   * Advances one of swas's own alerts about a group: SwasRuleGroupOverrun after each evaluation (it resolves after
   * the group has run on time a while), SwasRuleGroupBroken when groups are set (it resolves when the group is fixed).
   */
  private async trackGroupAlert(
    alertname: string,
    group: RuleGroupSpec,
    observation: AlertObservation,
    keepFiringForMs: number,
    at: number,
  ): Promise<void> {
    const key = groupAlertKey(alertname, group);
    const fingerprint = alertFingerprint(alertname, groupAlertLabels(alertname, group));
    let previous = this.groupAlerts.get(key);
    if (previous === undefined && this.unclaimed.has(fingerprint)) {
      previous = this.unclaimed.get(fingerprint);
      this.unclaimed.delete(fingerprint);
    }
    if (previous === undefined && !observation.present) return;
    const identity = { fingerprint, rule: alertname };
    const step = advanceAlert(previous, observation, identity, { forMs: 0, keepFiringForMs }, at);
    if (step.next === undefined || step.next.state === 'resolved') this.groupAlerts.delete(key);
    else this.groupAlerts.set(key, step.next);
    await this.apply({ fingerprint, previous, ...step }, at);
  }

  private scheduleAll(): void {
    this.generation += 1;
    for (const group of this.groups.filter((g) => g.broken === undefined))
      this.schedule(group, this.now(), this.generation);
  }

  // Ticks stay on a fixed grid from the first one, so evaluation does not drift; overruns skip ticks and count them.
  private schedule(group: RuleGroupSpec, tick: number, generation: number): void {
    const delay = Math.max(0, tick - this.now());
    this.timers.set(
      groupKey(group),
      setTimeout(() => {
        if (!this.running || generation !== this.generation) return;
        const evaluation = this.runTick(group, tick, generation)
          .catch((error: unknown) => {
            this.options.logger.error({ err: error, group: group.name }, 'rule group evaluation failed');
          })
          .finally(() => this.inFlight.delete(evaluation));
        this.inFlight.add(evaluation);
      }, delay),
    );
  }

  private async runTick(group: RuleGroupSpec, tick: number, generation: number): Promise<void> {
    await this.evaluateGroup(group, tick);
    if (!this.running || generation !== this.generation) return;
    let next = tick + group.intervalMs;
    const now = this.now();
    let skipped = 0;
    if (now >= next) {
      skipped = Math.floor((now - next) / group.intervalMs) + 1;
      this.missed.inc({ group: group.name }, skipped);
      next += skipped * group.intervalMs;
    }
    const keepFiringForMs = (this.options.overrunResolveIntervals ?? 10) * group.intervalMs;
    await this.trackGroupAlert(
      GROUP_OVERRUN_ALERT,
      group,
      overrunObservation(group, skipped),
      keepFiringForMs,
      now,
    );
    if (!this.running || generation !== this.generation) return;
    this.schedule(group, next, generation);
  }

  private stopTimers(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }
}

function groupKey(group: RuleGroupSpec): string {
  return `${group.file}\0${group.name}`;
}

function groupAlertKey(alertname: string, group: RuleGroupSpec): string {
  return `${alertname}\0${groupKey(group)}`;
}

function ruleKey(
  group: RuleGroupSpec,
  rule: Pick<AlertingRule | RecordingRule, 'kind' | 'name' | 'labels'>,
): string {
  return `${groupKey(group)}\0${rule.kind}\0${rule.name}\0${labelsKey(rule.labels)}`;
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

function newRuleState(group: RuleGroupSpec, rule: AlertingRule | RecordingRule): RuleState {
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
