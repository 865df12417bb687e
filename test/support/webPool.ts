import { HaproxyLoadBalancer } from '../../src/lb/index.js';
import { startHaproxy, type HaproxyProcess } from './haproxy.js';
import { freePort } from './ports.js';

/** A server line's target: a test backend or anything with a name and a loopback port. */
export interface PoolServer {
  readonly name: string;
  readonly port: number;
}

/** One HAProxy backend: its servers and the `default-server` options they share. */
export interface PoolSpec {
  readonly name: string;
  readonly servers: readonly PoolServer[];
  /** e.g. `check inter 100ms rise 1 fall 1 weight 10 slowstart 1s` */
  readonly serverDefaults: string;
}

/**
 * HAProxy config of the tests' web fleet: one HTTP frontend on loopback in front of the first pool, and every
 * pool health-checked with `GET /health`. `timeout check` is set because without it a check must answer
 * within `inter`, and a busy machine would then fail members at random.
 */
export function webPoolHaproxyConfig(frontendPort: number, pools: readonly PoolSpec[]): string {
  const backends = pools.map(
    (pool) => `backend ${pool.name}
  option httpchk GET /health
  default-server ${pool.serverDefaults}
${pool.servers.map((s) => `  server ${s.name} 127.0.0.1:${s.port}`).join('\n')}
`,
  );
  return `defaults
  mode http
  timeout connect 1s
  timeout client 5s
  timeout server 5s
  timeout check 2s
frontend fe
  bind 127.0.0.1:${frontendPort}
  default_backend ${pools[0]?.name ?? 'web'}
${backends.join('')}`;
}

/** A running HAProxy with the web fleet's config and a swas load-balancer adapter (`edge`) on its socket. */
export interface WebPool {
  readonly haproxy: HaproxyProcess;
  readonly lb: HaproxyLoadBalancer;
  readonly frontendPort: number;
}

/** The swas.yaml `load_balancers:` section for one HAProxy named `edge` serving `pools`. */
export function edgeLbYaml(socketPath: string, pools: readonly string[]): string {
  return `load_balancers:
  - name: edge
    type: haproxy
    socket: ${socketPath}
    pools: [${pools.join(', ')}]
`;
}

/** Starts HAProxy for `pools` in `dir` (frontend on `frontendPort`, or a free port). */
export async function startWebPool(
  dir: string,
  pools: readonly PoolSpec[],
  frontendPort?: number,
): Promise<WebPool> {
  const port = frontendPort ?? (await freePort());
  const haproxy = await startHaproxy({ dir, config: webPoolHaproxyConfig(port, pools) });
  return {
    haproxy,
    lb: HaproxyLoadBalancer.create({ name: 'edge', socket: haproxy.socketPath }),
    frontendPort: port,
  };
}
