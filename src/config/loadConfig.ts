import { dirname, resolve } from 'node:path';
import { checkTemplate } from '../core/index.js';
import { ConfigError, type ConfigIssue } from './ConfigError.js';
import { readEnvOverrides } from './envOverrides.js';
import { expandFilePatterns } from './files.js';
import { loadRuleFile, type ExpressionChecker, type LoadedRuleFile } from './ruleFile.js';
import { runbookSchema, type RunbookConfig } from './runbookFile.js';
import { loadServerTls, type ServerTls } from './serverTls.js';
import { swasConfigSchema, type SwasConfig } from './swasConfig.js';
import { loadYamlFile } from './validate.js';
import type { YamlSource } from './yamlSource.js';

export type { BrokenRuleGroup, BrokenRuleSketch, ExpressionChecker, LoadedRuleFile } from './ruleFile.js';

/** A runbook as loaded, with the file it came from. */
export interface LoadedRunbook {
  readonly file: string;
  readonly runbook: RunbookConfig;
}

/** Everything the server runs from: swas.yaml and the rule and runbook files it names. */
export interface LoadedConfig {
  readonly file: string;
  readonly dir: string;
  readonly config: SwasConfig;
  /** Every rule file; a group with a problem is in its file's `brokenGroups` (and in `warnings`), not evaluated. */
  readonly ruleFiles: readonly LoadedRuleFile[];
  readonly runbooks: readonly LoadedRunbook[];
  /** Problems that do not stop start-up (a broken rule group, a runbook for an alert no rule defines, ...). */
  readonly warnings: readonly ConfigIssue[];
  /** `server.tls` with its certificate, key and client CA read and checked; null serves plain HTTP. */
  readonly serverTls: ServerTls | null;
}

/** Options for {@link loadConfig}. */
export interface LoadConfigOptions {
  /** @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** Validates PromQL in rules and runbooks; the composition root passes the PromQL parser. */
  readonly checkExpression?: ExpressionChecker;
}

/** Loads and cross-checks the whole configuration; throws {@link ConfigError} listing every problem. */
export async function loadConfig(file: string, options: LoadConfigOptions = {}): Promise<LoadedConfig> {
  const path = resolve(file);
  const dir = dirname(path);
  const env = readEnvOverrides(options.env ?? process.env, swasConfigSchema.unwrap());
  if (env.issues.length > 0) throw new ConfigError(env.issues);
  const main = await loadYamlFile(path, swasConfigSchema, env.overrides);
  if (!main.ok) throw new ConfigError(main.issues);
  const config = main.value;
  const issues: ConfigIssue[] = [];
  const warnings: ConfigIssue[] = [];
  const check = options.checkExpression ?? (() => null);
  const serverTls = await loadServerTls(config.server.tls, dir, main.source, issues, warnings);

  const ruleFiles = await loadRuleFiles(dir, config.rules.files, main.source, check, issues, warnings);
  const runbooks: LoadedRunbook[] = [];
  for (const { file: runbookFile, value, source } of await loadAll(
    dir,
    config.runbooks.files,
    'runbooks.files',
    main.source,
    runbookSchema,
    issues,
  )) {
    checkRunbook(value, source, config, check, issues);
    runbooks.push({ file: runbookFile, runbook: value });
  }
  checkCrossReferences(config, main.source, ruleFiles, runbooks, issues, warnings);
  checkPoolGuards(config, main.source, check, issues);
  checkRegistrations(config, main.source, runbooks, issues);
  if (issues.length > 0) throw new ConfigError(issues);
  return { file: path, dir, config, ruleFiles, runbooks, warnings, serverTls };
}

/**
 * Loads every rule file. A pattern that matches nothing or a file that cannot be read is an error (a config
 * pointing at nothing is a deployment mistake); a broken group or file is a warning and is not evaluated.
 */
async function loadRuleFiles(
  dir: string,
  patterns: readonly string[],
  mainSource: YamlSource,
  check: ExpressionChecker,
  issues: ConfigIssue[],
  warnings: ConfigIssue[],
): Promise<LoadedRuleFile[]> {
  const out: LoadedRuleFile[] = [];
  for (const [index, { pattern, files }] of (await expandFilePatterns(dir, patterns)).entries()) {
    if (files.length === 0) issues.push(noMatch(mainSource, 'rules.files', index, pattern));
    for (const file of files) {
      const loaded = await loadRuleFile(file, check);
      if (!loaded.ok) {
        issues.push(...loaded.issues);
        continue;
      }
      out.push(loaded.loaded);
      for (const broken of loaded.loaded.brokenGroups ?? []) {
        const what = broken.wholeFile
          ? 'no group in this file is evaluated until it is fixed'
          : `group "${broken.name}" is not evaluated until it is fixed; the other groups are`;
        warnings.push(...broken.problems.map((p) => ({ ...p, message: `${p.message} (${what})` })));
      }
    }
  }
  const valid = out.reduce((n, f) => n + f.groups.length, 0);
  const broken = out.reduce((n, f) => n + (f.brokenGroups?.length ?? 0), 0);
  if (valid === 0 && broken > 0)
    warnings.push({
      file: mainSource.file,
      line: mainSource.locate(['rules', 'files'])?.line ?? null,
      column: null,
      field: 'rules.files',
      message: `every rule group (${broken}) is broken, so no rule is evaluated and no alert can fire; fix the problems above`,
    });
  return out;
}

function noMatch(mainSource: YamlSource, field: string, index: number, pattern: string): ConfigIssue {
  const pos = mainSource.locate([...field.split('.'), index]);
  return {
    file: mainSource.file,
    line: pos?.line ?? null,
    column: pos?.column ?? null,
    field: `${field}[${index}]`,
    message: `"${pattern}" matches no file`,
  };
}

async function loadAll<T>(
  dir: string,
  patterns: readonly string[],
  field: string,
  mainSource: YamlSource,
  schema: Parameters<typeof loadYamlFile>[1] & { _zod: { output: T } },
  issues: ConfigIssue[],
): Promise<{ file: string; value: T; source: YamlSource }[]> {
  const out: { file: string; value: T; source: YamlSource }[] = [];
  const expanded = await expandFilePatterns(dir, patterns);
  for (const [index, { pattern, files }] of expanded.entries()) {
    if (files.length === 0) issues.push(noMatch(mainSource, field, index, pattern));
    for (const file of files) {
      const loaded = await loadYamlFile(file, schema);
      if (loaded.ok) out.push({ file, value: loaded.value, source: loaded.source });
      else issues.push(...loaded.issues);
    }
  }
  return out;
}

function issueAt(source: YamlSource, path: (string | number)[], field: string, message: string): ConfigIssue {
  const pos = source.locate(path);
  return { file: source.file, line: pos?.line ?? null, column: pos?.column ?? null, field, message };
}

function checkRunbook(
  runbook: RunbookConfig,
  source: YamlSource,
  config: SwasConfig,
  check: ExpressionChecker,
  issues: ConfigIssue[],
): void {
  for (const [key, value] of Object.entries(runbook.target)) {
    const problem = checkTemplate(value);
    if (problem !== null) issues.push(issueAt(source, ['target', key], `target.${key}`, problem));
  }
  const pools = new Set(config.load_balancers.flatMap((lb) => lb.pools));
  const checkSteps = (section: 'steps' | 'undo', steps: readonly RunbookConfig['steps'][number][]) =>
    steps.forEach((step, i) => {
      const at = (field: string, message: string) =>
        issues.push(issueAt(source, [section, i, ...field.split('.')], `${section}[${i}].${field}`, message));
      checkStep(step, at);
    });
  const promql = (expr: string) => check(expr.replace(/\{\{[^}]*\}\}/g, 'x'));
  const checkStep = (
    step: RunbookConfig['steps'][number],
    at: (field: string, message: string) => void,
  ): void => {
    for (const [key, value] of Object.entries(step.with)) {
      if (typeof value === 'string' && key !== 'expr' && key !== 'up') {
        const problem = checkTemplate(value);
        if (problem !== null) at(`with.${key}`, problem);
      }
    }
    if (step.action.startsWith('lb.')) {
      const pool = 'pool' in step.with ? step.with.pool : undefined;
      if (config.load_balancers.length === 0)
        at('action', `${step.action} needs a load balancer, but load_balancers is empty in swas.yaml`);
      else if (pool === undefined && runbook.target.pool === undefined && runbook.rolling === undefined)
        at('with.pool', `${step.action} needs a pool: set with.pool or target.pool`);
      else if (pool !== undefined && !pool.includes('{{') && !pools.has(pool))
        at(
          'with.pool',
          `pool "${pool}" is not served by any load balancer in swas.yaml (known: ${[...pools].join(', ') || 'none'})`,
        );
      const member = 'member' in step.with ? step.with.member : undefined;
      if (member === undefined && runbook.target.member === undefined && runbook.rolling === undefined)
        at('with.member', `${step.action} needs a member: set with.member or target.member`);
    }
    if (step.action.startsWith('service.')) {
      const service = 'service' in step.with ? step.with.service : undefined;
      if (service === undefined && runbook.target.member === undefined && runbook.rolling === undefined)
        at('with.service', `${step.action} needs a service: set with.service or target.member`);
      else if (service !== undefined && !service.includes('{{') && config.services[service] === undefined)
        at('with.service', `service "${service}" is not declared under services: in swas.yaml`);
      const verb = step.action.slice('service.'.length) as 'restart' | 'start' | 'stop';
      const anyDeclares = Object.values(config.services).some((s) => s[verb] !== undefined);
      if (!anyDeclares)
        at('action', `${step.action} needs a "${verb}" command, but no service in swas.yaml declares one`);
    }
    if (
      step.action === 'lb.ready' &&
      typeof step.with.ramp === 'object' &&
      step.with.ramp.check !== undefined
    ) {
      const problem = promql(step.with.ramp.check);
      if (problem !== null) at('with.ramp.check', problem.message);
    }
    if (step.action === 'wait.until' || step.action === 'verify') {
      const problem = promql(step.with.expr);
      if (problem !== null) at('with.expr', problem.message);
    }
    if (step.action === 'host.reboot') {
      const problem = promql(step.with.up);
      if (problem !== null) at('with.up', problem.message);
      const host = step.with.host;
      if (!host.includes('{{') && !Object.hasOwn(config.hosts, host))
        at('with.host', `host "${host}" is not declared under hosts: in swas.yaml`);
    }
    if (step.action === 'run') {
      const command = Object.hasOwn(config.commands, step.with.command)
        ? config.commands[step.with.command]
        : undefined;
      if (command === undefined)
        at(
          'with.command',
          `command "${step.with.command}" is not declared under commands: in swas.yaml (known: ${Object.keys(config.commands).join(', ') || 'none'})`,
        );
      else {
        for (const arg of Object.keys(step.with.args))
          if (!command.args.includes(arg))
            at(
              `with.args.${arg}`,
              `command "${step.with.command}" declares no arg "${arg}" (it declares: ${command.args.join(', ') || 'none'})`,
            );
        for (const arg of command.args)
          if (!Object.hasOwn(step.with.args, arg))
            at('with.args', `command "${step.with.command}" needs a value for its arg "${arg}"`);
      }
    }
  };
  if (runbook.rolling !== undefined && runbook.undo !== undefined)
    issues.push(
      issueAt(
        source,
        ['undo'],
        'undo',
        'a rolling runbook undoes the batch it was acting on by itself; leave undo out',
      ),
    );
  const rollingPool = runbook.rolling?.pool;
  if (rollingPool !== undefined && !rollingPool.includes('{{') && !pools.has(rollingPool))
    issues.push(
      issueAt(
        source,
        ['rolling', 'pool'],
        'rolling.pool',
        `pool "${rollingPool}" is not served by any load balancer in swas.yaml (known: ${[...pools].join(', ') || 'none'})`,
      ),
    );
  checkSteps('steps', runbook.steps);
  if (runbook.undo !== undefined && runbook.undo !== null) checkSteps('undo', runbook.undo);
}

// A registration names a pool swas can act on and a runbook that exists, or agents would join nothing.
function checkRegistrations(
  config: SwasConfig,
  source: YamlSource,
  runbooks: readonly LoadedRunbook[],
  issues: ConfigIssue[],
): void {
  const served = new Set(config.load_balancers.flatMap((lb) => lb.pools));
  const names = new Set(runbooks.map((r) => r.runbook.name));
  config.agents.register.forEach((entry, i) => {
    const at = (field: string, message: string) =>
      issues.push(
        issueAt(source, ['agents', 'register', i, field], `agents.register[${i}].${field}`, message),
      );
    if (!served.has(entry.pool))
      at(
        'pool',
        `pool "${entry.pool}" is not served by any load balancer in swas.yaml (known: ${[...served].join(', ') || 'none'})`,
      );
    if (!names.has(entry.runbook))
      at('runbook', `no runbook is named "${entry.runbook}" (loaded: ${[...names].join(', ') || 'none'})`);
  });
}

// Guards for a pool no load balancer serves would never apply: a typo must not switch safety off.
function checkPoolGuards(
  config: SwasConfig,
  source: YamlSource,
  check: ExpressionChecker,
  issues: ConfigIssue[],
): void {
  const served = new Set(config.load_balancers.flatMap((lb) => lb.pools));
  for (const [pool, guards] of Object.entries(config.pools)) {
    if (!served.has(pool))
      issues.push(
        issueAt(
          source,
          ['pools', pool],
          `pools.${pool}`,
          `pool "${pool}" is not served by any load balancer in swas.yaml (known: ${[...served].join(', ') || 'none'})`,
        ),
      );
    const capacity = guards.capacity;
    if (capacity === undefined) continue;
    for (const field of ['load', 'member_capacity_query'] as const) {
      const expr = capacity[field];
      const problem = expr === undefined ? null : check(expr);
      if (problem !== null)
        issues.push(
          issueAt(
            source,
            ['pools', pool, 'capacity', field],
            `pools.${pool}.capacity.${field}`,
            problem.message,
          ),
        );
    }
  }
}

function checkCrossReferences(
  config: SwasConfig,
  source: YamlSource,
  ruleFiles: readonly LoadedRuleFile[],
  runbooks: readonly LoadedRunbook[],
  issues: ConfigIssue[],
  warnings: ConfigIssue[],
): void {
  const unique = (values: string[], path: (i: number) => (string | number)[], what: string) => {
    const seen = new Set<string>();
    values.forEach((v, i) => {
      if (seen.has(v))
        issues.push(
          issueAt(source, path(i), path(i).join('.'), `${what} "${v}" is used twice; names must be unique`),
        );
      seen.add(v);
    });
  };
  unique(
    config.scrape_configs.map((s) => s.job_name),
    (i) => ['scrape_configs', i, 'job_name'],
    'job_name',
  );
  unique(
    config.load_balancers.map((s) => s.name),
    (i) => ['load_balancers', i, 'name'],
    'load balancer name',
  );
  unique(
    config.probes.map((p) => p.name),
    (i) => ['probes', i, 'name'],
    'probe name',
  );
  unique(
    config.notify.webhooks.map((s) => s.name),
    (i) => ['notify', 'webhooks', i, 'name'],
    'webhook name',
  );
  config.scrape_configs.forEach((job, i) => {
    const interval = job.scrape_interval ?? config.scrape.interval;
    if (job.scrape_timeout !== undefined && job.scrape_timeout > interval) {
      issues.push(
        issueAt(
          source,
          ['scrape_configs', i, 'scrape_timeout'],
          `scrape_configs[${i}].scrape_timeout`,
          'must not be longer than the scrape interval',
        ),
      );
    }
  });
  // An alert of a broken group still counts: the runbook is right, the rule needs fixing.
  const alerts = new Set(
    ruleFiles.flatMap((f) => [
      ...f.groups.flatMap((g) => g.rules.flatMap((r) => ('alert' in r ? [r.alert] : []))),
      ...(f.brokenGroups ?? []).flatMap((g) =>
        g.rules.flatMap((r) => (r.kind === 'alerting' ? [r.name] : [])),
      ),
    ]),
  );
  const names = new Set<string>();
  for (const { file, runbook } of runbooks) {
    if (names.has(runbook.name))
      issues.push({
        file,
        line: null,
        column: null,
        field: 'name',
        message: `runbook "${runbook.name}" is defined in more than one file`,
      });
    names.add(runbook.name);
    for (const alert of (runbook.trigger.alert ?? []).filter((a) => !alerts.has(a))) {
      warnings.push({
        file,
        line: null,
        column: null,
        field: 'trigger.alert',
        message: `no rule defines alert "${alert}"; this runbook runs only for alerts that arrive from elsewhere`,
      });
    }
  }
}
