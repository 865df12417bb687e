import { SwasError } from '../core/index.js';

/** Why a query failed while it ran; mirrors the Prometheus HTTP API error types. */
export type EvalErrorType = 'execution' | 'timeout';

/** A failure during evaluation (not a syntax error): too many samples, duplicate series, timeout, … */
export class QueryEvalError extends SwasError {
  constructor(
    code: string,
    readonly errorType: EvalErrorType,
    message: string,
  ) {
    super(code, message);
  }
}

/** Throws an execution error with Prometheus's wording. */
export function executionError(message: string): never {
  throw new QueryEvalError('SWAS-PROMQL-002', 'execution', message);
}

/** Limits a query must respect, checked cooperatively while it runs. */
export interface QueryGuardOptions {
  /** Wall-clock milliseconds the query may run. */
  readonly timeoutMs: number;
  /** Samples the query may hold in memory at once. */
  readonly maxSamples: number;
  /** The clock; injectable so tests can advance time. */
  readonly now: () => number;
}

const checkEvery = 64;

/** Enforces the timeout and the max-samples budget of one query. */
export class QueryGuard {
  private readonly deadline: number;
  private calls = 0;
  private samples = 0;

  constructor(private readonly options: QueryGuardOptions) {
    this.deadline = options.now() + options.timeoutMs;
  }

  /** Called from every loop of the evaluator; reads the clock every few calls. */
  check(): void {
    if (++this.calls % checkEvery !== 0) return;
    this.checkNow();
  }

  /** Checks the deadline immediately. */
  checkNow(): void {
    if (this.options.now() > this.deadline) {
      throw new QueryEvalError(
        'SWAS-PROMQL-003',
        'timeout',
        `query timed out in expression evaluation (limit ${this.options.timeoutMs} ms); narrow the selectors or the time range`,
      );
    }
  }

  /** Accounts for samples now held in memory; fails once the budget is exceeded. */
  addSamples(n: number): void {
    this.samples += n;
    if (this.samples > this.options.maxSamples) {
      throw new QueryEvalError(
        'SWAS-PROMQL-004',
        'execution',
        `query processing would load too many samples into memory in query execution (limit ${this.options.maxSamples}); narrow the selectors or the time range`,
      );
    }
  }

  /** Returns samples to the budget once the evaluator no longer holds them. */
  releaseSamples(n: number): void {
    this.samples = Math.max(0, this.samples - n);
  }

  /** Samples currently accounted for. */
  heldSamples(): number {
    return this.samples;
  }
}
