import {
  loadYamlFile,
  ruleFileSchema,
  type AlertingRuleConfig,
  type LoadedRuleFile,
  type RuleFile,
  type YamlSource,
} from '../config/index.js';
import { labelsKey } from '../core/index.js';
import { parseExpr, unwrapParens, walkExpr, type Expr } from '../promql/index.js';
import { parseAlertTemplate } from './alertTemplate.js';
import { thresholdValueExpr } from './ruleGroups.js';
import { templateFunctionNames } from './templateFunctions.js';

/** One finding of `swas rules check`; errors make the file unusable, warnings are advice. */
export interface RuleProblem {
  readonly severity: 'error' | 'warning';
  readonly file: string;
  readonly line: number | null;
  readonly column: number | null;
  readonly message: string;
}

/** The outcome of checking one rule file: its groups when they can be evaluated, and every finding. */
export interface RuleFileCheck {
  readonly loaded: LoadedRuleFile | null;
  readonly problems: readonly RuleProblem[];
}

const COMPARISONS = new Set(['==', '!=', '>', '<', '>=', '<=']);

/** Formats a finding as `file:line:column: severity: message`, the shape editors and CI logs link. */
export function formatRuleProblem(problem: RuleProblem): string {
  const where =
    problem.line === null ? problem.file : `${problem.file}:${problem.line}:${problem.column ?? 1}`;
  return `${where}: ${problem.severity}: ${problem.message}`;
}

/**
 * Reads and lints one rule file: YAML and schema errors, PromQL syntax errors (with their position in the file),
 * duplicate rules in a group, template syntax errors and unknown template functions (with line:column inside
 * the template), alerts on bare thresholds without `for`, and `resolve_when` that cannot work as written.
 */
export async function checkRuleFile(file: string): Promise<RuleFileCheck> {
  const loaded = await loadYamlFile(file, ruleFileSchema);
  if (!loaded.ok) {
    return {
      loaded: null,
      problems: loaded.issues.map((i) => ({
        severity: 'error' as const,
        file: i.file,
        line: i.line,
        column: i.column,
        message: i.field === '' ? i.message : `${i.field}: ${i.message}`,
      })),
    };
  }
  const problems = lintGroups(loaded.value, loaded.source);
  const usable = problems.every((p) => p.severity !== 'error');
  return { loaded: usable ? { file, groups: loaded.value.groups } : null, problems };
}

function lintGroups(value: RuleFile, source: YamlSource): RuleProblem[] {
  const problems: RuleProblem[] = [];
  const at = (path: (string | number)[], severity: RuleProblem['severity'], message: string): void => {
    const pos = source.locate(path);
    problems.push({
      severity,
      file: source.file,
      line: pos?.line ?? null,
      column: pos?.column ?? null,
      message,
    });
  };
  const groupNames = new Set<string>();
  value.groups.forEach((group, g) => {
    if (groupNames.has(group.name))
      at(
        ['groups', g, 'name'],
        'error',
        `group "${group.name}" is defined twice; give each group its own name`,
      );
    groupNames.add(group.name);
    const seen = new Set<string>();
    group.rules.forEach((rule, r) => {
      const path = ['groups', g, 'rules', r];
      const name = 'alert' in rule ? rule.alert : rule.record;
      const what = `group "${group.name}", ${'alert' in rule ? 'alert' : 'record'} "${name}"`;
      const key = `${'alert' in rule ? 'a' : 'r'}\0${name}\0${labelsKey(rule.labels)}`;
      if (seen.has(key))
        at(
          path,
          'error',
          `${what}: duplicate rule (same name and labels earlier in the group); remove or rename one`,
        );
      seen.add(key);
      const parsed = parseExpr(rule.expr);
      if (!parsed.ok) {
        const { line, column } = parsed.error.position;
        at(
          [...path, 'expr'],
          'error',
          `${what}: PromQL error at ${line}:${column} of expr: ${parsed.error.message}`,
        );
        return;
      }
      if (!('alert' in rule)) return;
      if (rule.resolve_when !== undefined) lintResolveWhen(rule, rule.resolve_when, what, path, at);
      const templates = [
        ...Object.entries(rule.labels).map(([k, v]) => ['labels', k, v] as const),
        ...Object.entries(rule.annotations).map(([k, v]) => ['annotations', k, v] as const),
      ];
      for (const [section, field, text] of templates) {
        const parsed = parseAlertTemplate(text, `${section}.${field}`);
        if (!parsed.ok) at([...path, section, field], 'error', `${what}: ${withHint(parsed.error)}`);
      }
      if (rule.for === 0 && isBareThreshold(parsed.expr))
        at(
          [...path, 'expr'],
          'warning',
          `${what}: fires on a single evaluation of an instantaneous threshold; add "for:" (e.g. 5m) or compare a range aggregate so one noisy sample does not page`,
        );
    });
  });
  return problems;
}

/** `resolve_when` (hysteresis): its PromQL, an `expr` it can tell "between thresholds" from, no `$value` labels. */
function lintResolveWhen(
  rule: AlertingRuleConfig,
  resolveWhen: string,
  what: string,
  path: (string | number)[],
  at: (path: (string | number)[], severity: RuleProblem['severity'], message: string) => void,
): void {
  const parsed = parseExpr(resolveWhen);
  if (!parsed.ok) {
    const { line, column } = parsed.error.position;
    at(
      [...path, 'resolve_when'],
      'error',
      `${what}: PromQL error at ${line}:${column} of resolve_when: ${parsed.error.message}`,
    );
  }
  if (thresholdValueExpr(rule.expr) === null)
    at(
      [...path, 'expr'],
      'warning',
      `${what}: uses resolve_when, but expr is not a comparison with a number, so alerts between the thresholds resolve 5 minutes after expr last returned them; write expr as \`V > number\``,
    );
  for (const [name, text] of Object.entries(rule.labels)) {
    if (/\$value\b|\.Value\b/.test(text))
      at(
        [...path, 'labels', name],
        'warning',
        `${what}: label "${name}" uses $value together with resolve_when; labels identify an alert, so each new value starts a new alert and the hysteresis never holds; put $value in an annotation`,
      );
  }
}

/** A comparison against a literal whose other side looks at one instant only (no range or subquery). */
function isBareThreshold(expr: Expr): boolean {
  const top = unwrapParens(expr);
  if (top.kind !== 'BinaryExpr' || !COMPARISONS.has(top.op)) return false;
  const lhs = unwrapParens(top.lhs);
  const rhs = unwrapParens(top.rhs);
  const other = lhs.kind === 'NumberLiteral' ? rhs : rhs.kind === 'NumberLiteral' ? lhs : null;
  if (other === null || other.kind === 'NumberLiteral') return false;
  let windowed = false;
  walkExpr(other, (e) => {
    if (e.kind === 'MatrixSelector' || e.kind === 'SubqueryExpr') windowed = true;
  });
  return !windowed;
}

/** Adds "did you mean" to an unknown-function error when a known function is one or two edits away. */
function withHint(error: string): string {
  const unknown = /function "([^"]+)" not defined$/.exec(error)?.[1];
  if (unknown === undefined) return error;
  let best: { name: string; distance: number } | null = null;
  for (const name of templateFunctionNames) {
    const distance = editDistance(unknown.toLowerCase(), name.toLowerCase());
    if (distance <= 2 && (best === null || distance < best.distance)) best = { name, distance };
  }
  return best === null
    ? `${error}; see the template functions in docs/rules.md`
    : `${error}; did you mean "${best.name}"?`;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row.push(Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost));
    }
    prev = row;
  }
  return prev[b.length] ?? 0;
}
