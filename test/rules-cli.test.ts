import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { CliError } from '../src/cli/common.js';
import { registerRules, runRulesTest } from '../src/cli/rules.js';

const REPO = resolve(fileURLToPath(new URL('..', import.meta.url)));
const PROMTOOL_DIR = resolve(REPO, '../shared/conformance/promtool');
// Test files the conformance data holds but expected.json leaves out: native histograms are out of scope
// (unittest-float.yml is its float-only copy); bad-promql.yml is checked separately below.
const NOT_IN_EXPECTED = ['bad-promql.yml', 'unittest.yml'];

async function expectedOutcomes(): Promise<Record<string, 'pass' | 'fail'>> {
  const raw = JSON.parse(await readFile(join(PROMTOOL_DIR, 'expected.json'), 'utf8')) as Record<
    string,
    string
  >;
  return Object.fromEntries(Object.entries(raw).filter(([k]) => !k.startsWith('_'))) as Record<
    string,
    'pass' | 'fail'
  >;
}

async function isUnitTestFile(file: string): Promise<boolean> {
  const value: unknown = parse(await readFile(file, 'utf8'));
  return typeof value === 'object' && value !== null && 'tests' in value;
}

async function runOne(file: string): Promise<{ code: number; output: string }> {
  let output = '';
  const code = await runRulesTest([file], (t) => (output += t));
  return { code, output };
}

describe('swas rules test on the promtool conformance files', { timeout: 120_000 }, () => {
  it('finds every unit-test file in the directory listed in expected.json or known to be out of it', async () => {
    const expected = await expectedOutcomes();
    const testFiles: string[] = [];
    for (const name of (await readdir(PROMTOOL_DIR)).filter((n) => n.endsWith('.yml')).sort()) {
      if (await isUnitTestFile(join(PROMTOOL_DIR, name))) testFiles.push(name);
    }
    expect(testFiles.filter((n) => !(n in expected))).toEqual(NOT_IN_EXPECTED);
    expect(Object.keys(expected).every((n) => testFiles.includes(n))).toBe(true);
  });

  it('passes and fails each file exactly as Prometheus 3 promtool does', async () => {
    const expected = await expectedOutcomes();
    const got: Record<string, string> = {};
    for (const name of Object.keys(expected)) {
      const { code } = await runOne(join(PROMTOOL_DIR, name));
      got[name] = code === 0 ? 'pass' : code === 1 ? 'fail' : `exit ${code}`;
    }
    expect(got).toEqual(expected);
  });

  it('reports failures as promtool does: expression, time, expected and got', async () => {
    const { code, output } = await runOne(join(PROMTOOL_DIR, 'failing.yml'));
    expect(code).toBe(1);
    expect(output).toContain('FAILED:');
    expect(output).toContain(
      '    name: Failing test,\n    expr: "test", time: 0s,\n        exp: {__name__="test"} 1E+00\n        got: {__name__="test"} 0E+00',
    );
    expect(output).toContain('alertname: InstanceDown, time: 5m, \n        exp:[], \n        got:[');
    expect(output).toContain('Labels:{alertname="AlwaysFiring"}');
  });

  it('fails a rule file with bad PromQL at load, naming file, line and position', async () => {
    const { code, output } = await runOne(join(PROMTOOL_DIR, 'bad-rules-syntax-test.yml'));
    expect(code).toBe(1);
    expect(output).toMatch(/bad-rules-syntax\.yml:7:9: error: .*record "x": PromQL error at 1:7/);
  });

  it('fails a rule that errors during evaluation, and a test expression that errors', async () => {
    const rules = await runOne(join(PROMTOOL_DIR, 'bad-rules-error-test.yml'));
    expect(rules.code).toBe(1);
    expect(rules.output).toMatch(/rule: joined, time: 0s, err: .*many-to-many matching not allowed/);
    const expr = await runOne(join(PROMTOOL_DIR, 'bad-promql.yml'));
    expect(expr.code).toBe(1);
    expect(expr.output).toMatch(/expr: "join_1 \+ on\(a\) join_2", time: 0s, err: .*many-to-many/);
  });

  it('exits through the command line with 1 on failure, 2 on an invalid file, 0 on success', async () => {
    const run = async (args: string[]): Promise<number> => {
      const program = new Command('swas').exitOverride();
      registerRules(program);
      for (const c of program.commands.flatMap((p) => [p, ...p.commands])) c.exitOverride();
      try {
        await program.parseAsync(args, { from: 'user' });
        return 0;
      } catch (error) {
        if (error instanceof CliError) return error.exitCode;
        throw error;
      }
    };
    expect(await run(['rules', 'test', join(PROMTOOL_DIR, 'at-modifier-test.yml')])).toBe(0);
    expect(await run(['rules', 'test', join(PROMTOOL_DIR, 'failing.yml')])).toBe(1);
    // A rule file is not a unit-test file: `groups:` is an unknown field there.
    expect(await run(['rules', 'test', join(PROMTOOL_DIR, 'rules.yml')])).toBe(2);
    expect(await run(['rules', 'check', join(PROMTOOL_DIR, 'rules.yml')])).toBe(0);
    expect(await run(['rules', 'check', join(PROMTOOL_DIR, 'bad-rules-syntax.yml')])).toBe(1);
  });
});
