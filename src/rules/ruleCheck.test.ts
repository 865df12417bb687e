import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir } from '../../test/support/tmp.js';
import { checkRuleFile, formatRuleProblem } from './ruleCheck.js';

describe('checkRuleFile', () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  const check = async (text: string): Promise<{ usable: boolean; lines: string[] }> => {
    const file = join(tmp.dir, 'rules.yml');
    await writeFile(file, text);
    const result = await checkRuleFile(file);
    return {
      usable: result.loaded !== null,
      lines: result.problems.map((p) => formatRuleProblem(p).replace(`${file}:`, '')),
    };
  };
  beforeAll(async () => {
    tmp = await makeTempDir('rules-check');
  });
  afterAll(async () => tmp.remove());

  it('accepts a clean file without findings', async () => {
    const result = await check(
      'groups:\n  - name: g\n    rules:\n      - alert: Down\n        expr: up == 0\n        for: 5m\n      - record: r:x\n        expr: sum(up)\n',
    );
    expect(result).toEqual({ usable: true, lines: [] });
  });

  it('locates PromQL errors in the file and inside the expression', async () => {
    const result = await check(
      "groups:\n  - name: g\n    rules:\n      - record: x\n        expr: 'sum(up'\n",
    );
    expect(result.usable).toBe(false);
    expect(result.lines).toHaveLength(1);
    expect(result.lines[0]).toMatch(/^5:9: error: group "g", record "x": PromQL error at 1:\d+ of expr: /);
  });

  it('reports YAML and schema errors with their line', async () => {
    expect(
      (await check('groups:\n  - name: g\n    rules:\n      - recrd: x\n        expr: up\n')).lines[0],
    ).toMatch(/^4:\d+: error: groups\[0\]\.rules\[0\]/);
    expect((await check('groups: [\n')).lines[0]).toMatch(/^\d+:\d+: error: /);
  });

  it('flags duplicate rules and templates swas cannot render as errors', async () => {
    const result = await check(
      [
        'groups:',
        '  - name: g',
        '    rules:',
        '      - record: a:b',
        '        expr: up',
        '      - record: a:b',
        '        expr: up * 2',
        '      - alert: A',
        '        expr: rate(x[5m]) > 1',
        '        annotations:',
        '          summary: "{{ $value | humanize }}"',
      ].join('\n'),
    );
    expect(result.usable).toBe(false);
    expect(result.lines[0]).toMatch(/^6:\d+: error: group "g", record "a:b": duplicate rule/);
    expect(result.lines[1]).toMatch(
      /^11:\d+: error: .*annotations\.summary: unsupported template expression/,
    );
  });

  it('warns about an alert on an instantaneous threshold without `for`, but not on a windowed one', async () => {
    const result = await check(
      'groups:\n  - name: g\n    rules:\n      - alert: Hot\n        expr: (temp > 80)\n      - alert: Err\n        expr: rate(e[5m]) > 1\n      - alert: Always\n        expr: 1\n',
    );
    expect(result.usable).toBe(true);
    expect(result.lines).toHaveLength(1);
    expect(result.lines[0]).toMatch(/^5:9: warning: group "g", alert "Hot": fires on a single evaluation/);
  });
});
