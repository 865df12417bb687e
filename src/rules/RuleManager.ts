import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { errorMessage, type AlertInstance, type Labels, type SampleAppender } from '../core/index.js';
import type { MetricsQuery } from '../promql/index.js';
import { AlertChangePublisher, type AlertChange, type AlertStatePort } from './alertChanges.js';
import { evaluateAlertingRule } from './alertInstances.js';
import { GroupAlerts } from './groupAlerts.js';
import { evaluateRecordingRule, markStale, writeRuleOutput } from './recording.js';
import { RestoredAlerts } from './restoredAlerts.js';
import {
  GROUP_BROKEN_ALERT,
  GROUP_OVERRUN_ALERT,
  withDeadline,
  type AlertingRule,
  type RecordingRule,
  type RuleGroupSpec,
} from './ruleGroups.js';
import { RuleHealthTracker } from './ruleHealth.js';
import { createRuleMetrics, type RuleMetrics } from './ruleMetrics.js';
import { RuleScheduler } from './ruleSchedule.js';
import { newRuleState, nextRuleStates, ruleKey, type RuleHealth, type RuleState } from './ruleState.js';

export type { AlertChange, AlertStatePort } from './alertChanges.js';
export type { RuleHealth } from './ruleState.js';

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

/** Evaluates rule groups on their intervals, keeps alert state, and reports alert transitions. */
export class RuleManager {
  private groups: RuleGroupSpec[] = [];
  private rules = new Map<string, RuleState>();
  private readonly now: () => number;
  private readonly metrics: RuleMetrics;
  private readonly publisher: AlertChangePublisher;
  /** Alerts restored at start-up that no rule has taken over yet. */
  private readonly restored = new RestoredAlerts();
  /** swas's own alerts about groups (SwasRuleGroupOverrun, SwasRuleGroupBroken) while pending or firing. */
  private readonly groupAlerts: GroupAlerts;
  private readonly health: RuleHealthTracker;
  private readonly scheduler: RuleScheduler;
  private external: { labels: Labels; url: string };

  private constructor(private readonly options: RuleManagerOptions) {
    this.now = options.now ?? Date.now;
    this.external = { labels: options.externalLabels ?? {}, url: options.externalURL ?? '' };
    this.metrics = createRuleMetrics(options.registry);
    this.publisher = new AlertChangePublisher(options.alertState, options.onAlertChange, options.logger);
    this.groupAlerts = new GroupAlerts(this.restored, this.publisher);
    this.health = new RuleHealthTracker(options.query, this.metrics.failures, options.logger);
    const work = {
      evaluate: (group: RuleGroupSpec, tick: number) => this.evaluateGroup(group, tick),
      afterEvaluation: (group: RuleGroupSpec, skipped: number, now: number) => {
        const keepFiringForMs = (options.overrunResolveIntervals ?? 10) * group.intervalMs;
        return this.groupAlerts.trackOverrun(group, skipped, keepFiringForMs, now);
      },
    };
    this.scheduler = new RuleScheduler(work, this.now, this.metrics.missed, options.logger);
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
    this.restored.load(restored);
    return restored.length;
  }

  /**
   * Replaces the rule groups (start-up and reload). A rule that stays (same file, group, name and labels) keeps its
   * alerts; alerts of rules that are gone are resolved and their series marked stale. A rule of a broken group keeps
   * its alerts as they were, unevaluated, until the group is fixed: a typo is not a recovery.
   */
  async setGroups(groups: readonly RuleGroupSpec[]): Promise<void> {
    const at = this.now();
    const drop = (alert: AlertInstance) => this.publisher.drop(alert, at);
    const next = nextRuleStates(groups, this.rules);
    const removed = [...this.rules].filter(([key]) => !next.has(key)).map(([, state]) => state);
    this.groups = [...groups];
    this.rules = next;
    for (const state of removed) {
      markStale(this.options.appender, state.written, at - state.group.queryOffsetMs);
      for (const alert of state.alerts.values()) await drop(alert);
    }
    await this.groupAlerts.retain(groups, at);
    const names = new Set([
      GROUP_OVERRUN_ALERT,
      GROUP_BROKEN_ALERT,
      ...groups.flatMap((g) => [...g.rules, ...(g.broken?.rules ?? [])].map((r) => r.name)),
    ]);
    await this.restored.dropUnnamed(names, drop);
    const broken = groups.filter((g) => g.broken !== undefined);
    this.metrics.brokenGroups.set(broken.length);
    await this.groupAlerts.trackBroken(broken, at);
    this.scheduler.reschedule(this.groups);
  }

  /** Starts evaluating every group on its interval. */
  start(): void {
    this.scheduler.start(this.groups);
  }

  /** Stops scheduling and waits for evaluations in flight. */
  stop(): Promise<void> {
    return this.scheduler.stop();
  }

  /** Alerts that are pending or firing now, including swas's own about overrunning and broken groups. */
  activeAlerts(): AlertInstance[] {
    return [
      ...[...this.rules.values()].flatMap((state) => [...state.alerts.values()]),
      ...this.groupAlerts.values(),
      ...this.restored.values(),
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
      this.metrics.evaluations.inc({ group: group.name });
      let error: string | null;
      try {
        error = await this.evaluateRule(state, query, at);
      } catch (thrown) {
        error = errorMessage(thrown);
      }
      this.health.record(state, error, at, performance.now() - ruleStarted);
      // Let scrapes, writes and API requests in between rules: a large group must not stall the process.
      await yieldToEventLoop();
    }
    this.metrics.lastDuration.set({ group: group.name }, (performance.now() - started) / 1000);
    await this.restored.evaluated(group, this.groups, (alert) => this.publisher.drop(alert, at));
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
    this.restored.claim(rule, state.alerts);
    const outcome = await evaluateAlertingRule(rule, context, state.alerts);
    const alerts = new Map(state.alerts);
    for (const { fingerprint, next } of outcome.steps) {
      if (next === undefined || next.state === 'resolved') alerts.delete(fingerprint);
      else alerts.set(fingerprint, next);
    }
    state.alerts = alerts;
    for (const step of outcome.steps) await this.publisher.apply(step, at);
    if (!outcome.ok) return outcome.error;
    state.written = writeRuleOutput(this.options.appender, state.written, outcome.series, context.evalMs);
    await this.health.checkUnknownMetrics(state, outcome.samples);
    return null;
  }

  private stateOf(group: RuleGroupSpec, rule: AlertingRule | RecordingRule): RuleState {
    const key = ruleKey(group, rule);
    let state = this.rules.get(key);
    if (state === undefined) this.rules.set(key, (state = newRuleState(group, rule)));
    return state;
  }
}
