import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ruleFileSchema } from '../config/index.js';
import { isStaleNaN, STALE_NAN, type AlertInstance, type Labels } from '../core/index.js';
import { EmbeddedPromqlQuery, type MetricsQuery } from '../promql/index.js';
import { MemorySeriesStore } from '../tsdb/index.js';
import { RuleManager, type AlertChange, type AlertStatePort } from './RuleManager.js';
import { compileRuleGroups } from './ruleGroups.js';

const MIN = 60_000;

function groupsFrom(yaml: string, defaultQueryOffsetMs = 0) {
  const file = ruleFileSchema.parse(parse(yaml));
  return compileRuleGroups([{ file: 'rules.yml', groups: file.groups }], 60_000, defaultQueryOffsetMs);
}

/** Alert state kept in memory, as the state store keeps it (only what its columns hold). */
function memoryAlertState(): AlertStatePort & { rows: Map<string, AlertInstance> } {
  const rows = new Map<string, AlertInstance>();
  return {
    rows,
    loadActive: () =>
      Promise.resolve([...rows.values()].filter((a) => a.state !== 'resolved').map(({ ...a }) => a)),
    save: (alert) => {
      const { fingerprint, rule, labels, annotations, state, activeAt, firedAt, resolvedAt, value } = alert;
      rows.set(fingerprint, {
        fingerprint,
        rule,
        labels,
        annotations,
        state,
        activeAt,
        firedAt,
        resolvedAt,
        value,
        lastActiveAt: activeAt,
      });
      return Promise.resolve();
    },
  };
}

function setup(options: { query?: (engine: MetricsQuery) => MetricsQuery; state?: AlertStatePort } = {}) {
  const store = new MemorySeriesStore();
  const engine = EmbeddedPromqlQuery.create({ reader: store });
  const changes: AlertChange[] = [];
  const logs: { level: number; msg: string }[] = [];
  const logger = pino(
    { level: 'debug' },
    new Writable({
      write(chunk: Buffer, _enc, done) {
        logs.push(JSON.parse(chunk.toString()) as { level: number; msg: string });
        done();
      },
    }),
  );
  const alertState = options.state ?? memoryAlertState();
  const manager = RuleManager.create({
    query: options.query ? options.query(engine) : engine,
    appender: store,
    alertState,
    onAlertChange: (c) => {
      changes.push(c);
      return Promise.resolve();
    },
    logger,
  });
  const seen = () => changes.map((c) => `${c.alert.labels.alertname}:${c.transition}@${c.at / 1000}`);
  return { store, engine, manager, changes, seen, logs, alertState };
}

/** Every sample of the series named `name`: labels, then [t in s, value or 'stale'] pairs. */
function samplesOf(
  store: MemorySeriesStore,
  name: string,
): { labels: Labels; points: [number, number | 'stale'][] }[] {
  return store
    .select([{ name: '__name__', type: '=', value: name }], 0, Number.MAX_SAFE_INTEGER)
    .map((s) => ({
      labels: s.labels,
      points: [...s.t].map((t, i): [number, number | 'stale'] => {
        const v = s.v[i] ?? NaN;
        return [t / 1000, isStaleNaN(v) ? 'stale' : v];
      }),
    }));
}

describe('RuleManager evaluation', () => {
  it('evaluates at tick - query_offset and writes its samples there (group value, else the default)', async () => {
    const { store, manager } = setup();
    store.append({ __name__: 'm' }, 0, 1);
    store.append({ __name__: 'm' }, MIN, 2);
    const [offset, plain] = groupsFrom(
      `
groups:
  - name: offset
    query_offset: 30s
    rules: [{ record: m_offset, expr: m }]
  - name: default
    rules: [{ record: m_default, expr: m }]
`,
      10_000,
    );
    if (offset === undefined || plain === undefined) throw new Error('groups missing');
    await manager.setGroups([offset, plain]);
    await manager.evaluateGroup(offset, MIN);
    await manager.evaluateGroup(plain, MIN);
    expect(samplesOf(store, 'm_offset')).toEqual([{ labels: { __name__: 'm_offset' }, points: [[30, 1]] }]);
    expect(samplesOf(store, 'm_default')).toEqual([{ labels: { __name__: 'm_default' }, points: [[50, 1]] }]);
  });

  it('fails a recording rule over its group limit and writes none of its series', async () => {
    const { store, manager } = setup();
    for (const i of ['a', 'b', 'c']) store.append({ __name__: 'm', i }, 0, 1);
    const [group] = groupsFrom(
      `groups: [{name: g, limit: 2, rules: [{record: r, expr: m}, {record: ok, expr: 'm{i="a"}'}]}]`,
    );
    if (group === undefined) throw new Error('group missing');
    await manager.setGroups([group]);
    await manager.evaluateGroup(group, 1000);
    const [status] = manager.status();
    expect(status?.rules.map((r) => [r.rule.name, r.health.health, r.health.lastError])).toEqual([
      ['r', 'err', 'exceeded limit 2 with 3 series'],
      ['ok', 'ok', ''],
    ]);
    expect(samplesOf(store, 'r')).toEqual([]);
    expect(samplesOf(store, 'ok')).toHaveLength(1);
  });

  it('fails an alerting rule over its group limit and drops all its alerts, which come back under the limit', async () => {
    const { store, manager, seen } = setup();
    const [group] = groupsFrom('groups: [{name: g, limit: 2, rules: [{alert: Down, expr: "m == 0"}]}]');
    if (group === undefined) throw new Error('group missing');
    await manager.setGroups([group]);
    store.append({ __name__: 'm', i: 'a' }, 0, 0);
    store.append({ __name__: 'm', i: 'b' }, 0, 0);
    await manager.evaluateGroup(group, 1000);
    store.append({ __name__: 'm', i: 'c' }, 2000, 0);
    await manager.evaluateGroup(group, 2000);
    expect(manager.status()[0]?.rules[0]?.health).toMatchObject({
      health: 'err',
      lastError: 'exceeded limit of 2 with 3 alerts',
    });
    expect(manager.activeAlerts()).toEqual([]);
    expect(samplesOf(store, 'ALERTS').flatMap((s) => s.points)).toEqual([
      [1, 1],
      [1, 1],
    ]);
    store.append({ __name__: 'm', i: 'c' }, 3000, 1);
    await manager.evaluateGroup(group, 3000);
    expect(seen()).toEqual([
      'Down:firing@1',
      'Down:firing@1',
      'Down:resolved@2',
      'Down:resolved@2',
      'Down:firing@3',
      'Down:firing@3',
    ]);
  });

  it('writes ALERTS and ALERTS_FOR_STATE, and a staleness marker when an alert or recorded series goes away', async () => {
    const { store, manager, engine } = setup();
    const [group] = groupsFrom(`
groups:
  - name: g
    rules:
      - alert: Down
        expr: up == 0
        for: 1s
      - record: up_copy
        expr: up == 0
`);
    if (group === undefined) throw new Error('group missing');
    await manager.setGroups([group]);
    store.append({ __name__: 'up', job: 'web' }, 0, 0);
    await manager.evaluateGroup(group, 1000);
    await manager.evaluateGroup(group, 2000);
    store.append({ __name__: 'up', job: 'web' }, 2500, 1);
    await manager.evaluateGroup(group, 3000);
    expect(samplesOf(store, 'ALERTS')).toEqual([
      {
        labels: { __name__: 'ALERTS', alertname: 'Down', alertstate: 'firing', job: 'web' },
        points: [
          [2, 1],
          [3, 'stale'],
        ],
      },
      {
        labels: { __name__: 'ALERTS', alertname: 'Down', alertstate: 'pending', job: 'web' },
        points: [
          [1, 1],
          [2, 'stale'],
        ],
      },
    ]);
    expect(samplesOf(store, 'ALERTS_FOR_STATE')).toEqual([
      {
        labels: { __name__: 'ALERTS_FOR_STATE', alertname: 'Down', job: 'web' },
        points: [
          [1, 1],
          [2, 1],
          [3, 'stale'],
        ],
      },
    ]);
    expect(samplesOf(store, 'up_copy')[0]?.points).toEqual([
      [1, 0],
      [2, 0],
      [3, 'stale'],
    ]);
    // The marker ends the series at once rather than after the 5m lookback.
    const now = await engine.instant('ALERTS or up_copy', 3500);
    expect(now.ok && now.value.resultType === 'vector' ? now.value.result : null).toEqual([]);
  });

  it('resolves the alerts of a removed rule on reload and marks its series stale; kept rules keep their alerts', async () => {
    const { store, manager, seen } = setup();
    const yaml = (rules: string) => `groups: [{name: g, rules: [${rules}]}]`;
    const both = groupsFrom(yaml('{alert: A, expr: "up == 0"}, {alert: B, expr: "up == 0"}'));
    store.append({ __name__: 'up' }, 0, 0);
    await manager.setGroups(both);
    if (both[0] === undefined) throw new Error('group missing');
    await manager.evaluateGroup(both[0], 1000);
    await manager.setGroups(groupsFrom(yaml('{alert: B, expr: "up == 0"}')));
    expect(seen()).toEqual(['A:firing@1', 'B:firing@1', expect.stringMatching(/^A:resolved@/)]);
    expect(manager.activeAlerts().map((a) => a.rule)).toEqual(['B']);
    expect(
      samplesOf(store, 'ALERTS')
        .find((s) => s.labels.alertname === 'A')
        ?.points.at(-1)?.[1],
    ).toBe('stale');
  });
});

describe('RuleManager hysteresis (resolve_when, min_firing_for)', () => {
  const rules = `
groups:
  - name: g
    rules:
      - alert: Hot
        expr: temperature > 90
        resolve_when: temperature < 70
        annotations: { summary: "{{ $value }}" }
      - alert: HotAnywhere
        expr: temperature > 90 and on() vector(1) > 0
        resolve_when: temperature < 70
      - alert: Brief
        expr: temperature > 90
        min_firing_for: 10m
`;

  it('fires above 90, keeps firing between 70 and 90 with the current value, resolves below 70', async () => {
    const { store, manager, seen } = setup();
    const groups = groupsFrom(rules);
    await manager.setGroups(groups);
    const group = groups[0];
    if (group === undefined) throw new Error('group missing');
    const step = async (t: number, value: number) => {
      store.append({ __name__: 'temperature', room: 'a' }, t * 1000, value);
      await manager.evaluateGroup(group, t * 1000);
    };
    await step(0, 95);
    await step(60, 80);
    const hot = manager.activeAlerts().find((a) => a.rule === 'Hot');
    expect(hot).toMatchObject({ state: 'firing', value: 80, labels: { alertname: 'Hot', room: 'a' } });
    await step(120, 89);
    await step(180, 65);
    expect(seen()).toEqual([
      'Hot:firing@0',
      'HotAnywhere:firing@0',
      'Brief:firing@0',
      'Hot:resolved@180',
      'HotAnywhere:resolved@180',
    ]);
    await step(600, 65);
    expect(seen().at(-1)).toBe('Brief:resolved@600');
  });

  it('resolves an alert whose series is gone 5m after no expression sees it', async () => {
    const { store, manager, seen } = setup();
    const groups = groupsFrom(rules);
    await manager.setGroups(groups);
    const group = groups[0];
    if (group === undefined) throw new Error('group missing');
    store.append({ __name__: 'temperature', room: 'a' }, 0, 95);
    await manager.evaluateGroup(group, 0);
    store.append({ __name__: 'temperature', room: 'a' }, 30_000, 85);
    await manager.evaluateGroup(group, 30_000);
    // HotAnywhere cannot see the band: without a value expression, "between thresholds" looks like "gone".
    store.append({ __name__: 'temperature', room: 'a' }, 60_000, STALE_NAN);
    await manager.evaluateGroup(group, 60_000);
    await manager.evaluateGroup(group, 5 * MIN + 29_000);
    const hot = () => seen().filter((s) => s.startsWith('Hot'));
    expect(hot()).toEqual(['Hot:firing@0', 'HotAnywhere:firing@0']);
    await manager.evaluateGroup(group, 5 * MIN + 30_000);
    expect(hot()).toEqual(['Hot:firing@0', 'HotAnywhere:firing@0', 'HotAnywhere:resolved@330']);
    await manager.evaluateGroup(group, 6 * MIN);
    expect(hot()).toEqual([
      'Hot:firing@0',
      'HotAnywhere:firing@0',
      'HotAnywhere:resolved@330',
      'Hot:resolved@360',
    ]);
  });
});

describe('RuleManager across a restart', () => {
  const yaml = `
groups:
  - name: g
    rules:
      - alert: Down
        expr: up == 0
        for: 2m
      - alert: Gone
        expr: up == 0
`;

  it('continues a pending `for` clock, does not re-notify a firing alert, and resolves alerts of removed rules', async () => {
    const state = memoryAlertState();
    const first = setup({ state });
    first.store.append({ __name__: 'up' }, 0, 0);
    const groups = groupsFrom(yaml);
    const group = groups[0];
    if (group === undefined) throw new Error('group missing');
    await first.manager.setGroups(groups);
    await first.manager.evaluateGroup(group, 0);
    await first.manager.evaluateGroup(group, MIN);
    expect(first.seen()).toEqual(['Down:pending@0', 'Gone:firing@0']);

    const second = setup({ state });
    second.store.append({ __name__: 'up' }, 0, 0);
    expect(await second.manager.restore()).toBe(2);
    const withoutGone = groupsFrom(yaml.replace(/ {6}- alert: Gone\n.*\n/, ''));
    await second.manager.setGroups(withoutGone);
    expect(second.seen()).toEqual([`Gone:resolved@${(second.changes[0]?.at ?? 0) / 1000}`]);
    if (withoutGone[0] === undefined) throw new Error('group missing');
    await second.manager.evaluateGroup(withoutGone[0], 90_000);
    expect(second.manager.activeAlerts()).toMatchObject([{ rule: 'Down', state: 'pending', activeAt: 0 }]);
    await second.manager.evaluateGroup(withoutGone[0], 2 * MIN);
    expect(second.seen().slice(1)).toEqual(['Down:firing@120']);

    const third = setup({ state });
    third.store.append({ __name__: 'up' }, 0, 0);
    await third.manager.restore();
    await third.manager.setGroups(groups);
    await third.manager.evaluateGroup(group, 3 * MIN);
    expect(third.seen()).toEqual(['Gone:firing@180']);
    expect(third.manager.activeAlerts().find((a) => a.rule === 'Down')).toMatchObject({ firedAt: 2 * MIN });
  });

  it('resolves a restored alert no rule takes over once every group has run', async () => {
    const state = memoryAlertState();
    const first = setup({ state });
    const groups = groupsFrom(
      'groups: [{name: g, rules: [{alert: Down, expr: "up == 0", labels: {team: a}}]}]',
    );
    const group = groups[0];
    if (group === undefined) throw new Error('group missing');
    first.store.append({ __name__: 'up' }, 0, 0);
    await first.manager.setGroups(groups);
    await first.manager.evaluateGroup(group, 0);

    const second = setup({ state });
    await second.manager.restore();
    const relabelled = groupsFrom(
      'groups: [{name: g, rules: [{alert: Down, expr: "up == 0", labels: {team: b}}]}]',
    );
    await second.manager.setGroups(relabelled);
    expect(second.manager.activeAlerts()).toHaveLength(1);
    if (relabelled[0] === undefined) throw new Error('group missing');
    await second.manager.evaluateGroup(relabelled[0], 1000);
    expect(second.seen()).toEqual(['Down:resolved@1']);
    expect(second.changes[0]?.alert.labels.team).toBe('a');
  });
});
