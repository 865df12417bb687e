/** Options for {@link FailureWindow}. */
export interface FailureWindowOptions {
  /** Failures a key may have within the window; the next attempt is refused. */
  readonly limit: number;
  readonly windowMs: number;
  /** Keys tracked at most; past it the stalest are forgotten, so a flood of addresses cannot exhaust memory. */
  readonly maxKeys?: number;
}

/**
 * Counts recent failures per key (a client address) in a sliding window, so a key that failed too often
 * is refused for a while without affecting other keys.
 */
export class FailureWindow {
  private readonly failures = new Map<string, number[]>();

  constructor(private readonly options: FailureWindowOptions) {}

  /** Milliseconds until `key` may try again, or 0 when it may try now. */
  blockedFor(key: string, now: number): number {
    const recent = this.recent(key, now);
    if (recent.length < this.options.limit) return 0;
    const oldest = recent[recent.length - this.options.limit] ?? now;
    return Math.max(1, oldest + this.options.windowMs - now);
  }

  /** Records one failure of `key` and returns how many it has in the window now. */
  fail(key: string, now: number): number {
    const recent = this.recent(key, now);
    recent.push(now);
    // Re-inserting keeps the Map in least-recently-failed order for eviction.
    this.failures.delete(key);
    this.failures.set(key, recent);
    const max = this.options.maxKeys ?? 10_000;
    for (const stale of this.failures.keys()) {
      if (this.failures.size <= max) break;
      this.failures.delete(stale);
    }
    return recent.length;
  }

  private recent(key: string, now: number): number[] {
    const all = this.failures.get(key);
    if (all === undefined) return [];
    const recent = all.filter((t) => now - t < this.options.windowMs);
    if (recent.length === 0) this.failures.delete(key);
    else if (recent.length !== all.length) this.failures.set(key, recent);
    return recent;
  }
}
