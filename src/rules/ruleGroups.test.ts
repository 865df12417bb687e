import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ruleFileSchema } from '../config/index.js';
import { compileRuleGroups, thresholdValueExpr } from './ruleGroups.js';

// Compiles rule-file YAML the way the server does (schema, then groups).
function groupsFrom(yaml: string, defaultIntervalMs = 1000, defaultQueryOffsetMs = 0) {
  const file = ruleFileSchema.parse(parse(yaml));
  return compileRuleGroups(
    [{ file: 'rules.yml', groups: file.groups }],
    defaultIntervalMs,
    defaultQueryOffsetMs,
  );
}

describe('compileRuleGroups', () => {
  it('reads query_offset per group, else the default, and the hysteresis fields of alerting rules', () => {
    const groups = groupsFrom(
      `
groups:
  - name: a
    query_offset: 30s
    rules:
      - alert: Hot
        expr: temperature > 90
        resolve_when: temperature < 70
        min_firing_for: 10m
  - name: b
    rules:
      - record: r
        expr: up
`,
      15_000,
      5000,
    );
    expect(groups.map((g) => g.queryOffsetMs)).toEqual([30_000, 5000]);
    expect(groups[0]?.rules[0]).toMatchObject({
      kind: 'alerting',
      resolveWhen: 'temperature < 70',
      valueExpr: 'temperature',
      minFiringForMs: 600_000,
    });
  });

  it('reports a bad field of a rule at that field, not as "neither alert nor record"', () => {
    const issues = (yaml: string) =>
      ruleFileSchema.safeParse(parse(yaml)).error?.issues.map((i) => [i.path.join('.'), i.message]);
    expect(
      issues('groups: [{name: a, rules: [{alert: A, expr: up, min_firing_for: soon}, {expr: up}]}]'),
    ).toEqual([
      ['groups.0.rules.0.min_firing_for', '"soon" is not a duration; write it like 500ms, 15s, 5m or 1h30m'],
      [
        'groups.0.rules.1',
        'a rule has either `alert:` (alerting rule) or `record:` (recording rule), with `expr:`',
      ],
    ]);
    expect(
      issues('groups: [{name: a, query_offset: -1m, rules: [{record: r, expr: up, resolve_when: up}]}]'),
    ).toEqual([
      ['groups.0.query_offset', '"-1m" is not a duration; write it like 500ms, 15s, 5m or 1h30m'],
      ['groups.0.rules.0', 'Unrecognized key: "resolve_when"'],
    ]);
  });
});

describe('thresholdValueExpr', () => {
  it.each([
    ['cpu > 90', 'cpu'],
    ['90 < cpu', 'cpu'],
    ['(avg by (instance) (rate(x[5m])) >= 0.9)', 'avg by (instance) (rate(x[5m]))'],
    ['a / b > 0.5', 'a / b'],
    ['cpu > bool 90', null],
    ['cpu > 90 and mem > 90', null],
    ['cpu > other', null],
    ['cpu', null],
    ['cpu >', null],
  ])('%s → %s', (expr, value) => {
    expect(thresholdValueExpr(expr)).toBe(value);
  });
});
