import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { isScalar, parseDocument } from 'yaml';
import { expandFilePatterns } from '../config/index.js';
import { formatConfigIssue, loadYamlFile } from '../config/index.js';
import { errorMessage, formatDuration, STALE_NAN, type Labels } from '../core/index.js';
import {
  EmbeddedPromqlQuery,
  expandSeriesValues,
  parseSeriesDescriptor,
  type NotationValue,
} from '../promql/index.js';
import { MemorySeriesStore } from '../tsdb/index.js';
import { checkRuleFile, formatRuleProblem } from './ruleCheck.js';
import { compileRuleGroups, type RuleGroupSpec } from './ruleGroups.js';
import { asVector, UnitTestEvaluator, type FiringAlert } from './unitTestEval.js';
import {
  unitTestFileSchema,
  type AlertTestCase,
  type UnitTestFile,
  type UnitTestGroup,
} from './unitTestFile.js';
import {
  alertListString,
  compareLabels,
  goFloatE,
  indentLines,
  promLabelsString,
  withinOneUlp,
} from './unitTestFormat.js';

/** The outcome of one test file: `invalid` when the file itself cannot be read as a unit-test file. */
export interface UnitTestFileResult {
  readonly file: string;
  readonly status: 'pass' | 'fail' | 'invalid';
  /** promtool-style failure blocks, one per failed check. */
  readonly errors: readonly string[];
}

/** Runs one promtool-format rule unit-test file (`swas rules test`). */
export async function runUnitTestFile(file: string): Promise<UnitTestFileResult> {
  const loaded = await loadYamlFile(file, unitTestFileSchema);
  if (!loaded.ok) return { file, status: 'invalid', errors: loaded.issues.map(formatConfigIssue) };
  const spec = { ...loaded.value, tests: await withRawSeriesValues(file, loaded.value.tests) };
  const groups = await loadGroups(file, spec);
  if (!groups.ok) return { file, status: 'fail', errors: groups.errors };
  const errors: string[] = [];
  for (const test of spec.tests) {
    errors.push(...(await runTestGroup(test, groups.groups, spec)));
  }
  return { file, status: errors.length === 0 ? 'pass' : 'fail', errors };
}

async function loadGroups(
  file: string,
  spec: UnitTestFile,
): Promise<{ ok: true; groups: RuleGroupSpec[] } | { ok: false; errors: string[] }> {
  const errors: string[] = [];
  const order = new Map<string, number>();
  for (const [i, name] of spec.group_eval_order.entries()) {
    if (order.has(name)) errors.push(`group name repeated in evaluation order: ${name}`);
    order.set(name, i);
  }
  const loaded = [];
  for (const { pattern, files } of await expandFilePatterns(dirname(file), spec.rule_files)) {
    if (files.length === 0)
      errors.push(`rule_files: no file matches "${pattern}" (relative to ${dirname(file)})`);
    for (const ruleFile of files) {
      const checked = await checkRuleFile(ruleFile);
      for (const p of checked.problems)
        if (p.severity === 'error') errors.push(`    ${formatRuleProblem(p)}`);
      if (checked.loaded !== null) loaded.push(checked.loaded);
    }
  }
  if (errors.length > 0) return { ok: false, errors };
  // Groups named in group_eval_order run in that order; the others keep file order after position 0, as promtool.
  const groups = compileRuleGroups(loaded, spec.evaluation_interval)
    .map((g, i) => ({ g, i, rank: order.get(g.name) ?? 0 }))
    .sort((a, b) => a.rank - b.rank || a.i - b.i)
    .map((x) => x.g);
  const missing = spec.group_eval_order.filter((name) => !groups.some((g) => g.name === name));
  if (missing.length > 0)
    return {
      ok: false,
      errors: missing.map((n) => `group_eval_order names group "${n}", which no rule file defines`),
    };
  return { ok: true, groups };
}

/**
 * promtool reads `values:` as the text written: unquoted `0x10` is "0 repeated 10 times", not hex 16 as YAML 1.2
 * would resolve it. So the values come from the scalars' source text.
 */
async function withRawSeriesValues(file: string, tests: UnitTestGroup[]): Promise<UnitTestGroup[]> {
  const doc = parseDocument(await readFile(file, 'utf8'));
  return tests.map((test, i) => ({
    ...test,
    input_series: test.input_series.map((input, j) => {
      const node = doc.getIn(['tests', i, 'input_series', j, 'values'], true);
      return isScalar(node) && typeof node.source === 'string' && typeof node.value === 'number'
        ? { ...input, values: node.source }
        : input;
    }),
  }));
}

interface InputSeries {
  readonly labels: Labels;
  readonly values: NotationValue[];
  next: number;
}

async function runTestGroup(
  test: UnitTestGroup,
  groups: readonly RuleGroupSpec[],
  spec: UnitTestFile,
): Promise<string[]> {
  const where = test.name === undefined ? '' : `    name: ${test.name},\n`;
  const series = parseInputSeries(test);
  if (typeof series === 'string') return [`${where}    ${series}`];
  const store = new MemorySeriesStore();
  const query = EmbeddedPromqlQuery.create({ reader: store, subqueryStepMs: spec.evaluation_interval });
  const evaluator = new UnitTestEvaluator(groups, query, store, {
    labels: test.external_labels,
    url: test.external_url ?? '',
  });
  const intervalMs = test.interval || spec.evaluation_interval;
  const evalMs = spec.evaluation_interval;
  const maxt = Math.max(
    0,
    ...test.alert_rule_test.map((a) => a.eval_time),
    ...test.promql_expr_test.map((p) => p.eval_time),
  );
  const alertTimes = [...new Set(test.alert_rule_test.map((a) => a.eval_time))].sort((a, b) => a - b);
  let curr = 0;
  const errors: string[] = [];
  for (let ts = 0; ts <= maxt; ts += evalMs) {
    loadTill(store, series, intervalMs, ts);
    const evalErrors = await evaluator.evaluateAt(ts);
    if (evalErrors.length > 0) {
      return [
        ...errors,
        ...evalErrors.map(
          (e) => `${where}    rule: ${e.rule}, time: ${formatDuration(e.atMs)}, err: ${e.message}`,
        ),
      ];
    }
    // An alert check at eval_time t uses the evaluation at the tick ts with ts <= t < ts + interval.
    while (
      curr < alertTimes.length &&
      (alertTimes[curr] ?? 0) >= ts &&
      (alertTimes[curr] ?? 0) < ts + evalMs
    ) {
      const t = alertTimes[curr] ?? 0;
      for (const c of test.alert_rule_test.filter((a) => a.eval_time === t)) {
        const failure = compareAlerts(c, evaluator.firingAlerts(c.alertname));
        if (failure !== null) errors.push(`${where}${failure}`);
      }
      curr++;
    }
  }
  for (const c of test.promql_expr_test) {
    const failure = await comparePromql(c, query, spec.fuzzy_compare);
    if (failure !== null) errors.push(`${where}${failure}`);
  }
  return errors;
}

function parseInputSeries(test: UnitTestGroup): InputSeries[] | string {
  const out: InputSeries[] = [];
  for (const input of test.input_series) {
    try {
      const text = input.series.trim();
      const labels = text === '{}' ? {} : parseSeriesDescriptor(text);
      out.push({ labels, values: expandSeriesValues(input.values), next: 0 });
    } catch (error) {
      return `input_series "${input.series}": ${errorMessage(error)}`;
    }
  }
  return out;
}

// promtool loads input samples lazily, up to each evaluation tick, so rules never see samples from the future.
function loadTill(store: MemorySeriesStore, series: InputSeries[], intervalMs: number, ts: number): void {
  for (const s of series) {
    while (s.next < s.values.length && s.next * intervalMs <= ts) {
      const v = s.values[s.next];
      if (v !== null && v !== undefined)
        store.append(s.labels, s.next * intervalMs, v === 'stale' ? STALE_NAN : v);
      s.next++;
    }
  }
}

function compareAlerts(test: AlertTestCase, got: FiringAlert[]): string | null {
  const expected: FiringAlert[] = test.exp_alerts.map((a) => ({
    labels: dropEmpty({ ...a.exp_labels, alertname: test.alertname }),
    annotations: a.exp_annotations,
  }));
  const actual = got.map((a) => ({ labels: dropEmpty(a.labels), annotations: a.annotations }));
  const order = (a: FiringAlert, b: FiringAlert): number =>
    compareLabels(a.labels, b.labels) || compareLabels(a.annotations, b.annotations);
  expected.sort(order);
  actual.sort(order);
  const same =
    expected.length === actual.length &&
    expected.every((e, i) => {
      const a = actual[i];
      return a !== undefined && order(e, a) === 0;
    });
  if (same) return null;
  const indent = '            ';
  return (
    `    alertname: ${test.alertname}, time: ${formatDuration(test.eval_time)}, \n` +
    `        exp:${indentLines(alertListString(expected), indent)}, \n` +
    `        got:${indentLines(alertListString(actual), indent)}`
  );
}

// Prometheus never keeps a label with an empty value on an alert.
function dropEmpty(labels: Labels): Labels {
  return Object.fromEntries(Object.entries(labels).filter(([, v]) => v !== ''));
}

async function comparePromql(
  test: UnitTestGroup['promql_expr_test'][number],
  query: EmbeddedPromqlQuery,
  fuzzy: boolean,
): Promise<string | null> {
  const head = `    expr: ${JSON.stringify(test.expr)}, time: ${formatDuration(test.eval_time)}`;
  const got = asVector(await query.instant(test.expr, test.eval_time));
  if (typeof got === 'string') return `${head}, err: ${got}`;
  const expected: { labels: Labels; value: number }[] = [];
  for (const s of test.exp_samples) {
    try {
      const text = s.labels.trim();
      expected.push({
        labels: text === '' || text === '{}' ? {} : parseSeriesDescriptor(text),
        value: s.value,
      });
    } catch (error) {
      return `${head}, err: labels ${JSON.stringify(s.labels)}: ${errorMessage(error)}`;
    }
  }
  const byLabels = (a: { labels: Labels }, b: { labels: Labels }): number =>
    compareLabels(a.labels, b.labels);
  expected.sort(byLabels);
  got.sort(byLabels);
  const equal = (x: number, y: number): boolean => (fuzzy ? withinOneUlp(x, y) : x === y);
  const same =
    expected.length === got.length &&
    expected.every((e, i) => {
      const g = got[i];
      return g !== undefined && compareLabels(e.labels, g.labels) === 0 && equal(e.value, g.value);
    });
  if (same) return null;
  const show = (xs: { labels: Labels; value: number }[]): string =>
    xs.length === 0 ? 'nil' : xs.map((x) => `${promLabelsString(x.labels)} ${goFloatE(x.value)}`).join(', ');
  return `${head},\n        exp: ${show(expected)}\n        got: ${show(got)}`;
}
