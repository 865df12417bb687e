import { Writable } from 'node:stream';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ruleFileSchema } from '../src/config/index.js';
import { STALE_NAN, type AlertInstance } from '../src/core/index.js';
import { EmbeddedPromqlQuery, type MetricsQuery } from '../src/promql/index.js';
import { compileRuleGroups, RuleManager, type AlertChange, type RuleGroupSpec } from '../src/rules/index.js';
import { MemorySeriesStore } from '../src/tsdb/index.js';
import { eventually } from './support/swasServer.js';

// Real timers, short intervals: these tests check what happens and in which order, never how fast.
const INTERVAL_MS = 100;

function groupFrom(yaml: string): RuleGroupSpec {
  const file = ruleFileSchema.parse(parse(yaml));
  const [group] = compileRuleGroups([{ file: 'rules.yml', groups: file.groups }], 1000);
  if (group === undefined) throw new Error('no group');
  return { ...group, intervalMs: INTERVAL_MS };
}

/** The real engine, with a delay (or a hang) for one expression, and a count of evaluations per expression. */
class SlowQuery implements MetricsQuery {
  delayMs: number | 'hang' = 0;
  readonly calls = new Map<string, number>();
  constructor(
    private readonly engine: MetricsQuery,
    private readonly slowExpr: string,
  ) {}
  async instant(expr: string, atMs: number) {
    this.calls.set(expr, (this.calls.get(expr) ?? 0) + 1);
    if (expr === this.slowExpr && this.delayMs === 'hang') return new Promise<never>(() => undefined);
    const delay = this.delayMs;
    if (expr === this.slowExpr && delay !== 'hang' && delay > 0)
      await new Promise((resolve) => setTimeout(resolve, delay));
    return this.engine.instant(expr, atMs);
  }
  range(expr: string, startMs: number, endMs: number, stepMs: number) {
    return this.engine.range(expr, startMs, endMs, stepMs);
  }
  unknownMetrics(expr: string) {
    return this.engine.unknownMetrics(expr);
  }
}

let running: RuleManager | null = null;
afterEach(async () => {
  await running?.stop();
  running = null;
});

function start(query: (engine: MetricsQuery) => MetricsQuery, store: MemorySeriesStore) {
  const changes: AlertChange[] = [];
  const logs: { level: number; msg: string; rule?: string }[] = [];
  const registry = new Registry();
  const saved: AlertInstance[] = [];
  const manager = RuleManager.create({
    query: query(EmbeddedPromqlQuery.create({ reader: store })),
    appender: store,
    alertState: {
      loadActive: () => Promise.resolve([]),
      save: (alert) => {
        saved.push(alert);
        return Promise.resolve();
      },
    },
    onAlertChange: (change) => {
      changes.push(change);
      return Promise.resolve();
    },
    logger: pino(
      { level: 'debug' },
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          logs.push(JSON.parse(chunk.toString()) as { level: number; msg: string });
          done();
        },
      }),
    ),
    registry,
    overrunResolveIntervals: 3,
  });
  running = manager;
  return { manager, changes, logs, registry, saved };
}

describe('RuleManager scheduling', () => {
  it('reports a failing rule in health, logs it once per change, and keeps evaluating it once per tick', async () => {
    const store = new MemorySeriesStore();
    store.append({ __name__: 'm', i: 'a' }, Date.now(), 1);
    store.append({ __name__: 'm', i: 'b' }, Date.now(), 1);
    let slow: SlowQuery | null = null;
    const { manager, logs } = start((engine) => (slow = new SlowQuery(engine, '')), store);
    const group = groupFrom(
      'groups: [{name: g, rules: [{record: broken, expr: "m + on() m"}, {record: fine, expr: "m"}]}]',
    );
    await manager.setGroups([group]);
    manager.start();
    const calls = () => slow?.calls ?? new Map<string, number>();
    await eventually('five evaluations of the failing rule', () => (calls().get('m + on() m') ?? 0) >= 5);
    const broken = manager.status()[0]?.rules[0]?.health;
    expect(broken).toMatchObject({ health: 'err' });
    expect(broken?.lastError).toMatch(/many-to-many|duplicate series/);
    const failures = () => logs.filter((l) => l.msg.startsWith('rule broken failed'));
    expect(failures()).toHaveLength(1);
    // No retries: the failing rule runs exactly as often as its healthy neighbour (±1 for a tick in flight).
    expect(Math.abs((calls().get('m + on() m') ?? 0) - (calls().get('m') ?? 0))).toBeLessThanOrEqual(1);

    // The series that made it ambiguous goes away: the rule recovers, which is logged once too.
    store.append({ __name__: 'm', i: 'b' }, Date.now(), STALE_NAN);
    await eventually('the rule to recover', () => manager.status()[0]?.rules[0]?.health.health === 'ok');
    expect(logs.filter((l) => l.msg === 'rule broken evaluates again after failing')).toHaveLength(1);
    expect(failures()).toHaveLength(1);
  });
  it('times out a hung query, raises SwasRuleGroupOverrun, and resolves it once the group runs on time again', async () => {
    const store = new MemorySeriesStore();
    store.append({ __name__: 'm' }, Date.now(), 1);
    let slow: SlowQuery | null = null;
    const { manager, changes, registry } = start((engine) => (slow = new SlowQuery(engine, 'm > 0')), store);
    if (slow === null) throw new Error('no query');
    const query: SlowQuery = slow;
    query.delayMs = 'hang';
    const group = groupFrom(
      'groups: [{name: slowgroup, rules: [{alert: Slow, expr: "m > 0"}, {record: r, expr: m}]}]',
    );
    await manager.setGroups([group]);
    manager.start();
    const overrun = () => changes.filter((c) => c.alert.rule === 'SwasRuleGroupOverrun');
    await eventually('the overrun alert', () => overrun().length > 0);
    expect(overrun()[0]).toMatchObject({
      transition: 'firing',
      alert: {
        labels: {
          alertname: 'SwasRuleGroupOverrun',
          group: 'slowgroup',
          file: 'rules.yml',
          severity: 'warning',
        },
        annotations: { summary: 'rule group "slowgroup" overran its 100ms interval' },
      },
    });
    expect(manager.activeAlerts().map((a) => [a.rule, a.state])).toContainEqual([
      'SwasRuleGroupOverrun',
      'firing',
    ]);
    await eventually(
      'three evaluations of the rule after the hung one',
      () => (query.calls.get('m') ?? 0) >= 3,
    );
    expect(manager.status()[0]?.rules[0]?.health).toMatchObject({
      health: 'err',
      lastError:
        "query did not finish within 100ms, the group's interval; make it cheaper or raise the interval",
    });
    const missed = await registry.getSingleMetric('swas_rule_group_iterations_missed_total')?.get();
    expect(missed?.values[0]?.value).toBeGreaterThan(0);

    query.delayMs = 0;
    await eventually('the overrun alert to resolve', () => overrun().length > 1);
    expect(overrun().map((c) => c.transition)).toEqual(['firing', 'resolved']);
    expect(manager.activeAlerts().map((a) => a.rule)).not.toContain('SwasRuleGroupOverrun');
    expect(manager.status()[0]?.rules[0]?.health.health).toBe('ok');
  });
});
