import type { Command } from 'commander';
import { CliError, EXIT } from './common.js';

/** Where command output goes; stdout in the CLI, a buffer in tests. */
export type Write = (text: string) => void;

/** `swas rules test|check FILE…`. */
export function registerRules(program: Command): void {
  const rules = program.command('rules').description('check rule files and run their unit tests');
  rules
    .command('test')
    .description(
      'run promtool-format rule unit tests (rule_files, input_series, alert_rule_test, promql_expr_test)',
    )
    .argument('<files...>', 'unit-test files')
    .action(async (files: string[]) => {
      const code = await runRulesTest(files, (t) => process.stdout.write(t));
      if (code === EXIT.usage)
        throw new CliError('a test file is not a valid unit-test file (see above)', code);
      if (code !== EXIT.ok) throw new CliError('rule unit tests failed (see above)', code);
    });
  rules
    .command('check')
    .description('lint rule files: YAML and schema, PromQL syntax, duplicate rules, templates, missing "for"')
    .argument('<files...>', 'rule files')
    .action(async (files: string[]) => {
      const code = await runRulesCheck(files, (t) => process.stdout.write(t));
      if (code !== EXIT.ok) throw new CliError('rule files have errors (see above)', code);
    });
}

/** Runs each unit-test file and prints promtool-style results; 0 all pass, 1 a test failed, 2 an invalid file. */
export async function runRulesTest(files: readonly string[], write: Write): Promise<number> {
  const { runUnitTestFile } = await import('../rules/index.js');
  let code: number = EXIT.ok;
  for (const file of files) {
    const result = await runUnitTestFile(file);
    write(`Unit Testing:  ${file}\n`);
    if (result.status === 'pass') {
      write('  SUCCESS\n\n');
      continue;
    }
    write(result.status === 'invalid' ? '  INVALID TEST FILE:\n' : '  FAILED:\n');
    for (const error of result.errors) write(`${error}\n\n`);
    code = result.status === 'invalid' ? EXIT.usage : Math.max(code, EXIT.failure);
  }
  return code;
}

/** Lints each rule file and prints its findings; 1 when any file has an error (warnings alone pass). */
export async function runRulesCheck(files: readonly string[], write: Write): Promise<number> {
  const { checkRuleFile, formatRuleProblem } = await import('../rules/index.js');
  let code: number = EXIT.ok;
  for (const file of files) {
    const { loaded, problems } = await checkRuleFile(file);
    write(`Checking ${file}\n`);
    for (const problem of problems) write(`  ${formatRuleProblem(problem)}\n`);
    if (loaded === null) {
      write('  FAILED\n\n');
      code = EXIT.failure;
      continue;
    }
    const count = loaded.groups.reduce((n, g) => n + g.rules.length, 0);
    write(`  SUCCESS: ${count} rule${count === 1 ? '' : 's'} found\n\n`);
  }
  return code;
}
