import { formatConfigIssue, type ConfigIssue, type LoadedRuleFile } from '../config/index.js';
import { formatDuration, type AlertObservation, type Labels } from '../core/index.js';
import { parseExpr, unwrapParens, type MetricsQuery, type QueryOutcome } from '../promql/index.js';

/** An alerting rule ready to evaluate. */
export interface AlertingRule {
  readonly kind: 'alerting';
  readonly name: string;
  readonly expr: string;
  readonly forMs: number;
  readonly keepFiringForMs: number;
  /** A firing alert stays firing at least this long (swas extension). */
  readonly minFiringForMs: number;
  /** With hysteresis: a firing alert resolves only when this returns its series (swas extension). */
  readonly resolveWhen: string | null;
  /**
   * With `resolve_when` and an `expr` of the form `V > 90` (any comparison with a number): `V`, which tells a
   * series between the thresholds (present in `V`) from one that is gone, and gives its current value.
   */
  readonly valueExpr: string | null;
  readonly labels: Labels;
  readonly annotations: Readonly<Record<string, string>>;
}

/** A recording rule ready to evaluate. */
export interface RecordingRule {
  readonly kind: 'recording';
  readonly name: string;
  readonly expr: string;
  readonly labels: Labels;
}

/** A rule group: evaluated together, in order, at one interval. */
export interface RuleGroupSpec {
  readonly name: string;
  readonly file: string;
  readonly intervalMs: number;
  /** Rules are evaluated at `tick - queryOffsetMs`, and their samples written there, as Prometheus. */
  readonly queryOffsetMs: number;
  /** Max alerts (or recorded series) per rule; 0 = no limit. */
  readonly limit: number;
  readonly rules: readonly (AlertingRule | RecordingRule)[];
  /** Set when the group could not be loaded; it then has no `rules` and is not evaluated (docs/rules.md). */
  readonly broken?: BrokenGroup;
}

/** Why a group is not evaluated, and what could be read of its rules, for the rules API. */
export interface BrokenGroup {
  /** Every problem as `file:line:column: field: group "g", alert "a": what`. */
  readonly error: string;
  /** The whole file could not be read as groups; `name` is then the file's name and `rules` is empty. */
  readonly wholeFile: boolean;
  readonly rules: readonly BrokenRule[];
}

/** A rule of a broken group: not evaluated; `error` is its own problem, or says which other part is broken. */
export interface BrokenRule {
  readonly kind: 'alerting' | 'recording';
  readonly name: string;
  readonly expr: string;
  readonly labels: Labels;
  readonly error: string;
}

/** Turns loaded rule files into evaluable groups, applying the default interval and query offset. */
export function compileRuleGroups(
  files: readonly LoadedRuleFile[],
  defaultIntervalMs: number,
  defaultQueryOffsetMs = 0,
): RuleGroupSpec[] {
  const broken = files.flatMap((file) =>
    (file.brokenGroups ?? []).map((group): RuleGroupSpec => ({
      name: group.name,
      file: file.file,
      intervalMs: defaultIntervalMs,
      queryOffsetMs: defaultQueryOffsetMs,
      limit: 0,
      rules: [],
      broken: { ...brokenGroupOf(group.name, group.problems, group.rules), wholeFile: group.wholeFile },
    })),
  );
  return [...compileValidGroups(files, defaultIntervalMs, defaultQueryOffsetMs), ...broken];
}

function compileValidGroups(
  files: readonly LoadedRuleFile[],
  defaultIntervalMs: number,
  defaultQueryOffsetMs: number,
): RuleGroupSpec[] {
  return files.flatMap((file) =>
    file.groups.map((group) => ({
      name: group.name,
      file: file.file,
      intervalMs: group.interval ?? defaultIntervalMs,
      queryOffsetMs: group.query_offset ?? defaultQueryOffsetMs,
      limit: group.limit,
      rules: group.rules.map((rule): AlertingRule | RecordingRule =>
        'alert' in rule
          ? {
              kind: 'alerting',
              name: rule.alert,
              expr: rule.expr,
              forMs: rule.for,
              keepFiringForMs: rule.keep_firing_for,
              minFiringForMs: rule.min_firing_for,
              resolveWhen: rule.resolve_when ?? null,
              valueExpr: rule.resolve_when === undefined ? null : thresholdValueExpr(rule.expr),
              labels: rule.labels,
              annotations: rule.annotations,
            }
          : { kind: 'recording', name: rule.record, expr: rule.expr, labels: rule.labels },
      ),
    })),
  );
}

function brokenGroupOf(
  name: string,
  problems: readonly ConfigIssue[],
  rules: readonly (Omit<BrokenRule, 'error'> & { problems: readonly ConfigIssue[] })[],
): Omit<BrokenGroup, 'wholeFile'> {
  const error = problems.map(formatConfigIssue).join('; ');
  const first = problems[0];
  const elsewhere = `not evaluated: another part of group "${name}" is broken: ${first ? formatConfigIssue(first) : 'unknown problem'}`;
  return {
    error,
    rules: rules.map(({ problems: own, ...rule }) => ({
      ...rule,
      error: own.length > 0 ? own.map(formatConfigIssue).join('; ') : elsewhere,
    })),
  };
}

const COMPARISONS = new Set(['==', '!=', '>', '<', '>=', '<=']);

/** For `V > 90` (or `90 < V`, any filtering comparison with a number literal): the text of `V`; else null. */
export function thresholdValueExpr(expr: string): string | null {
  const parsed = parseExpr(expr);
  if (!parsed.ok) return null;
  const top = unwrapParens(parsed.expr);
  if (top.kind !== 'BinaryExpr' || !COMPARISONS.has(top.op) || top.returnBool) return null;
  const lhs = unwrapParens(top.lhs);
  const rhs = unwrapParens(top.rhs);
  const other = lhs.kind === 'NumberLiteral' ? rhs : rhs.kind === 'NumberLiteral' ? lhs : null;
  if (other === null || other.kind === 'NumberLiteral') return null;
  return expr.slice(other.pos.start, other.pos.end);
}

/** The alert swas raises about a rule group that overran its interval (and so skipped evaluations). */
export const GROUP_OVERRUN_ALERT = 'SwasRuleGroupOverrun';

/** The alert swas raises about a rule group that could not be loaded and so is not evaluated. */
export const GROUP_BROKEN_ALERT = 'SwasRuleGroupBroken';

/** The labels of one of swas's own alerts about a group (overrun, broken). */
export function groupAlertLabels(alertname: string, group: RuleGroupSpec): Labels {
  return { alertname, group: group.name, file: group.file, severity: 'warning' };
}

/** The labels of a group's overrun alert. */
export function overrunLabels(group: RuleGroupSpec): Labels {
  return groupAlertLabels(GROUP_OVERRUN_ALERT, group);
}

/** An observation of a group's broken alert: present while the group is broken. */
export function brokenObservation(group: RuleGroupSpec): AlertObservation {
  if (group.broken === undefined) return { present: false };
  return {
    present: true,
    value: 1,
    labels: groupAlertLabels(GROUP_BROKEN_ALERT, group),
    annotations: {
      summary: `rule group "${group.name}" is broken and not evaluated`,
      description:
        `Group "${group.name}" (${group.file}) could not be loaded, so none of its rules are evaluated: ` +
        `${group.broken.error}. Fix the file (swas rules check ${group.file} lists every problem) and reload ` +
        'swas (SIGHUP or POST /-/reload).',
    },
  };
}

/** An observation of a group's overrun alert after an evaluation that made the scheduler skip `skipped` ticks. */
export function overrunObservation(group: RuleGroupSpec, skipped: number): AlertObservation {
  if (skipped === 0) return { present: false };
  const interval = formatDuration(group.intervalMs);
  return {
    present: true,
    value: skipped,
    labels: overrunLabels(group),
    annotations: {
      summary: `rule group "${group.name}" overran its ${interval} interval`,
      description:
        `An evaluation of group "${group.name}" (${group.file}) took longer than its ${interval} interval, so ` +
        `${skipped} evaluation(s) were skipped (swas_rule_group_iterations_missed_total). Make its queries ` +
        'cheaper, split the group, or raise its interval.',
    },
  };
}

/**
 * Bounds every query of a group's evaluation by the group's interval, so a query that hangs is reported as a
 * timeout of its rule instead of stopping the group's schedule.
 */
export function withDeadline(query: MetricsQuery, ms: number): MetricsQuery {
  const bounded = async (outcome: Promise<QueryOutcome>): Promise<QueryOutcome> => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<QueryOutcome>((resolve) => {
      timer = setTimeout(() => {
        resolve({
          ok: false,
          error: {
            errorType: 'timeout',
            message: `query did not finish within ${formatDuration(ms)}, the group's interval; make it cheaper or raise the interval`,
          },
        });
      }, ms);
    });
    try {
      return await Promise.race([outcome, timeout]);
    } finally {
      clearTimeout(timer);
    }
  };
  return {
    instant: (expr, atMs) => bounded(query.instant(expr, atMs)),
    range: (expr, startMs, endMs, stepMs) => bounded(query.range(expr, startMs, endMs, stepMs)),
    unknownMetrics: (expr) => query.unknownMetrics(expr),
  };
}
