import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir } from '../../test/support/tmp.js';
import { runUnitTestFile } from './unitTest.js';

const RULES = `
groups:
  - name: record
    rules:
      - record: job:errors:rate1m
        expr: sum by (job) (errors_per_second)
  - name: alert
    rules:
      - alert: HighErrors
        expr: job:errors:rate1m > 1
        for: 2m
        keep_firing_for: 3m
        labels:
          severity: page
        annotations:
          summary: "{{ $labels.job }} errors at {{ $value }}/s"
`;

describe('runUnitTestFile', () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  const write = async (name: string, text: string): Promise<string> => {
    const file = join(tmp.dir, name);
    await writeFile(file, text);
    return file;
  };
  beforeAll(async () => {
    tmp = await makeTempDir('rules-unittest');
    await write('rules.yml', RULES);
  });
  afterAll(async () => tmp.remove());

  it('passes alerts that go pending, fire after `for`, and keep firing; recording rules feed later groups', async () => {
    const file = await write(
      'ok.yml',
      `rule_files: [rules.yml]
group_eval_order: [record, alert]
tests:
  - interval: 1m
    input_series:
      - series: 'errors_per_second{job="api", instance="a"}'
        values: '0 2x4 0x10'
    alert_rule_test:
      - { eval_time: 1m, alertname: HighErrors, exp_alerts: [] }
      - eval_time: 3m
        alertname: HighErrors
        exp_alerts:
          - exp_labels: { job: api, severity: page }
            exp_annotations: { summary: "api errors at 2/s" }
      - eval_time: 7m
        alertname: HighErrors
        exp_alerts:
          - exp_labels: { job: api, severity: page }
            exp_annotations: { summary: "api errors at 2/s" }
      - { eval_time: 12m, alertname: HighErrors, exp_alerts: [] }
    promql_expr_test:
      - expr: job:errors:rate1m
        eval_time: 2m
        exp_samples:
          - labels: 'job:errors:rate1m{job="api"}'
            value: 2
      - expr: ALERTS{alertstate="pending"}
        eval_time: 1m
        exp_samples:
          - labels: 'ALERTS{alertname="HighErrors",alertstate="pending",job="api",severity="page"}'
            value: 1
      - expr: ALERTS{alertstate="pending"}
        eval_time: 3m
        exp_samples: []
      - expr: ALERTS_FOR_STATE
        eval_time: 7m
        exp_samples:
          - labels: 'ALERTS_FOR_STATE{alertname="HighErrors",job="api",severity="page"}'
            value: 60
`,
    );
    const result = await runUnitTestFile(file);
    expect(result.errors).toEqual([]);
    expect(result.status).toBe('pass');
  });

  it('fails with expression, time, expected and got when a sample differs', async () => {
    const file = await write(
      'bad.yml',
      `tests:
  - name: values
    input_series:
      - { series: 'up{job="x"}', values: '1 0' }
    promql_expr_test:
      - expr: up
        eval_time: 1m
        exp_samples: [{ labels: 'up{job="x"}', value: 1 }]
`,
    );
    const result = await runUnitTestFile(file);
    expect(result.status).toBe('fail');
    expect(result.errors).toEqual([
      '    name: values,\n    expr: "up", time: 1m,\n        exp: {__name__="up", job="x"} 1E+00\n        got: {__name__="up", job="x"} 0E+00',
    ]);
  });

  it('compares within one ulp only when fuzzy_compare is set', async () => {
    const body = `tests:
  - promql_expr_test:
      - { expr: '0.1 + 0.2', exp_samples: [{ value: 0.30000000000000004 }] }
      - { expr: '0.1 + 0.2', exp_samples: [{ value: 0.3 }] }
`;
    expect((await runUnitTestFile(await write('exact.yml', body))).errors).toHaveLength(1);
    expect((await runUnitTestFile(await write('fuzzy.yml', `fuzzy_compare: true\n${body}`))).status).toBe(
      'pass',
    );
  });

  it('calls a file with unknown fields or bad durations invalid, with file:line', async () => {
    const file = await write('invalid.yml', 'tests:\n  - interval: soon\n    inputs: []\n');
    const result = await runUnitTestFile(file);
    expect(result.status).toBe('invalid');
    expect(result.errors.join('\n')).toMatch(
      /invalid\.yml:2:\d+: tests\[0\]\.interval: "soon" is not a duration/,
    );
    expect(result.errors.join('\n')).toMatch(/invalid\.yml:3:\d+: .*unknown field "inputs"/);
  });

  it('fails when rule files are missing, or group_eval_order names a group that does not exist', async () => {
    const missing = await runUnitTestFile(
      await write('missing.yml', 'rule_files: [nope-*.yml]\ntests: [{}]\n'),
    );
    expect(missing.status).toBe('fail');
    expect(missing.errors[0]).toContain('no file matches "nope-*.yml"');
    const order = await runUnitTestFile(
      await write('order.yml', 'rule_files: [rules.yml]\ngroup_eval_order: [ghost]\ntests: [{}]\n'),
    );
    expect(order.errors).toEqual(['group_eval_order names group "ghost", which no rule file defines']);
  });

  it('reports malformed input series values', async () => {
    const file = await write(
      'series.yml',
      "tests:\n  - input_series: [{ series: 'up', values: '1 oops' }]\n",
    );
    const result = await runUnitTestFile(file);
    expect(result.status).toBe('fail');
    expect(result.errors[0]).toContain('input_series "up": invalid series value "oops"');
  });
});
