import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkRuleFile, formatRuleProblem, runUnitTestFile } from '../../src/rules/index.js';
import { makeTempDir } from '../../test/support/tmp.js';

// The example rule sets and their promtool-format unit tests: each must pass under `swas rules test`, lint
// clean under `swas rules check`, and pass the real promtool as a cross-check of the semantics.

const RULES_DIR = fileURLToPath(new URL('.', import.meta.url));
const TESTS_DIR = join(RULES_DIR, 'tests');
const RULE_FILES = ['compound-degradation.yml', 'peer-deviation.yml', 'exhaustion.yml', 'absence.yml'];
const PROMTOOL = '/usr/bin/promtool';
const TIMEOUT = 120_000;

interface TestFileSpec {
  rule_files: string[];
  tests: { name: string; alert_rule_test?: { alertname: string; exp_alerts?: unknown[] | null }[] }[];
}

async function testFiles(): Promise<string[]> {
  return (await readdir(TESTS_DIR)).filter((n) => n.endsWith('.test.yml')).sort();
}

async function readYaml<T>(file: string): Promise<T> {
  return parse(await readFile(file, 'utf8')) as T;
}

describe('example rule sets (examples/rules)', () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  beforeAll(async () => {
    tmp = await makeTempDir('example-rules');
  });
  afterAll(async () => tmp?.remove());

  it('has one unit-test file per rule set', async () => {
    expect(await testFiles()).toEqual(RULE_FILES.map((f) => f.replace(/\.yml$/, '.test.yml')).sort());
    for (const name of RULE_FILES) {
      const spec = await readYaml<TestFileSpec>(join(TESTS_DIR, name.replace(/\.yml$/, '.test.yml')));
      expect(spec.rule_files).toEqual([`../${name}`]);
    }
  });

  it.each(RULE_FILES)('%s passes `swas rules check` without errors or warnings', async (name) => {
    const checked = await checkRuleFile(join(RULES_DIR, name));
    expect(checked.problems.map(formatRuleProblem)).toEqual([]);
    expect(checked.loaded).not.toBeNull();
  });

  it.each(RULE_FILES)('every alert of %s is shown firing by a test', async (name) => {
    const rules = await readYaml<{ groups: { rules: { alert?: string }[] }[] }>(join(RULES_DIR, name));
    const alerts = rules.groups.flatMap((g) => g.rules.flatMap((r) => (r.alert ? [r.alert] : [])));
    const spec = await readYaml<TestFileSpec>(join(TESTS_DIR, name.replace(/\.yml$/, '.test.yml')));
    const shownFiring = new Set(
      spec.tests.flatMap((t) =>
        (t.alert_rule_test ?? []).filter((a) => (a.exp_alerts ?? []).length > 0).map((a) => a.alertname),
      ),
    );
    expect(alerts.length).toBeGreaterThan(0);
    expect(alerts.filter((a) => !shownFiring.has(a))).toEqual([]);
  });

  it.each(RULE_FILES.map((f) => f.replace(/\.yml$/, '.test.yml')))(
    '%s passes `swas rules test`',
    async (name) => {
      const result = await runUnitTestFile(join(TESTS_DIR, name));
      expect(result.errors.join('\n')).toBe('');
      expect(result.status).toBe('pass');
    },
    TIMEOUT,
  );

  // The near-miss cases only mean something if they fail when a rule loses a guard. Each mutation removes
  // one condition from a copy of the rule file; the named test group must then fail.
  const mutations = [
    {
      rules: 'compound-degradation.yml',
      remove: 'and on (pool) pool:node_cpu:utilisation_5m > 0.75',
      failingGroup: 'one or two signals alone, below their page thresholds, fire nothing',
    },
    {
      rules: 'peer-deviation.yml',
      remove: 'and on (pool) count by (pool) (instance:http_requests:error_ratio_5m) >= 3',
      failingGroup: 'a pool of two members is not compared',
    },
    {
      rules: 'exhaustion.yml',
      remove: '{fstype!~"tmpfs|overlay|squashfs"}',
      failingGroup: 'a filesystem filling fast fires; flat, slowly filling and tmpfs filesystems do not',
    },
  ];
  it.each(mutations)(
    'the tests of $rules fail when a guard is removed from it',
    async ({ rules, remove, failingGroup }) => {
      const text = await readFile(join(RULES_DIR, rules), 'utf8');
      expect(text).toContain(remove);
      await writeFile(join(tmp.dir, rules), text.split(remove).join(''));
      const testName = rules.replace(/\.yml$/, '.test.yml');
      const spec = await readFile(join(TESTS_DIR, testName), 'utf8');
      await writeFile(join(tmp.dir, testName), spec.replace(`[../${rules}]`, `[${rules}]`));
      const result = await runUnitTestFile(join(tmp.dir, testName));
      expect(result.status).toBe('fail');
      expect(result.errors.join('\n')).toContain(failingGroup);
    },
    TIMEOUT,
  );

  const promtoolNote = existsSync(PROMTOOL)
    ? ''
    : ` (skipped: ${PROMTOOL} is missing; apt-get install prometheus provides it)`;
  it.skipIf(!existsSync(PROMTOOL))(
    `every test file passes the real promtool too${promtoolNote}`,
    async () => {
      const files = await testFiles();
      const { stdout } = await promisify(execFile)(PROMTOOL, ['test', 'rules', ...files], {
        cwd: TESTS_DIR,
      }).catch((error: { stdout?: string; stderr?: string; message: string }) => {
        throw new Error(`promtool test rules failed:\n${error.stdout ?? ''}${error.stderr ?? error.message}`);
      });
      expect(stdout.match(/SUCCESS/g)?.length).toBe(files.length);
    },
    TIMEOUT,
  );
});
