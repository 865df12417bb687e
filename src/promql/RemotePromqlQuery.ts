import { errorMessage, InputError, METRIC_NAME_LABEL } from '../core/index.js';
import type { Labels } from '../core/index.js';
import { walkExpr } from './ast.js';
import { errorResponse, type ApiBody, type ApiResponse } from './httpApi.js';
import type {
  MatrixSeries,
  MetricsQuery,
  QueryError,
  QueryErrorType,
  QueryOutcome,
  QueryValue,
  VectorSample,
} from './MetricsQuery.js';
import { parseExpr } from './parser.js';

/** Where the remote engine is and how to talk to it. */
export interface RemotePromqlQueryOptions {
  /**
   * Base URL of the engine's Prometheus HTTP API, without `/api/v1` (e.g. `http://prometheus:9090`, or
   * `http://vmselect:8481/select/0/prometheus` for a VictoriaMetrics cluster).
   */
  readonly url: string;
  /** Extra request headers, e.g. `authorization` or a tenant header such as `X-Scope-OrgID`. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Wall-clock limit per request; also sent to the engine as its `timeout` parameter. @default 30000 */
  readonly timeoutMs?: number;
}

interface ResolvedRemoteOptions {
  readonly base: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
}

const KNOWN_ERROR_TYPES: ReadonlySet<string> = new Set(['bad_data', 'execution', 'timeout', 'canceled']);
const BODY_EXCERPT_CHARS = 200;

type Fetched = { ok: true; status: number; json: unknown } | { ok: false; error: QueryError };

/** Runs PromQL on a Prometheus-compatible engine (Prometheus, VictoriaMetrics, Thanos, Mimir) over its HTTP API. */
export class RemotePromqlQuery implements MetricsQuery {
  private constructor(private readonly options: ResolvedRemoteOptions) {}

  /** Validates the URL and limits at startup; a bad value fails here with an InputError. */
  static create(options: RemotePromqlQueryOptions): RemotePromqlQuery {
    return new RemotePromqlQuery(
      Object.freeze({
        base: baseUrl(options.url),
        headers: Object.freeze({ ...(options.headers ?? {}) }),
        timeoutMs: timeoutOption(options.timeoutMs),
      }),
    );
  }

  instant(expr: string, atMs: number): Promise<QueryOutcome> {
    if (!Number.isFinite(atMs)) return Promise.resolve(badData(`invalid query time ${atMs}`));
    return this.query('/api/v1/query', { query: expr, time: seconds(atMs) }, false);
  }

  range(expr: string, startMs: number, endMs: number, stepMs: number): Promise<QueryOutcome> {
    // Checked here because engines differ on bad ranges (VictoriaMetrics answers end < start with data).
    if (!(stepMs > 0) || !Number.isFinite(startMs) || !Number.isFinite(endMs) || endMs < startMs) {
      return Promise.resolve(
        badData(
          `invalid range query: start ${startMs}, end ${endMs}, step ${stepMs}; need start <= end and a positive step`,
        ),
      );
    }
    const params = { query: expr, start: seconds(startMs), end: seconds(endMs), step: seconds(stepMs) };
    return this.query('/api/v1/query_range', params, true);
  }

  /**
   * Asks the engine which of the expression's metric names it knows. The answer only feeds advisory
   * "unknown metric" warnings, so when the engine cannot be asked this returns [] rather than warn wrongly;
   * the query itself reports the outage.
   */
  async unknownMetrics(expr: string): Promise<string[]> {
    const names = metricNames(expr);
    if (names.length === 0) return [];
    const form = new URLSearchParams({ start: '0' });
    for (const name of names) form.append('match[]', `{${METRIC_NAME_LABEL}=${JSON.stringify(name)}}`);
    const fetched = await this.post(`/api/v1/label/${METRIC_NAME_LABEL}/values`, form);
    if (!fetched.ok) return [];
    const data = successData(fetched.json);
    if (!Array.isArray(data)) return [];
    const known = new Set(data.filter((v): v is string => typeof v === 'string'));
    return names.filter((n) => !known.has(n));
  }

  /**
   * Forwards a series or label lookup (`/api/v1/series`, `/api/v1/labels`, `/api/v1/label/NAME/values`)
   * with its parameters, so that with `metrics.query: remote` label pickers and `promtool query series` see
   * what the engine holds, not only what swas scraped. The engine's answer passes through unchanged; when
   * the engine cannot be reached the answer is a Prometheus error body that says so.
   */
  async lookup(path: string, params: URLSearchParams): Promise<ApiResponse> {
    const fetched = await this.post(path, params);
    if (!fetched.ok) return errorResponse(fetched.error.errorType, fetched.error.message);
    const json = fetched.json;
    if (!isRecord(json) || (json['status'] !== 'success' && json['status'] !== 'error')) {
      return errorResponse(
        'execution',
        `remote query engine at ${this.urlOf(path)} answered in an unexpected shape; check that it speaks the Prometheus HTTP API`,
      );
    }
    return { status: fetched.status, body: json as unknown as ApiBody };
  }

  private async query(path: string, params: Record<string, string>, isRange: boolean): Promise<QueryOutcome> {
    const form = new URLSearchParams({ ...params, timeout: `${this.options.timeoutMs / 1000}s` });
    const fetched = await this.post(path, form);
    if (!fetched.ok) return { ok: false, error: fetched.error };
    return toOutcome(fetched.status, fetched.json, this.urlOf(path), isRange);
  }

  /** POSTs a form and parses the JSON answer; transport failures become execution or timeout errors. */
  private async post(path: string, form: URLSearchParams): Promise<Fetched> {
    const url = this.urlOf(path);
    const timeout = AbortSignal.timeout(this.options.timeoutMs);
    let response: Response;
    let text: string;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: {
          ...this.options.headers,
          accept: 'application/json',
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: form.toString(),
        signal: timeout,
      });
      text = await response.text();
    } catch (thrown) {
      if (timeout.aborted) {
        return failed(
          'timeout',
          `remote query engine at ${url} did not answer within ${this.options.timeoutMs} ms`,
        );
      }
      const cause = thrown instanceof Error && thrown.cause instanceof Error ? thrown.cause.message : null;
      return failed(
        'execution',
        `remote query engine at ${url} is unreachable: ${cause ?? errorMessage(thrown)}; check metrics.query.url and that the engine is running`,
      );
    }
    try {
      return { ok: true, status: response.status, json: JSON.parse(text) as unknown };
    } catch {
      const excerpt = text.slice(0, BODY_EXCERPT_CHARS).replace(/\s+/g, ' ').trim();
      return failed(
        'execution',
        `remote query engine at ${url} answered HTTP ${response.status} with a body that is not JSON: "${excerpt}"; check that metrics.query.url points at a Prometheus-compatible API`,
      );
    }
  }

  private urlOf(path: string): string {
    return `${this.options.base}${path}`;
  }
}

function baseUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new InputError(
      'SWAS-PROMQL-040',
      `remote query engine URL "${raw}" is not a valid URL; use e.g. http://host:9090`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InputError(
      'SWAS-PROMQL-040',
      `remote query engine URL "${raw}" must use http or https, not ${url.protocol.replace(':', '')}`,
    );
  }
  if (url.search !== '' || url.hash !== '') {
    throw new InputError(
      'SWAS-PROMQL-040',
      `remote query engine URL "${raw}" must not carry a query string or fragment; give the API base only`,
    );
  }
  return url
    .toString()
    .replace(/\/+$/, '')
    .replace(/\/api\/v1$/, '');
}

function timeoutOption(value: number | undefined): number {
  const v = value ?? 30_000;
  if (!Number.isFinite(v) || v <= 0) {
    throw new InputError(
      'SWAS-PROMQL-041',
      `remote query timeoutMs must be a positive number of milliseconds, got ${String(value)}`,
    );
  }
  return v;
}

/** Metric names the expression selects by equality, sorted and unique. */
function metricNames(expr: string): string[] {
  const parsed = parseExpr(expr);
  if (!parsed.ok) return [];
  const names = new Set<string>();
  walkExpr(parsed.expr, (e) => {
    if (e.kind !== 'VectorSelector') return;
    for (const m of e.matchers) if (m.name === METRIC_NAME_LABEL && m.type === '=') names.add(m.value);
  });
  return [...names].sort();
}

function seconds(ms: number): string {
  return String(ms / 1000);
}

function failed(errorType: QueryErrorType, message: string): { ok: false; error: QueryError } {
  return { ok: false, error: { errorType, message } };
}

function badData(message: string): QueryOutcome {
  return { ok: false, error: { errorType: 'bad_data', message } };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function successData(json: unknown): unknown {
  return isRecord(json) && json['status'] === 'success' ? json['data'] : undefined;
}

/** Turns an API answer into an outcome; anything that is not Prometheus's shape is an execution error. */
function toOutcome(status: number, json: unknown, url: string, isRange: boolean): QueryOutcome {
  if (!isRecord(json)) return malformed(url, 'the answer is not a JSON object');
  if (json['status'] === 'error') return { ok: false, error: remoteError(status, json, url) };
  if (json['status'] !== 'success') return malformed(url, `status is ${JSON.stringify(json['status'])}`);
  const data = json['data'];
  if (!isRecord(data)) return malformed(url, '"data" is not an object');
  let value: QueryValue;
  try {
    value = toQueryValue(data);
  } catch (error) {
    return malformed(url, errorMessage(error));
  }
  if (isRange && value.resultType !== 'matrix') {
    return malformed(url, `a range query answered resultType "${value.resultType}"`);
  }
  const warnings = stringList(json['warnings']);
  const infos = stringList(json['infos']);
  return {
    ok: true,
    value,
    ...(warnings.length > 0 ? { warnings } : {}),
    ...(infos.length > 0 ? { infos } : {}),
  };
}

function malformed(url: string, what: string): QueryOutcome {
  return failed(
    'execution',
    `remote query engine at ${url} answered in an unexpected shape (${what}); check that it speaks the Prometheus HTTP API`,
  );
}

/** Keeps the engine's errorType when it is one of Prometheus's; engines that send HTTP codes instead are mapped. */
function remoteError(status: number, json: Record<string, unknown>, url: string): QueryError {
  const rawType = json['errorType'];
  const text = typeof json['error'] === 'string' ? json['error'] : 'no error message given';
  const errorType: QueryErrorType =
    typeof rawType === 'string' && KNOWN_ERROR_TYPES.has(rawType)
      ? (rawType as QueryErrorType)
      : errorTypeOfStatus(Number(rawType) || status);
  const position = /^(\d+):(\d+): parse error/.exec(text);
  const error: QueryError = { errorType, message: `${text} (from ${url})` };
  if (position === null) return error;
  return { ...error, position: { line: Number(position[1]), column: Number(position[2]) } };
}

function errorTypeOfStatus(status: number): QueryErrorType {
  // VictoriaMetrics sends errorType "422" for parse errors, "503"/"504" when the query was cut short.
  if (status === 400 || status === 422) return 'bad_data';
  if (status === 503 || status === 504) return 'timeout';
  return 'execution';
}

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

/** Maps Prometheus's JSON result (seconds, values as strings such as "NaN" and "+Inf") to a QueryValue. */
function toQueryValue(data: Record<string, unknown>): QueryValue {
  const { resultType, result } = data;
  switch (resultType) {
    case 'vector':
      return { resultType, result: list(result, 'result').map(vectorSample) };
    case 'matrix':
      return { resultType, result: list(result, 'result').map(matrixSeries) };
    case 'scalar':
      return { resultType, result: point(result) };
    case 'string': {
      const [t, v] = pair(result);
      return { resultType, result: [t, String(v)] };
    }
    default:
      throw new Error(
        `resultType ${JSON.stringify(resultType)} is not one of vector, matrix, scalar, string`,
      );
  }
}

function list(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw new Error(`"${what}" is not an array`);
  return value;
}

function labelsOf(value: unknown): Labels {
  if (!isRecord(value)) throw new Error('"metric" is not an object');
  const labels: Record<string, string> = {};
  for (const [name, v] of Object.entries(value)) {
    if (typeof v !== 'string') throw new Error(`label ${name} is not a string`);
    labels[name] = v;
  }
  return labels;
}

function vectorSample(item: unknown): VectorSample {
  if (!isRecord(item)) throw new Error('a vector element is not an object');
  const [t, value] = point(item['value']);
  return { labels: labelsOf(item['metric']), value, t };
}

function matrixSeries(item: unknown): MatrixSeries {
  if (!isRecord(item)) throw new Error('a matrix series is not an object');
  return { labels: labelsOf(item['metric']), points: list(item['values'], 'values').map(point) };
}

function pair(value: unknown): [number, unknown] {
  if (!Array.isArray(value) || value.length !== 2 || typeof value[0] !== 'number') {
    throw new Error(`${JSON.stringify(value)} is not a [time, value] pair`);
  }
  return [Math.round(value[0] * 1000), value[1]];
}

function point(value: unknown): [number, number] {
  const [t, v] = pair(value);
  return [t, sampleValue(v)];
}

function sampleValue(v: unknown): number {
  if (typeof v !== 'string') throw new Error(`sample value ${JSON.stringify(v)} is not a string`);
  if (v === 'NaN') return NaN;
  if (v === '+Inf' || v === 'Inf') return Infinity;
  if (v === '-Inf') return -Infinity;
  const n = Number(v);
  if (v.trim() === '' || Number.isNaN(n)) throw new Error(`sample value "${v}" is not a number`);
  return n;
}
