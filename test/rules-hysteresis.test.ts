import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatConfigIssue, loadConfig } from '../src/config/index.js';
import { runUnitTestFile } from '../src/rules/index.js';
import { checkExpression } from '../src/server/adapters.js';
import { makeTempDir } from './support/tmp.js';

let tmp: { dir: string; remove: () => Promise<void> };
beforeAll(async () => {
  tmp = await makeTempDir('rules-hysteresis');
});
afterAll(async () => {
  await tmp.remove();
});

async function files(dir: string, contents: Record<string, string>): Promise<string> {
  const root = join(tmp.dir, dir);
  for (const [name, text] of Object.entries(contents)) {
    await mkdir(dirname(join(root, name)), { recursive: true });
    await writeFile(join(root, name), text);
  }
  return root;
}

const RULES = `groups:
  - name: temperature
    interval: 1m
    rules:
      - alert: Hot
        expr: temperature > 90
        resolve_when: temperature < 70
        annotations:
          summary: "{{ $labels.room }} is at {{ $value }}"
`;

describe('resolve_when in swas.yaml rule files', () => {
  it('loads resolve_when, min_firing_for and query_offset', async () => {
    const dir = await files('good', {
      'swas.yaml': 'rules:\n  query_offset: 15s\n  files: [rules.yml]\n',
      'rules.yml': RULES.replace('    rules:\n', '    query_offset: 1m\n    rules:\n').replace(
        '        resolve_when',
        '        min_firing_for: 10m\n        resolve_when',
      ),
    });
    const loaded = await loadConfig(join(dir, 'swas.yaml'), { checkExpression, env: {} });
    expect(loaded.config.rules.query_offset).toBe(15_000);
    expect(loaded.ruleFiles[0]?.groups[0]).toMatchObject({
      query_offset: 60_000,
      rules: [{ alert: 'Hot', resolve_when: 'temperature < 70', min_firing_for: 600_000 }],
    });
  });

  it('loads a group with bad PromQL in resolve_when as broken, naming file:line, group and rule', async () => {
    const dir = await files('bad', {
      'swas.yaml': 'rules:\n  files: [rules.yml]\n',
      'rules.yml': RULES.replace('temperature < 70', 'temperature <'),
    });
    const loaded = await loadConfig(join(dir, 'swas.yaml'), { checkExpression, env: {} });
    expect(loaded.ruleFiles[0]?.groups).toEqual([]);
    expect(loaded.warnings.map(formatConfigIssue).join('\n')).toMatch(
      /rules\.yml:7:\d+: groups\[0\]\.rules\[0\]\.resolve_when: group "temperature", alert "Hot": PromQL error at line 1, column \d+/,
    );
  });
  it('names the group and rule of a schema error in a rule file, e.g. a bad min_firing_for', async () => {
    const dir = await files('bad-duration', {
      'swas.yaml': 'rules:\n  files: [rules.yml]\n',
      'rules.yml': RULES.replace(
        '        resolve_when',
        '        min_firing_for: later\n        resolve_when',
      ).replace('    interval: 1m', '    interval: 10ms'),
    });
    const loaded = await loadConfig(join(dir, 'swas.yaml'), { checkExpression, env: {} });
    const error = loaded.warnings.map(formatConfigIssue).join('\n');
    expect(error).toMatch(/rules\.yml:3:\d+: groups\[0\]\.interval: group "temperature": 10ms is too short/);
    expect(error).toMatch(
      /rules\.yml:7:\d+: groups\[0\]\.rules\[0\]\.min_firing_for: group "temperature", alert "Hot": "later" is not a duration/,
    );
  });
});

describe('swas rules test with resolve_when', () => {
  // Fires above 90, stays firing between 70 and 90, resolves below 70: one code path with the rule manager.
  const test = (expAt3m: string) => `rule_files: [rules.yml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'temperature{room="a"}'
        values: "95 80 75 65"
    alert_rule_test:
      - eval_time: 0m
        alertname: Hot
        exp_alerts:
          - exp_labels: { room: a }
            exp_annotations: { summary: "a is at 95" }
      - eval_time: 2m
        alertname: Hot
        exp_alerts:
          - exp_labels: { room: a }
            exp_annotations: { summary: "a is at 95" }
      - eval_time: 3m
        alertname: Hot
        exp_alerts: ${expAt3m}
`;

  it('keeps the alert firing between the thresholds and resolves it below resolve_when', async () => {
    const dir = await files('unit', { 'rules.yml': RULES, 'hot.test.yml': test('[]') });
    expect(await runUnitTestFile(join(dir, 'hot.test.yml'))).toMatchObject({ status: 'pass', errors: [] });
  });

  it('fails a test that expects the alert to fire after resolve_when held', async () => {
    const dir = await files('unit-fail', {
      'rules.yml': RULES,
      'hot.test.yml': test('[{ exp_labels: { room: a } }]'),
    });
    const result = await runUnitTestFile(join(dir, 'hot.test.yml'));
    expect(result.status).toBe('fail');
    expect(result.errors[0]).toMatch(/alertname: Hot, time: 3m/);
  });
});
