import { readFile, writeFile } from 'node:fs/promises';
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

  it('flags duplicate rules as errors', async () => {
    const result = await check(
      'groups:\n  - name: g\n    rules:\n      - record: a:b\n        expr: up\n      - record: a:b\n        expr: up * 2\n',
    );
    expect(result.usable).toBe(false);
    expect(result.lines).toHaveLength(1);
    expect(result.lines[0]).toMatch(/^6:\d+: error: group "g", record "a:b": duplicate rule/);
  });

  it('accepts Prometheus templates: pipelines, functions, conditionals, queries', async () => {
    const result = await check(
      [
        'groups:',
        '  - name: g',
        '    rules:',
        '      - alert: HighLoad',
        '        expr: rate(x[5m]) > 1',
        '        labels:',
        "          severity: '{{ if gt $value 10.0 }}page{{ else }}ticket{{ end }}'",
        '        annotations:',
        '          summary: "{{ $labels.instance | stripPort }}: {{ $value | humanize }}"',
        '          description: |',
        '            {{- with query "sum(x)" }}total {{ . | first | value | humanizePercentage }}{{ end -}}',
        '            {{ range $k, $v := $externalLabels }} {{ $k }}={{ $v }}{{ end }}',
      ].join('\n'),
    );
    expect(result).toEqual({ usable: true, lines: [] });
  });

  it('accepts the template example of docs/rules.md', async () => {
    const docs = await readFile(new URL('../../docs/rules.md', import.meta.url), 'utf8');
    const section = docs.slice(docs.indexOf('## Templates'));
    const example = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
    expect(example).toContain('humanize');
    expect(await check(example ?? '')).toEqual({ usable: true, lines: [] });
  });

  it('reports template errors with group, rule, field and the position inside the template', async () => {
    const result = await check(
      [
        'groups:',
        '  - name: web',
        '    rules:',
        '      - alert: A',
        '        expr: rate(x[5m]) > 1',
        '        labels:',
        '          team: "{{ $labels.team | lower }}"',
        '        annotations:',
        '          summary: "{{ $value | humanise }}"',
        '          description: "{{ if $value }}unclosed"',
        '          runbook: "{{ $undefined }}"',
      ].join('\n'),
    );
    expect(result.usable).toBe(false);
    expect(result.lines).toEqual([
      '7:11: error: group "web", alert "A": labels.team:1:19: function "lower" not defined; did you mean "toLower"?',
      '9:11: error: group "web", alert "A": annotations.summary:1:13: function "humanise" not defined; did you mean "humanize"?',
      '10:11: error: group "web", alert "A": annotations.description:1:24: unexpected EOF: {{if}} has no {{end}}',
      '11:11: error: group "web", alert "A": annotations.runbook:1:4: undefined variable "$undefined"',
    ]);
  });

  it('warns about an alert on an instantaneous threshold without `for`, but not on a windowed one', async () => {
    const result = await check(
      'groups:\n  - name: g\n    rules:\n      - alert: Hot\n        expr: (temp > 80)\n      - alert: Err\n        expr: rate(e[5m]) > 1\n      - alert: Always\n        expr: 1\n',
    );
    expect(result.usable).toBe(true);
    expect(result.lines).toHaveLength(1);
    expect(result.lines[0]).toMatch(/^5:9: warning: group "g", alert "Hot": fires on a single evaluation/);
  });

  it('locates PromQL errors in resolve_when in the file and inside the expression', async () => {
    const result = await check(
      'groups:\n  - name: g\n    rules:\n      - alert: Hot\n        expr: temp > 90\n        for: 5m\n        resolve_when: temp <\n',
    );
    expect(result.usable).toBe(false);
    expect(result.lines).toHaveLength(1);
    expect(result.lines[0]).toMatch(
      /^7:9: error: group "g", alert "Hot": PromQL error at 1:\d+ of resolve_when: /,
    );
  });

  it('warns when resolve_when is used with an expr that is not `V > number`', async () => {
    const result = await check(
      [
        'groups:',
        '  - name: g',
        '    rules:',
        '      - alert: Hot',
        '        expr: temp > on(room) limit',
        '        for: 5m',
        '        resolve_when: temp < 70',
        '      - alert: Fine',
        '        expr: temp > 90',
        '        for: 5m',
        '        resolve_when: temp < 70',
      ].join('\n'),
    );
    expect(result.usable).toBe(true);
    expect(result.lines).toEqual([
      '5:9: warning: group "g", alert "Hot": uses resolve_when, but expr is not a comparison with a number, so alerts between the thresholds resolve 5 minutes after expr last returned them; write expr as `V > number`',
    ]);
  });

  it('warns when a label uses $value together with resolve_when, not without it', async () => {
    const result = await check(
      [
        'groups:',
        '  - name: g',
        '    rules:',
        '      - alert: Hot',
        '        expr: temp > 90',
        '        for: 5m',
        '        resolve_when: temp < 70',
        '        labels:',
        '          level: "{{ $value }}"',
        '      - alert: Warm',
        '        expr: temp > 80',
        '        for: 5m',
        '        labels:',
        '          level: "{{ $value }}"',
      ].join('\n'),
    );
    expect(result.usable).toBe(true);
    expect(result.lines).toHaveLength(1);
    expect(result.lines[0]).toMatch(
      /^9:11: warning: group "g", alert "Hot": label "level" uses \$value together with resolve_when; .*put \$value in an annotation$/,
    );
  });
});
