import type { PoolGuardsConfig } from '../../src/config/index.js';
import type { MetricsQuery } from '../../src/promql/index.js';
import { PoolGuard } from '../../src/runbooks/index.js';

/** A pool guard with swas's defaults for every pool (or the guards given per pool), reading `query`. */
export function defaultPoolGuard(
  query: MetricsQuery,
  pools: Readonly<Record<string, PoolGuardsConfig>> = {},
): PoolGuard {
  return new PoolGuard({
    guardsFor: (pool) => pools[pool] ?? PoolGuard.defaults(),
    query,
    now: Date.now,
  });
}
