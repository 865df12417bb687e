import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { z } from 'zod';
import { errorMessage, labelsKey } from '../core/index.js';
import type { ConfigIssue } from './ConfigError.js';
import { duration, labelName, labelSet } from './schemaParts.js';
import { validateSource } from './validate.js';
import { parseYamlSource, type YamlSource } from './yamlSource.js';

const metricName = z.string().regex(/^[a-zA-Z_:][a-zA-Z0-9_:]*$/, { message: 'not a valid metric name' });

const alertingRule = z.strictObject({
  alert: z.string().min(1, { message: 'an alert needs a name' }),
  expr: z.union([z.string(), z.number()]).transform(String),
  for: duration().prefault('0s'),
  keep_firing_for: duration().prefault('0s'),
  // swas extensions (docs/rules.md, Hysteresis): resolve only when this holds; stay firing at least this long.
  resolve_when: z.union([z.string(), z.number()]).transform(String).optional(),
  min_firing_for: duration().prefault('0s'),
  labels: labelSet.default({}),
  annotations: z.record(labelName, z.string()).default({}),
});

const recordingRule = z.strictObject({
  record: metricName,
  expr: z.union([z.string(), z.number()]).transform(String),
  labels: labelSet.default({}),
});

type RuleConfig = z.output<typeof alertingRule> | z.output<typeof recordingRule>;

// Chooses the schema by `alert:` or `record:`, so a bad field of a rule is reported as itself, not as "neither".
const rule = z.unknown().transform((value, ctx): RuleConfig => {
  const kind = typeof value === 'object' && value !== null ? value : {};
  const schema = 'alert' in kind ? alertingRule : 'record' in kind ? recordingRule : null;
  if (schema === null) {
    ctx.addIssue({
      code: 'custom',
      message: 'a rule has either `alert:` (alerting rule) or `record:` (recording rule), with `expr:`',
    });
    return z.NEVER;
  }
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) ctx.addIssue({ ...issue, path: issue.path });
  return z.NEVER;
});

const ruleGroup = z.strictObject({
  name: z.string().min(1, { message: 'a group needs a name' }),
  interval: duration({ min: 1000 }).optional(),
  limit: z.number().int().min(0).default(0),
  query_offset: duration().optional(),
  rules: z.array(rule).default([]),
});

/** A Prometheus rule file: `groups:` of alerting and recording rules. */
export const ruleFileSchema = z.strictObject({
  groups: z.array(ruleGroup).default([]),
});

/** A rule file after validation. */
export type RuleFile = z.output<typeof ruleFileSchema>;
export type RuleGroupConfig = z.output<typeof ruleGroup>;
export type AlertingRuleConfig = z.output<typeof alertingRule>;
export type RecordingRuleConfig = z.output<typeof recordingRule>;

/** Checks one PromQL expression; returns null when it parses, else a message (with its column). */
export type ExpressionChecker = (expr: string) => { message: string } | null;

/** What could be read of a rule in a broken group, so the rules API can still list it. */
export interface BrokenRuleSketch {
  readonly kind: 'alerting' | 'recording';
  readonly name: string;
  readonly expr: string;
  readonly labels: Readonly<Record<string, string>>;
  /** This rule's own problems; empty when only another part of its group is broken. */
  readonly problems: readonly ConfigIssue[];
}

/**
 * A rule group that cannot be evaluated (bad PromQL, a bad field, a duplicate rule, ...). It is kept, not
 * evaluated, and reported; the other groups run. A rule file that is not YAML or has no `groups:` list is one
 * broken group named after the file.
 */
export interface BrokenRuleGroup {
  /** The group's name; the file's name when the file could not be read as groups at all. */
  readonly name: string;
  /** True when the file could not be read as groups at all (not YAML, or no `groups:` list). */
  readonly wholeFile: boolean;
  /** 1-based line of the group in its file, when known. */
  readonly line: number | null;
  /** Every problem found, each naming file:line, group and rule. */
  readonly problems: readonly ConfigIssue[];
  readonly rules: readonly BrokenRuleSketch[];
}

/** A rule file as loaded, with the file it came from; `groups` are the valid ones. */
export interface LoadedRuleFile {
  readonly file: string;
  readonly groups: RuleFile['groups'];
  /** Groups that are not evaluated until fixed. @default [] */
  readonly brokenGroups?: readonly BrokenRuleGroup[];
}

const ruleFileShape = z.strictObject({ groups: z.array(z.unknown()).default([]) });

/**
 * Loads one rule file, group by group: a group with a problem becomes a {@link BrokenRuleGroup} and the others
 * load. Only a file that cannot be read at all (missing, unreadable) is an error.
 */
export async function loadRuleFile(
  file: string,
  check: ExpressionChecker,
): Promise<{ ok: true; loaded: LoadedRuleFile } | { ok: false; issues: ConfigIssue[] }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const message = `cannot read rule file: ${errorMessage(error)}; fix the path in rules.files`;
    return { ok: false, issues: [{ file, line: null, column: null, field: '', message }] };
  }
  const parsed = parseYamlSource(file, text);
  if (!parsed.ok) return { ok: true, loaded: brokenFile(file, parsed.issues) };
  const shape = validateSource(parsed.source, ruleFileShape);
  if (!shape.ok) return { ok: true, loaded: brokenFile(file, shape.issues) };
  const source = parsed.source;
  const rawGroups = (child(source.value, 'groups') as unknown[] | undefined) ?? [];
  const groups: RuleGroupConfig[] = [];
  const brokenGroups: BrokenRuleGroup[] = [];
  const seenNames = new Set<string>();
  rawGroups.forEach((raw, g) => {
    const name = child(raw, 'name');
    const groupName = typeof name === 'string' && name !== '' ? name : `groups[${g}]`;
    const { group, problems } = checkGroup(source, raw, g, check);
    if (seenNames.has(groupName))
      problems.unshift(
        issueAt(
          source,
          ['groups', g, 'name'],
          `groups[${g}].name`,
          `group "${groupName}" is defined twice in this file; give each group its own name`,
        ),
      );
    seenNames.add(groupName);
    if (group !== null && problems.length === 0) {
      groups.push(group);
      return;
    }
    const rawRules = child(raw, 'rules');
    brokenGroups.push({
      name: groupName,
      wholeFile: false,
      line: source.locate(['groups', g])?.line ?? null,
      problems,
      rules: (Array.isArray(rawRules) ? rawRules : []).map((rule: unknown, r) =>
        sketchRule(rule, r, problems),
      ),
    });
  });
  return { ok: true, loaded: { file, groups, brokenGroups } };
}

function brokenFile(file: string, issues: readonly ConfigIssue[]): LoadedRuleFile {
  const problems = issues.map((issue) => ({
    ...issue,
    message: `${issue.message}; a rule file is YAML with a top-level "groups:" list (docs/rules.md)`,
  }));
  return {
    file,
    groups: [],
    brokenGroups: [
      { name: basename(file), wholeFile: true, line: problems[0]?.line ?? null, problems, rules: [] },
    ],
  };
}

// Schema, duplicate-rule and PromQL problems of one group, each naming its group and rule.
function checkGroup(
  source: YamlSource,
  raw: unknown,
  g: number,
  check: ExpressionChecker,
): { group: RuleGroupConfig | null; problems: ConfigIssue[] } {
  const validated = validateSource(subSource(source, ['groups', g]), ruleGroup);
  if (!validated.ok) {
    const problems = validated.issues.map((issue) => ({
      ...issue,
      field: `groups[${g}]${issue.field === '' ? '' : issue.field.startsWith('[') ? issue.field : `.${issue.field}`}`,
      message: `${ruleNames(raw, issue.field)}${issue.message}`,
    }));
    return { group: null, problems };
  }
  const group = validated.value;
  const problems: ConfigIssue[] = [];
  const seen = new Set<string>();
  group.rules.forEach((rule, r) => {
    const label = 'alert' in rule ? `alert "${rule.alert}"` : `record "${rule.record}"`;
    const key = `${label}\0${labelsKey(rule.labels)}`;
    if (seen.has(key))
      problems.push(
        issueAt(
          source,
          ['groups', g, 'rules', r],
          `groups[${g}].rules[${r}]`,
          `group "${group.name}", ${label}: duplicate rule (same name and labels earlier in the group); remove or rename one`,
        ),
      );
    seen.add(key);
    const expressions: [string, string | undefined][] = [
      ['expr', rule.expr],
      ['resolve_when', 'alert' in rule ? rule.resolve_when : undefined],
    ];
    for (const [field, expr] of expressions) {
      const problem = expr === undefined ? null : check(expr);
      if (problem !== null)
        problems.push(
          issueAt(
            source,
            ['groups', g, 'rules', r, field],
            `groups[${g}].rules[${r}].${field}`,
            `group "${group.name}", ${label}: ${problem.message}`,
          ),
        );
    }
  });
  return { group, problems };
}

/** `group "g", alert "a": ` for a field path inside a group, as far as the raw YAML names them. */
function ruleNames(rawGroup: unknown, field: string): string {
  const names: string[] = [];
  const groupName = child(rawGroup, 'name');
  if (typeof groupName === 'string') names.push(`group "${groupName}"`);
  const at = /^rules\[(\d+)\]/.exec(field);
  if (at !== null) {
    const rule = child(child(rawGroup, 'rules'), Number(at[1]));
    const before = names.length;
    for (const kind of ['alert', 'record']) {
      const ruleName = child(rule, kind);
      if (typeof ruleName === 'string') names.push(`${kind} "${ruleName}"`);
    }
    // A rule without a name is itself the problem; its file:line says which one.
    if (names.length === before) return '';
  }
  return names.length === 0 ? '' : `${names.join(', ')}: `;
}

function sketchRule(raw: unknown, r: number, groupProblems: readonly ConfigIssue[]): BrokenRuleSketch {
  const alert = child(raw, 'alert');
  const record = child(raw, 'record');
  const name = typeof alert === 'string' ? alert : typeof record === 'string' ? record : `rules[${r}]`;
  const expr = child(raw, 'expr');
  const labels: Record<string, string> = {};
  const rawLabels = child(raw, 'labels');
  if (typeof rawLabels === 'object' && rawLabels !== null)
    for (const [k, v] of Object.entries(rawLabels)) if (typeof v === 'string') labels[k] = v;
  const mine = new RegExp(`^groups\\[\\d+\\]\\.rules\\[${r}\\](\\.|$)`);
  return {
    kind: record !== undefined && alert === undefined ? 'recording' : 'alerting',
    name,
    expr: typeof expr === 'string' || typeof expr === 'number' ? String(expr) : '',
    labels,
    problems: groupProblems.filter((p) => mine.test(p.field)),
  };
}

// A view of part of a file, so a schema error inside it still points at its line in the file.
function subSource(source: YamlSource, prefix: readonly (string | number)[]): YamlSource {
  let value: unknown = source.value;
  for (const key of prefix) value = child(value, key);
  return { file: source.file, value: value ?? {}, locate: (path) => source.locate([...prefix, ...path]) };
}

function issueAt(source: YamlSource, path: (string | number)[], field: string, message: string): ConfigIssue {
  const pos = source.locate(path);
  return { file: source.file, line: pos?.line ?? null, column: pos?.column ?? null, field, message };
}

function child(value: unknown, key: string | number): unknown {
  if (typeof value !== 'object' || value === null) return undefined;
  return (value as Record<string | number, unknown>)[key];
}
