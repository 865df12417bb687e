import { STALE_NAN } from '../core/index.js';
import type { Labels } from '../core/index.js';
import { MemorySeriesStore } from '../tsdb/index.js';
import type { LabelMatcher, SeriesData, SeriesReader } from '../tsdb/index.js';
import { EmbeddedPromqlQuery } from './EmbeddedPromqlQuery.js';
import type { QueryOutcome, QueryValue } from './MetricsQuery.js';
import { expectationKey, parsePromqlTestScript } from './promqlTestScript.js';
import type { AnnotationExpectation, EvalCase, ExpectedSeries, ScriptCommand } from './promqlTestScript.js';

/** How one eval fared: right answer, wrong answer, refused as not supported, or out of scope (native histograms). */
export type CaseVerdict = 'pass' | 'fail' | 'unsupported' | 'skipped';

/** The result of one eval command. */
export interface CaseResult {
  readonly line: number;
  readonly expr: string;
  readonly verdict: CaseVerdict;
  readonly detail?: string;
}

/** Prometheus's test tolerance: relative error below 1e-6, NaN equal to NaN. */
function almostEqual(a: number, b: number): boolean {
  if (Number.isNaN(a) && Number.isNaN(b)) return true;
  if (a === b) return true;
  const minNormal = 2.2250738585072014e-308;
  const absSum = Math.abs(a) + Math.abs(b);
  const diff = Math.abs(a - b);
  if (a === 0 || b === 0 || absSum < minNormal) return diff < 1e-6 * minNormal;
  return diff / Math.min(absSum, Number.MAX_VALUE) < 1e-6;
}

const numberOf = (v: ExpectedSeries['values'][number]): number => (typeof v === 'number' ? v : NaN);

function compareVector(value: QueryValue, c: EvalCase): string | null {
  if (value.resultType !== 'vector') return `expected a vector, got ${value.resultType}`;
  const expected = new Map(c.expected.map((e, i) => [expectationKey(e.labels), { e, i }]));
  if (value.result.length !== expected.size)
    return `expected ${expected.size} samples, got ${JSON.stringify(value.result)}`;
  for (const [pos, s] of value.result.entries()) {
    const hit = expected.get(expectationKey(s.labels));
    if (hit === undefined) return `unexpected series ${JSON.stringify(s.labels)} = ${s.value}`;
    if (c.ordered && hit.i !== pos)
      return `expected ${JSON.stringify(s.labels)} at position ${hit.i + 1}, got ${pos + 1}`;
    if (!almostEqual(s.value, numberOf(hit.e.values[0] ?? NaN)))
      return `${JSON.stringify(s.labels)}: got ${s.value}, want ${String(hit.e.values[0])}`;
  }
  return null;
}

function compareMatrix(value: QueryValue, c: EvalCase): string | null {
  if (value.resultType !== 'matrix') return `expected a matrix, got ${value.resultType}`;
  const expected = new Map(c.expected.map((e) => [expectationKey(e.labels), e]));
  if (value.result.length !== expected.size)
    return `expected ${expected.size} series, got ${value.result.length}`;
  for (const s of value.result) {
    const e = expected.get(expectationKey(s.labels));
    if (e === undefined) return `unexpected series ${JSON.stringify(s.labels)}`;
    const grid = c.instant ? c.rangeVector : { startMs: c.atMs, stepMs: c.stepMs };
    const want = e.values
      .map((v, i) => [grid === undefined ? undefined : grid.startMs + i * grid.stepMs, v] as const)
      .filter(([, v]) => v !== null);
    const matches =
      want.length === s.points.length &&
      want.every(
        ([t, v], i) =>
          (t === undefined || s.points[i]?.[0] === t) && almostEqual(s.points[i]?.[1] ?? NaN, numberOf(v)),
      );
    if (!matches)
      return `${JSON.stringify(s.labels)}: got ${JSON.stringify(s.points)}, want ${JSON.stringify(want)}`;
  }
  return null;
}

function compare(outcome: QueryOutcome, c: EvalCase): string | null {
  if (c.expectFail) {
    if (outcome.ok) return 'expected the query to fail';
    const { exact, regex } = c.failMessage ?? {};
    if (exact !== undefined && !outcome.error.message.endsWith(exact.trim()))
      return `error ${JSON.stringify(outcome.error.message)}`;
    if (regex !== undefined && !new RegExp(regex).test(outcome.error.message))
      return `error ${JSON.stringify(outcome.error.message)}`;
    return null;
  }
  if (!outcome.ok) return `error: ${outcome.error.message}`;
  const value = outcome.value;
  if (c.expectedString !== undefined) {
    return value.resultType === 'string' && value.result[1] === c.expectedString
      ? null
      : `got ${JSON.stringify(value)}`;
  }
  if (c.expected.length === 1 && c.expected[0]?.labels === null) {
    if (value.resultType !== 'scalar') return `expected a scalar, got ${value.resultType}`;
    return almostEqual(value.result[1], numberOf(c.expected[0].values[0] ?? NaN))
      ? null
      : `scalar ${value.result[1]}`;
  }
  return value.resultType === 'vector' ? compareVector(value, c) : compareMatrix(value, c);
}

function annotationMatches(e: AnnotationExpectation, message: string): boolean {
  if (e.exact !== undefined) return message === e.exact.trim();
  if (e.regex !== undefined) return new RegExp(e.regex).test(message);
  return true;
}

/**
 * promqltest's annotation rules: every `expect warn|info` line matches some annotation of its kind; once one
 * such line is given, every annotation of that kind must match a line; `no_warn` / `no_info` forbid any.
 */
function checkAnnotations(outcome: QueryOutcome, c: EvalCase): string | null {
  if (!outcome.ok) return null;
  const kinds = [
    ['warn', outcome.warnings ?? []],
    ['info', outcome.infos ?? []],
  ] as const;
  for (const [kind, messages] of kinds) {
    if (c.annotations.some((e) => e.type === `no_${kind}`) && messages.length > 0)
      return `unexpected ${kind} annotation ${JSON.stringify(messages[0])}`;
    const wanted = c.annotations.filter((e) => e.type === kind);
    for (const e of wanted) {
      if (!messages.some((m) => annotationMatches(e, m)))
        return `expected a ${kind} annotation ${JSON.stringify(e.exact ?? e.regex ?? '')}, got ${JSON.stringify(messages)}`;
    }
    const stray =
      wanted.length === 0 ? undefined : messages.find((m) => !wanted.some((e) => annotationMatches(e, m)));
    if (stray !== undefined) return `unexpected ${kind} annotation ${JSON.stringify(stray)}`;
  }
  return null;
}

/** Prometheus re-runs instant evals as a range query around the eval time; the middle step must agree. */
async function compareRangeMode(engine: EmbeddedPromqlQuery, c: EvalCase): Promise<string | null> {
  const r = await engine.range(c.expr, c.atMs - 60_000, c.atMs + 60_000, 60_000);
  if (!r.ok) return /range vector|string/.test(r.error.message) ? null : `range mode: ${r.error.message}`;
  if (r.value.resultType !== 'matrix') return `range mode: got ${r.value.resultType}`;
  const scalar = c.expected.length === 1 && c.expected[0]?.labels === null;
  const result = r.value.result.flatMap((s) => {
    const point = s.points.find(([t]) => t === c.atMs);
    return point === undefined ? [] : [{ labels: s.labels, value: point[1], t: point[0] }];
  });
  if (scalar)
    return almostEqual(result[0]?.value ?? NaN, numberOf(c.expected[0]?.values[0] ?? NaN))
      ? null
      : 'range mode: scalar differs';
  const problem = compareVector({ resultType: 'vector', result }, { ...c, ordered: false });
  return problem === null ? null : `range mode: ${problem}`;
}

/**
 * The native histogram samples of a load block, as series with placeholder values: series loaded with
 * `{{…}}` samples at those timestamps, and for `load_with_nhcb` the custom-bucket histogram Prometheus
 * builds from each classic `_bucket` series (named without `_bucket`, no `le`) at its sample timestamps.
 */
function histogramSamples(cmd: Extract<ScriptCommand, { kind: 'load' }>): Array<[Labels, number]> {
  const out: Array<[Labels, number]> = [];
  for (const s of cmd.series) {
    const name = s.labels.__name__ ?? '';
    const nhcb = cmd.withNhcb && name.endsWith('_bucket');
    const { le: _le, ...rest } = s.labels;
    const nhcbLabels: Labels = { ...rest, __name__: name.replace(/_bucket$/, '') };
    s.values.forEach((v, i) => {
      if (v === undefined) out.push([s.labels, i * cmd.intervalMs]);
      if (nhcb && v !== null && v !== undefined) out.push([nhcbLabels, i * cmd.intervalMs]);
    });
  }
  return out;
}

/**
 * A reader over the float samples that notes whether a query selected any series holding native histogram
 * samples in the range it read: such an eval is out of scope (skipped), whatever the rest of it does.
 */
class HistogramAwareReader implements SeriesReader {
  touched = false;
  constructor(
    private readonly floats: SeriesReader,
    private readonly histograms: MemorySeriesStore,
  ) {}

  select(matchers: readonly LabelMatcher[], minT: number, maxT: number): SeriesData[] {
    if (this.histograms.select(matchers, minT, maxT).length > 0) this.touched = true;
    return this.floats.select(matchers, minT, maxT);
  }

  labelNames(matchers?: readonly LabelMatcher[]): string[] {
    return this.floats.labelNames(matchers);
  }

  labelValues(name: string, matchers?: readonly LabelMatcher[]): string[] {
    return this.floats.labelValues(name, matchers);
  }

  seriesCount(): number {
    return this.floats.seriesCount();
  }

  hasMetric(name: string): boolean {
    return this.floats.hasMetric(name) || this.histograms.hasMetric(name);
  }
}

function load(store: MemorySeriesStore, cmd: Extract<ScriptCommand, { kind: 'load' }>): void {
  // A series listed twice in one block takes the later value, as in Prometheus's loader.
  const bySeries = new Map<string, { labels: Labels; values: Map<number, number | 'stale'> }>();
  for (const s of cmd.series) {
    const key = expectationKey(s.labels);
    const entry = bySeries.get(key) ?? { labels: s.labels, values: new Map<number, number | 'stale'>() };
    bySeries.set(key, entry);
    s.values.forEach((v, i) => {
      if (v !== null && v !== undefined) entry.values.set(i * cmd.intervalMs, v);
    });
  }
  for (const { labels, values } of bySeries.values()) {
    for (const [t, v] of [...values].sort((a, b) => a[0] - b[0]))
      store.append(labels, t, v === 'stale' ? STALE_NAN : v);
  }
}

/** True when an expression names a loaded histogram metric, or selects by name pattern while any is loaded. */
function namesAny(expr: string, histograms: SeriesReader): boolean {
  if (histograms.seriesCount() === 0) return false;
  if (/__name__|(^|[(,\s])\{/.test(expr)) return true;
  return (expr.match(/[A-Za-z_:][\w:]*/g) ?? []).some((word) => histograms.hasMetric(word));
}

/** Runs a promqltest script against a fresh MemorySeriesStore and EmbeddedPromqlQuery; one result per eval. */
export async function runPromqlTestScript(text: string): Promise<CaseResult[]> {
  let store = new MemorySeriesStore();
  let histograms = new MemorySeriesStore();
  let reader = new HistogramAwareReader(store, histograms);
  let engine = EmbeddedPromqlQuery.create({ reader });
  const results: CaseResult[] = [];
  for (const cmd of parsePromqlTestScript(text)) {
    if (cmd.kind === 'clear') {
      store = new MemorySeriesStore();
      histograms = new MemorySeriesStore();
      reader = new HistogramAwareReader(store, histograms);
      engine = EmbeddedPromqlQuery.create({ reader });
    } else if (cmd.kind === 'load') {
      load(store, cmd);
      for (const [labels, t] of histogramSamples(cmd)) histograms.append(labels, t, 0);
    } else {
      reader.touched = false;
      const result = await runCase(engine, cmd.case);
      // A refused eval never reads data, so whether it needs histograms is judged from the names it uses.
      const refused = result.verdict === 'unsupported' && namesAny(cmd.case.expr, histograms);
      const skipped = cmd.case.expectsHistograms || reader.touched || refused;
      results.push(skipped ? { line: result.line, expr: result.expr, verdict: 'skipped' } : result);
    }
  }
  return results;
}

async function runCase(engine: EmbeddedPromqlQuery, c: EvalCase): Promise<CaseResult> {
  const { line, expr } = c;
  const outcome = c.instant
    ? await engine.instant(expr, c.atMs)
    : await engine.range(expr, c.atMs, c.endMs, c.stepMs);
  if (!outcome.ok && outcome.error.message.includes('not supported yet'))
    return { line, expr, verdict: 'unsupported', detail: outcome.error.message };
  const problem = compare(outcome, c);
  if (problem !== null) return { line, expr, verdict: 'fail', detail: problem };
  const annotationProblem = checkAnnotations(outcome, c);
  if (annotationProblem !== null) return { line, expr, verdict: 'fail', detail: annotationProblem };
  const rangeMode =
    c.instant &&
    !c.expectFail &&
    !c.ordered &&
    c.expectedString === undefined &&
    !/\b(start|end|range|step)\(\)/.test(expr);
  const rangeProblem = rangeMode ? await compareRangeMode(engine, c) : null;
  return rangeProblem === null
    ? { line, expr, verdict: 'pass' }
    : { line, expr, verdict: 'fail', detail: rangeProblem };
}
