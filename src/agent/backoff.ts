/** Exponential backoff with full jitter: each delay is uniform in [0, min(cap, initial × 2^attempt)]. */
export interface BackoffOptions {
  /** @default 1000 */
  readonly initialMs?: number;
  /** @default 60000 */
  readonly maxMs?: number;
  /** Uniform in [0, 1); tests pass a fixed sequence. @default Math.random */
  readonly random?: () => number;
}

/** One scheduled retry: which attempt, the ceiling it was drawn under, and the delay drawn. */
export interface BackoffStep {
  readonly attempt: number;
  readonly ceilingMs: number;
  readonly delayMs: number;
}

/** Retry delays that grow after each failure and start over after a success. */
export class Backoff {
  private attempt = 0;
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly random: () => number;

  constructor(options: BackoffOptions = {}) {
    this.initialMs = options.initialMs ?? 1000;
    this.maxMs = options.maxMs ?? 60_000;
    this.random = options.random ?? Math.random;
    if (!(this.initialMs > 0 && this.maxMs >= this.initialMs))
      throw new RangeError(
        `backoff needs 0 < initialMs <= maxMs, got initialMs ${this.initialMs} and maxMs ${this.maxMs}`,
      );
  }

  /** The delay before the next attempt; each call doubles the ceiling up to maxMs. */
  next(): BackoffStep {
    const ceilingMs = Math.min(this.maxMs, this.initialMs * 2 ** Math.min(this.attempt, 30));
    const step = { attempt: this.attempt + 1, ceilingMs, delayMs: Math.floor(this.random() * ceilingMs) };
    this.attempt += 1;
    return step;
  }

  /** Starts over at initialMs (after a connection that worked). */
  reset(): void {
    this.attempt = 0;
  }
}
