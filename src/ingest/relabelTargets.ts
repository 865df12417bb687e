import { formatDuration, METRIC_NAME_LABEL, parseDuration, type Labels } from '../core/index.js';
import { assignLabel } from '../core/index.js';
import { relabel, type RelabelRule } from './relabel.js';
import { targetProblem, type ScrapeTarget } from './scrapeTarget.js';

/** Targets that share labels, as a static config or a service discovery file gives them. */
export interface TargetGroup {
  /** Where the group came from, e.g. `static_configs[0]` or `/etc/swas/targets.json:2`. */
  readonly source: string;
  /** `host:port` of each target; each becomes that target's `__address__`. */
  readonly targets: readonly string[];
  /** Labels of every target in the group; may include `__meta_*` and other `__` labels. */
  readonly labels: Labels;
}

/** One scrape job's settings: what targets start from before `relabel_configs` run. */
export interface ScrapeJobSpec {
  readonly jobName: string;
  readonly scheme: string;
  readonly metricsPath: string;
  /** URL query parameters; each also appears to relabelling as `__param_<name>` (first value). */
  readonly params: Readonly<Record<string, readonly string[]>>;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly sampleLimit: number;
  readonly bodyLimitBytes: number;
  /** `label_limit`, `label_name_length_limit`, `label_value_length_limit`; 0 or absent = no limit. */
  readonly labelLimit?: number;
  readonly labelNameLengthLimit?: number;
  readonly labelValueLengthLimit?: number;
  readonly honorLabels: boolean;
  readonly relabelRules: readonly RelabelRule[];
  readonly metricRelabelRules: readonly RelabelRule[];
}

/** The targets of one job after relabelling, with the ones relabelling dropped or that were unusable. */
export interface BuiltTargets {
  readonly targets: ScrapeTarget[];
  /** How many targets `relabel_configs` dropped on purpose (keep/drop and friends). */
  readonly dropped: number;
  /** One line per target that could not be used, saying which and why. */
  readonly problems: string[];
}

const ADDRESS = '__address__';
const SCHEME = '__scheme__';
const METRICS_PATH = '__metrics_path__';
const INTERVAL = '__scrape_interval__';
const TIMEOUT = '__scrape_timeout__';
const PARAM_PREFIX = '__param_';

/**
 * Turns target groups into scrape targets as Prometheus's PopulateLabels does: job defaults become
 * `__` labels, `relabel_configs` run, `__address__`, `__scheme__`, `__metrics_path__`, `__param_*` and
 * the interval labels make the URL and schedule, `instance` defaults to `__address__`, and every label
 * starting with `__` is removed.
 */
export function buildScrapeTargets(job: ScrapeJobSpec, groups: readonly TargetGroup[]): BuiltTargets {
  const targets: ScrapeTarget[] = [];
  const problems: string[] = [];
  let dropped = 0;
  const metricRelabel = metricRelabelHook(job.metricRelabelRules);
  for (const group of groups) {
    for (const address of group.targets) {
      const built = buildTarget(job, group, address);
      if (built === null) dropped++;
      else if (typeof built === 'string')
        problems.push(`job "${job.jobName}", target "${address}" from ${group.source}: ${built}`);
      else targets.push(metricRelabel === undefined ? built : { ...built, metricRelabel });
    }
  }
  return { targets, dropped, problems };
}

/** One target; null when relabelling dropped it, a string saying why when it cannot be used. */
function buildTarget(job: ScrapeJobSpec, group: TargetGroup, address: string): ScrapeTarget | null | string {
  const initial = initialLabels(job, group, address);
  const relabelled = relabel(initial, job.relabelRules);
  if (relabelled === null) return null;
  const lb = new Map(Object.entries(relabelled));
  const addr = lb.get(ADDRESS) ?? '';
  if (addr === '') return 'no __address__ after relabelling; set it, or drop the target with action drop';
  if (addr.includes('/')) return `__address__ "${addr}" is not a valid host:port`;
  const interval = lb.get(INTERVAL) ?? '';
  const timeout = lb.get(TIMEOUT) ?? '';
  const intervalMs = parseDuration(interval);
  const timeoutMs = parseDuration(timeout);
  if (intervalMs === null || intervalMs === 0)
    return `__scrape_interval__ "${interval}" is not a duration above 0`;
  if (timeoutMs === null || timeoutMs === 0)
    return `__scrape_timeout__ "${timeout}" is not a duration above 0`;
  if (timeoutMs > intervalMs) {
    return `__scrape_timeout__ ${timeout} is longer than __scrape_interval__ ${interval}; shorten the timeout`;
  }
  const labels: Record<string, string> = {};
  for (const [name, value] of lb) if (!name.startsWith('__')) assignLabel(labels, name, value);
  if (labels.instance === undefined) labels.instance = addr;
  const target: ScrapeTarget = {
    job: job.jobName,
    url: targetUrl(lb, addr, job.params),
    labels,
    intervalMs,
    timeoutMs,
    sampleLimit: job.sampleLimit,
    bodyLimitBytes: job.bodyLimitBytes,
    honorLabels: job.honorLabels,
    ...(job.labelLimit ? { labelLimit: job.labelLimit } : {}),
    ...(job.labelNameLengthLimit ? { labelNameLengthLimit: job.labelNameLengthLimit } : {}),
    ...(job.labelValueLengthLimit ? { labelValueLengthLimit: job.labelValueLengthLimit } : {}),
  };
  return targetProblem(target) ?? target;
}

function initialLabels(job: ScrapeJobSpec, group: TargetGroup, address: string): Labels {
  const labels: Record<string, string> = {};
  assignLabel(labels, ADDRESS, address);
  const fill = (name: string, value: string): void => {
    if ((labels[name] ?? '') === '' && value !== '') assignLabel(labels, name, value);
  };
  for (const [name, value] of Object.entries(group.labels)) fill(name, value);
  fill('job', job.jobName);
  fill(INTERVAL, formatDuration(job.intervalMs));
  fill(TIMEOUT, formatDuration(job.timeoutMs));
  fill(METRICS_PATH, job.metricsPath);
  fill(SCHEME, job.scheme);
  for (const [name, values] of Object.entries(job.params)) fill(PARAM_PREFIX + name, values[0] ?? '');
  return labels;
}

/** `__scheme__://__address____metrics_path__?params`, `__param_*` replacing a param's first value. */
function targetUrl(
  lb: ReadonlyMap<string, string>,
  address: string,
  configured: ScrapeJobSpec['params'],
): string {
  const scheme = lb.get(SCHEME) ?? 'http';
  const path = lb.get(METRICS_PATH) ?? '/metrics';
  const params = new Map(Object.entries(configured).map(([name, values]) => [name, [...values]]));
  for (const [name, value] of lb) {
    if (!name.startsWith(PARAM_PREFIX)) continue;
    const key = name.slice(PARAM_PREFIX.length);
    const values = params.get(key);
    if (values !== undefined && values.length > 0) values[0] = value;
    else params.set(key, [value]);
  }
  return `${scheme}://${address}${path}${encodeQuery(params)}`;
}

function encodeQuery(params: ReadonlyMap<string, readonly string[]>): string {
  if (params.size === 0) return '';
  const search = new URLSearchParams();
  for (const name of [...params.keys()].sort())
    for (const v of params.get(name) ?? []) search.append(name, v);
  return `?${search.toString()}`;
}

/** The per-sample hook for `metric_relabel_configs`; a series left without a name is dropped. */
function metricRelabelHook(rules: readonly RelabelRule[]): ((labels: Labels) => Labels | null) | undefined {
  if (rules.length === 0) return undefined;
  return (labels) => {
    const out = relabel(labels, rules);
    return out === null || (out[METRIC_NAME_LABEL] ?? '') === '' ? null : out;
  };
}
