import { sortedLabelNames } from '../core/index.js';
import type { Labels } from '../core/index.js';
import type { LabelMatcher, SeriesReader } from '../tsdb/index.js';
import {
  formatSampleValue,
  maxTimeMs,
  minTimeMs,
  parseDurationParam,
  parseLimit,
  parseTime,
  parseTimeParam,
} from './httpParams.js';
import type { MetricsQuery, QueryError, QueryErrorType, QueryOutcome, QueryValue } from './MetricsQuery.js';
import { parseExpr } from './parser.js';

/** Raw query-string or form parameters; repeated ones (`match[]`) as arrays. */
export type ApiParams = Readonly<Record<string, string | readonly string[] | undefined>>;

/** A Prometheus HTTP API response body. */
export type ApiBody =
  | { status: 'success'; data: unknown; warnings?: string[] }
  | { status: 'error'; errorType: QueryErrorType; error: string };

/** An HTTP status with its Prometheus-shaped JSON body. */
export interface ApiResponse {
  readonly status: number;
  readonly body: ApiBody;
}

const maxPointsPerSeries = 11_000;

const statusByErrorType: Record<QueryErrorType, number> = {
  bad_data: 400,
  execution: 422,
  timeout: 503,
  canceled: 499,
};

/** A Prometheus error answer with the HTTP status Prometheus uses for its type. */
export function errorResponse(errorType: QueryErrorType, message: string): ApiResponse {
  return { status: statusByErrorType[errorType], body: { status: 'error', errorType, error: message } };
}

function invalidParam(name: string, message: string): ApiResponse {
  return errorResponse('bad_data', `invalid parameter ${JSON.stringify(name)}: ${message}`);
}

function single(params: ApiParams, name: string): string | undefined {
  const v = params[name];
  return typeof v === 'string' ? v : v?.[0];
}

function many(params: ApiParams, name: string): readonly string[] {
  const v = params[name];
  if (v === undefined) return [];
  return typeof v === 'string' ? [v] : v;
}

function success(data: unknown, warnings: string[] = [], infos: string[] = []): ApiResponse {
  return {
    status: 200,
    body: {
      status: 'success',
      data,
      ...(warnings.length > 0 ? { warnings } : {}),
      ...(infos.length > 0 ? { infos } : {}),
    },
  };
}

/** Labels with keys in sorted order, as Prometheus writes them. */
function sortedLabels(labels: Labels): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of sortedLabelNames(labels)) out[name] = labels[name] ?? '';
  return out;
}

/** Shapes a query value as Prometheus's JSON: seconds as floats, values as strings. */
function valueToJson(value: QueryValue, limit: number): { data: unknown; truncated: boolean } {
  switch (value.resultType) {
    case 'scalar':
      return {
        data: { resultType: 'scalar', result: [value.result[0] / 1000, formatSampleValue(value.result[1])] },
        truncated: false,
      };
    case 'string':
      return {
        data: { resultType: 'string', result: [value.result[0] / 1000, value.result[1]] },
        truncated: false,
      };
    case 'vector': {
      const truncated = limit > 0 && value.result.length > limit;
      const rows = truncated ? value.result.slice(0, limit) : value.result;
      const result = rows.map((s) => ({
        metric: sortedLabels(s.labels),
        value: [s.t / 1000, formatSampleValue(s.value)],
      }));
      return { data: { resultType: 'vector', result }, truncated };
    }
    case 'matrix': {
      const truncated = limit > 0 && value.result.length > limit;
      const rows = truncated ? value.result.slice(0, limit) : value.result;
      const result = rows.map((s) => ({
        metric: sortedLabels(s.labels),
        values: s.points.map(([t, v]) => [t / 1000, formatSampleValue(v)]),
      }));
      return { data: { resultType: 'matrix', result }, truncated };
    }
  }
}

/** Engine errors of type bad_data are about the query text, so they name the parameter as Prometheus does. */
function queryFailure(e: QueryError): ApiResponse {
  if (e.errorType === 'bad_data') return invalidParam('query', e.message);
  return errorResponse(e.errorType, e.message);
}

/** The `timeout` parameter is validated like Prometheus's; the engine's own limit applies (see docs). */
function checkTimeoutParam(params: ApiParams): ApiResponse | null {
  const timeout = single(params, 'timeout');
  if (timeout === undefined || timeout === '') return null;
  const parsed = parseDurationParam(timeout);
  return parsed.ok ? null : invalidParam('timeout', parsed.error);
}

/** A query's outcome as the API's answer, with the `limit` truncation warning Prometheus adds. */
function answer(outcome: QueryOutcome, limit: number): ApiResponse {
  if (!outcome.ok) return queryFailure(outcome.error);
  const { data, truncated } = valueToJson(outcome.value, limit);
  const warnings = [...(outcome.warnings ?? []), ...(truncated ? ['results truncated due to limit'] : [])];
  return success(data, warnings, outcome.infos);
}

function missingQuery(): ApiResponse {
  return invalidParam('query', 'no query given; pass the PromQL expression in the "query" parameter');
}

/** GET/POST /api/v1/query: an instant query at `time` (default: now). */
export async function handleQuery(
  params: ApiParams,
  engine: MetricsQuery,
  nowMs: number,
): Promise<ApiResponse> {
  const limit = parseLimit(single(params, 'limit'));
  if (!limit.ok) return invalidParam('limit', limit.error);
  const time = parseTimeParam(single(params, 'time'), 'time', nowMs);
  if (!time.ok) return invalidParam('time', time.error);
  const timeoutProblem = checkTimeoutParam(params);
  if (timeoutProblem !== null) return timeoutProblem;
  const query = single(params, 'query');
  if (query === undefined || query.trim() === '') return missingQuery();
  return answer(await engine.instant(query, time.value), limit.value);
}

/** GET/POST /api/v1/query_range: a range query from `start` to `end` every `step`. */
export async function handleQueryRange(params: ApiParams, engine: MetricsQuery): Promise<ApiResponse> {
  const limit = parseLimit(single(params, 'limit'));
  if (!limit.ok) return invalidParam('limit', limit.error);
  const start = parseTime(single(params, 'start') ?? '');
  if (!start.ok) return invalidParam('start', start.error);
  const end = parseTime(single(params, 'end') ?? '');
  if (!end.ok) return invalidParam('end', end.error);
  if (end.value < start.value) return invalidParam('end', 'end timestamp must not be before start time');
  const step = parseDurationParam(single(params, 'step') ?? '');
  if (!step.ok) return invalidParam('step', step.error);
  if (step.value <= 0) {
    return invalidParam(
      'step',
      'zero or negative query resolution step widths are not accepted. Try a positive integer',
    );
  }
  if ((end.value - start.value) / step.value > maxPointsPerSeries) {
    return errorResponse(
      'bad_data',
      'exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)',
    );
  }
  const timeoutProblem = checkTimeoutParam(params);
  if (timeoutProblem !== null) return timeoutProblem;
  const query = single(params, 'query');
  if (query === undefined || query.trim() === '') return missingQuery();
  return answer(await engine.range(query, start.value, end.value, step.value), limit.value);
}

type MatcherSets = { ok: true; sets: LabelMatcher[][] } | { ok: false; error: string };

/** Parses `match[]` selectors; each must be a plain instant vector selector. */
function parseMatchers(selectors: readonly string[]): MatcherSets {
  const sets: LabelMatcher[][] = [];
  for (const text of selectors) {
    const parsed = parseExpr(text);
    if (!parsed.ok) {
      const { line, column } = parsed.error.position;
      return { ok: false, error: `${line}:${column}: parse error: ${parsed.error.message}` };
    }
    if (parsed.expr.kind !== 'VectorSelector' || parsed.expr.offsetMs !== 0 || parsed.expr.at !== undefined) {
      return {
        ok: false,
        error: `${JSON.stringify(text)} is not a series selector; use a selector such as up{job="api"}`,
      };
    }
    sets.push([...parsed.expr.matchers]);
  }
  return { ok: true, sets };
}

interface TimeBounds {
  readonly start: number;
  readonly end: number;
}

function timeBounds(
  params: ApiParams,
  defaultEnd: number,
): { ok: true; value: TimeBounds } | { ok: false; response: ApiResponse } {
  const start = parseTimeParam(single(params, 'start'), 'start', minTimeMs);
  if (!start.ok) return { ok: false, response: invalidParam('start', start.error) };
  const end = parseTimeParam(single(params, 'end'), 'end', defaultEnd);
  if (!end.ok) return { ok: false, response: invalidParam('end', end.error) };
  return { ok: true, value: { start: start.value, end: end.value } };
}

function truncate<T>(items: T[], limit: number): { data: T[]; warnings: string[] } {
  if (limit > 0 && items.length > limit)
    return { data: items.slice(0, limit), warnings: ['results truncated due to limit'] };
  return { data: items, warnings: [] };
}

/**
 * GET/POST /api/v1/series: label sets of the series matching any `match[]` selector with samples in
 * [start, end]; end defaults to nowMs when given, else unbounded.
 */
export function handleSeries(
  params: ApiParams,
  reader: SeriesReader,
  nowMs: number = maxTimeMs,
): ApiResponse {
  const selectors = many(params, 'match[]');
  if (selectors.length === 0) return errorResponse('bad_data', 'no match[] parameter provided');
  const limit = parseLimit(single(params, 'limit'));
  if (!limit.ok) return invalidParam('limit', limit.error);
  const bounds = timeBounds(params, nowMs);
  if (!bounds.ok) return bounds.response;
  const parsed = parseMatchers(selectors);
  if (!parsed.ok) return invalidParam('match[]', parsed.error);
  const seen = new Map<string, Record<string, string>>();
  for (const matchers of parsed.sets) {
    for (const s of reader.select(matchers, bounds.value.start, bounds.value.end)) {
      const labels = sortedLabels(s.labels);
      seen.set(JSON.stringify(labels), labels);
    }
  }
  const { data, warnings } = truncate([...seen.values()], limit.value);
  return success(data, warnings);
}

/**
 * GET/POST /api/v1/labels: label names. With `match[]`, only those of matching series with samples in
 * [start, end]; without, every name the store holds (the store keeps no per-label time index).
 */
export function handleLabels(
  params: ApiParams,
  reader: SeriesReader,
  nowMs: number = maxTimeMs,
): ApiResponse {
  const limit = parseLimit(single(params, 'limit'));
  if (!limit.ok) return invalidParam('limit', limit.error);
  const bounds = timeBounds(params, nowMs);
  if (!bounds.ok) return bounds.response;
  const parsed = parseMatchers(many(params, 'match[]'));
  if (!parsed.ok) return errorResponse('bad_data', parsed.error);
  const names = new Set<string>();
  if (parsed.sets.length === 0) for (const n of reader.labelNames()) names.add(n);
  for (const matchers of parsed.sets) {
    for (const series of reader.select(matchers, bounds.value.start, bounds.value.end)) {
      for (const n of Object.keys(series.labels)) names.add(n);
    }
  }
  const { data, warnings } = truncate([...names].sort(), limit.value);
  return success(data, warnings);
}

/** GET /api/v1/label/:name/values: values of one label; `match[]` and [start, end] narrow it as for handleLabels. */
export function handleLabelValues(
  name: string,
  params: ApiParams,
  reader: SeriesReader,
  nowMs: number = maxTimeMs,
): ApiResponse {
  if (name === '' || name.includes('\uFFFD'))
    return errorResponse('bad_data', `invalid label name: ${JSON.stringify(name)}`);
  const limit = parseLimit(single(params, 'limit'));
  if (!limit.ok) return invalidParam('limit', limit.error);
  const bounds = timeBounds(params, nowMs);
  if (!bounds.ok) return bounds.response;
  const parsed = parseMatchers(many(params, 'match[]'));
  if (!parsed.ok) return errorResponse('bad_data', parsed.error);
  const values = new Set<string>();
  if (parsed.sets.length === 0) for (const v of reader.labelValues(name)) values.add(v);
  for (const matchers of parsed.sets) {
    for (const series of reader.select(matchers, bounds.value.start, bounds.value.end)) {
      const v = series.labels[name];
      if (v !== undefined) values.add(v);
    }
  }
  const { data, warnings } = truncate([...values].sort(), limit.value);
  return success(data, warnings);
}
