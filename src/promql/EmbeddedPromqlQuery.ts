import { InputError, METRIC_NAME_LABEL } from '../core/index.js';
import type { SeriesReader } from '../tsdb/index.js';
import { Annotations } from './annotations.js';
import { walkExpr } from './ast.js';
import type { Expr } from './ast.js';
import { typeOf } from './checker.js';
import { Evaluator } from './Evaluator.js';
import type { MetricsQuery, QueryError, QueryOutcome, QueryValue } from './MetricsQuery.js';
import { parseExpr } from './parser.js';
import { QueryEvalError, QueryGuard } from './QueryGuard.js';
import { toQueryValue } from './results.js';
import type { EvalRange } from './values.js';

/** Options of the embedded engine; defaults follow Prometheus. */
export interface EmbeddedPromqlQueryOptions {
  readonly reader: SeriesReader;
  /** Wall-clock limit per query. @default 30000 */
  readonly timeoutMs?: number;
  /** Samples one query may hold in memory at once. @default 50000000 */
  readonly maxSamples?: number;
  /** How far back an instant selector looks for a sample. @default 300000 */
  readonly lookbackMs?: number;
  /** Step of subqueries written without one (`[1h:]`). @default 60000 */
  readonly subqueryStepMs?: number;
  /** The clock used for timeouts. @default Date.now */
  readonly now?: () => number;
}

interface ResolvedOptions {
  readonly reader: SeriesReader;
  readonly timeoutMs: number;
  readonly maxSamples: number;
  readonly lookbackMs: number;
  readonly subqueryStepMs: number;
  readonly now: () => number;
}

function positive(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isFinite(v) || v <= 0) {
    throw new InputError(
      'SWAS-PROMQL-010',
      `promql option ${name} must be a positive number, got ${String(value)}`,
    );
  }
  return v;
}

/** Runs PromQL in-process against a SeriesReader (the embedded metrics store). */
export class EmbeddedPromqlQuery implements MetricsQuery {
  private constructor(private readonly options: ResolvedOptions) {}

  /** Builds the engine; invalid limits fail here, at startup, with an InputError. */
  static create(options: EmbeddedPromqlQueryOptions): EmbeddedPromqlQuery {
    return new EmbeddedPromqlQuery(
      Object.freeze({
        reader: options.reader,
        timeoutMs: positive('timeoutMs', options.timeoutMs, 30_000),
        maxSamples: positive('maxSamples', options.maxSamples, 50_000_000),
        lookbackMs: positive('lookbackMs', options.lookbackMs, 300_000),
        subqueryStepMs: positive('subqueryStepMs', options.subqueryStepMs, 60_000),
        now: options.now ?? Date.now,
      }),
    );
  }

  instant(expr: string, atMs: number): Promise<QueryOutcome> {
    return Promise.resolve(this.run(expr, { start: atMs, end: atMs, step: 1 }, false));
  }

  range(expr: string, startMs: number, endMs: number, stepMs: number): Promise<QueryOutcome> {
    if (!(stepMs > 0) || !Number.isFinite(startMs) || !Number.isFinite(endMs) || endMs < startMs) {
      return Promise.resolve(
        badData(
          `invalid range query: start ${startMs}, end ${endMs}, step ${stepMs}; need start <= end and a positive step`,
        ),
      );
    }
    return Promise.resolve(this.run(expr, { start: startMs, end: endMs, step: stepMs }, true));
  }

  unknownMetrics(expr: string): Promise<string[]> {
    const parsed = parseExpr(expr);
    if (!parsed.ok) return Promise.resolve([]);
    const names = new Set<string>();
    walkExpr(parsed.expr, (e) => {
      if (e.kind !== 'VectorSelector') return;
      for (const m of e.matchers) if (m.name === METRIC_NAME_LABEL && m.type === '=') names.add(m.value);
    });
    return Promise.resolve([...names].filter((n) => !this.options.reader.hasMetric(n)).sort());
  }

  /** Parses, evaluates and shapes one query; every failure becomes a QueryError value. */
  private run(text: string, range: EvalRange, isRange: boolean): QueryOutcome {
    const parsed = parseExpr(text);
    if (!parsed.ok) {
      const { message, position } = parsed.error;
      return {
        ok: false,
        error: {
          errorType: 'bad_data',
          message: `${position.line}:${position.column}: parse error: ${message}`,
          position: { line: position.line, column: position.column },
        },
      };
    }
    const type = typeOf(parsed.expr);
    if (isRange && type !== 'scalar' && type !== 'vector') {
      const documented = type === 'matrix' ? 'range vector' : type;
      return badData(
        `invalid expression type "${documented}" for range query, must be Scalar or instant Vector`,
      );
    }
    try {
      const annotations = new Annotations(text);
      const value = this.evaluate(parsed.expr, range, isRange, annotations);
      return { ok: true, value, ...annotations.toJSON() };
    } catch (error) {
      return { ok: false, error: toQueryError(error) };
    }
  }

  private evaluate(expr: Expr, range: EvalRange, isRange: boolean, annotations: Annotations): QueryValue {
    const { reader, timeoutMs, maxSamples, lookbackMs, subqueryStepMs, now } = this.options;
    const guard = new QueryGuard({ timeoutMs, maxSamples, now });
    const evaluator = new Evaluator({
      reader,
      guard,
      lookbackMs,
      subqueryStepMs,
      queryStart: range.start,
      queryEnd: range.end,
      queryStep: isRange ? range.step : 0,
      annotations,
    });
    // Everything the store hands out is copied into the result before the scope ends.
    const shape = (): QueryValue =>
      toQueryValue(evaluator.evaluate(expr, range), typeOf(expr), range, isRange);
    return reader.readScope === undefined ? shape() : reader.readScope(shape);
  }
}

function badData(message: string): QueryOutcome {
  return { ok: false, error: { errorType: 'bad_data', message } };
}

function toQueryError(error: unknown): QueryError {
  if (error instanceof QueryEvalError) return { errorType: error.errorType, message: error.message };
  if (error instanceof InputError) return { errorType: 'bad_data', message: error.message };
  // A bug in the evaluator must not take the caller down; report it like Prometheus reports a runtime panic.
  const message = error instanceof Error ? error.message : String(error);
  return { errorType: 'execution', message: `unexpected error: ${message}` };
}
