/**
 * Runs on one pool take turns, in the order they asked (DESIGN §6.3: runs on the same pool are
 * serialised unless declared independent). Resumed runs ask in creation order, so the order survives a
 * restart.
 */
export class PoolTurns {
  private readonly tails = new Map<string, Promise<void>>();

  /** Waits until every earlier run on the pool has released its turn (or `signal` aborts); returns the release. */
  async wait(pool: string, signal: AbortSignal): Promise<() => void> {
    const previous = this.tails.get(pool) ?? Promise.resolve();
    let release = (): void => undefined;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => mine);
    this.tails.set(pool, tail);
    await new Promise<void>((resolve) => {
      if (signal.aborted) return resolve();
      signal.addEventListener('abort', () => resolve(), { once: true });
      void previous.then(resolve);
    });
    return () => {
      release();
      if (this.tails.get(pool) === tail) this.tails.delete(pool);
    };
  }
}
