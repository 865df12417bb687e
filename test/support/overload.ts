/**
 * The overload scenario (issue 5, "Proof"): a pool of demo web servers behind a real HAProxy under real load,
 * one member turns sick (its capacity drops, /healthz still answers), and either swas repairs it within the
 * pool's capacity guard or HAProxy's health checks are all there is. test/overload.test.ts and
 * bench/overload.bench.ts both run it, so the figures the bench records are the ones the test checks.
 */
import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { sendFault } from '../../examples/demo/fault.js';
import { readPoolStats, startFleet, type Fleet } from '../../examples/demo/fleet.js';
import { startHaproxy } from '../../examples/demo/haproxy.js';
import type { LoadOptions, LoadStats } from '../../examples/demo/loadgen.js';
import { TSX_IMPORT } from '../../examples/demo/servicectl.js';
import { freePort } from './ports.js';
import { eventually, startTestServer, type TestServer } from './swasServer.js';
import { startWebhookReceiver } from './webhookReceiver.js';

/** Requests in flight a member handles before it slows down and sheds 503s (webserver.ts `--capacity`). */
export const MEMBER_CONCURRENCY = 2;
/**
 * Requests/s one healthy member carries: measured on this demo, a member at `--capacity 2` fails under 1% of
 * requests at 100/s and about 18% at 120/s, so 100/s is its knee (`pools.web.capacity.member_capacity`).
 */
export const MEMBER_CAPACITY_RPS = 100;
/** Share of its capacity the sick member keeps: its knee drops to about 30/s (41% failed at 50/s, 89% at 70/s). */
export const SICK_SHARE = 0.25;
/** The pool's guard: the remaining members must carry the load at 80% of their capacity at most. */
export const HEADROOM = 0.2;
/** Load runs this long in every scenario; the fault comes `FAULT_AT_MS` after the load starts. */
export const LOAD_MS = 25_000;
/**
 * Load runs this long before the measured load, so every rate window swas reads (5 s) is full of it when the
 * fault comes: a half-filled window under-reads the load, and the capacity guard with it.
 */
export const WARMUP_MS = 5_000;
/** When the fault comes, after the measured load starts. */
export const FAULT_AT_MS = 3_000;
/** The member that turns sick in every scenario. */
export const SICK_MEMBER = 'web-2';
/** Every member's configured HAProxy weight: enough steps for swas to shed part of a member's share. */
export const MEMBER_WEIGHT = 100;
/** HAProxy's slow start for a member coming back, so the ramp is visible within the load. */
const SLOWSTART_SECONDS = 3;

/** A pool size and a load: how much spare capacity the pool has when one member turns sick. */
export interface OverloadCase {
  readonly name: 'spare' | 'tight';
  readonly members: number;
  readonly ratePerSecond: number;
}

/**
 * 4 members at 50% of their capacity: without the sick one, 3 members carry 200/s at 67%, under the 80%
 * the headroom allows, so the guard lets swas drain it.
 */
export const SPARE_CASE: OverloadCase = { name: 'spare', members: 4, ratePerSecond: 200 };
/**
 * 3 members at 70%: 2 members would have to carry 210/s, 105% of their capacity (each past its knee), so the
 * guard must not drain; shedding may move the sick member's share down to what the others carry at 80%.
 */
export const TIGHT_CASE: OverloadCase = { name: 'tight', members: 3, ratePerSecond: 210 };

/** What one scenario run saw. */
export interface ScenarioResult {
  readonly withSwas: boolean;
  /** When the load started and when the fault was injected (epoch ms). */
  readonly loadStartedAt: number;
  readonly faultAt: number;
  readonly load: LoadStats;
  /** Failed requests (5xx, timeouts, resets) over all sent by the load generator. */
  readonly failedRatio: number;
  /** 5xx share of `/` requests the healthy members answered during the load (they must not be overloaded). */
  readonly healthyErrorRatio: number;
  /** HAProxy's status words for the sick member, in the order first seen (`UP`, `DRAIN`, `MAINT`, …). */
  readonly sickStatuses: readonly string[];
  /** HAProxy's weights for the sick member, in the order seen (changes only). */
  readonly sickWeights: readonly number[];
  /** swas's runs (with steps) and audit log, when swas ran. */
  readonly runs: readonly RunWithSteps[];
  readonly audit: readonly { action: string; target: string; result: string }[];
  readonly notifications: readonly { event: string; reason: string }[];
}

/** A run as `/api/v1/runs/:id` returns it (the fields the scenario reads). */
export interface RunWithSteps {
  readonly run: {
    id: string;
    runbook: string;
    target: Record<string, string>;
    status: string;
    error: string | null;
    createdAt: number;
  };
  readonly steps: RunStepView[];
}

/** One step of a {@link RunWithSteps}. */
export interface RunStepView {
  readonly action: string;
  readonly status: string;
  readonly startedAt: number | null;
  readonly endedAt: number | null;
  readonly error: string | null;
  readonly result: Record<string, unknown> | null;
}

/** A prepared scenario: the fleet (and swas) are up; `run()` applies the load and the fault once. */
export interface PreparedScenario {
  run(): Promise<ScenarioResult>;
  stop(): Promise<void>;
}

const MEMBER_ERRORS =
  'sum by (pool, member) (rate(http_requests_total{job="web", path="/", code=~"5.."}[5s]))';
const MEMBER_REQUESTS = 'sum by (pool, member) (rate(http_requests_total{job="web", path="/"}[5s]))';
const POOL_ERRORS = 'sum by (pool) (rate(http_requests_total{job="web", path="/", code=~"5.."}[5s]))';
const POOL_REQUESTS = 'sum by (pool) (rate(http_requests_total{job="web", path="/"}[5s]))';

// Over 25% of the member's requests fail for 3 s, and well over the pool's share: it is far past its own
// capacity. A busy machine starves every member into bursts of 503s at once; that must not start a run.
const RULES = `groups:
  - name: overload
    interval: 1s
    rules:
      - alert: WebMemberOverloaded
        expr: |
          ${MEMBER_ERRORS} / ${MEMBER_REQUESTS} > 0.25
            and
          ${MEMBER_ERRORS} / ${MEMBER_REQUESTS}
            > on (pool) group_left 1.5 * ${POOL_ERRORS} / ${POOL_REQUESTS}
        for: 3s
        labels:
          severity: warning
`;

// The member's own error ratio under its full share of the load; `or vector(0)` because a freshly restarted
// member has no 5xx series yet, and a member without traffic (NaN) does not count as verified.
const MEMBER_OK = (member: string) =>
  `(sum(rate(http_requests_total{job="web", member="${member}", path="/", code=~"5.."}[5s])) or vector(0))` +
  ` / sum(rate(http_requests_total{job="web", member="${member}", path="/"}[5s])) < 0.05`;

/** The runbook under test: drain (within the pool's guard), restart, wait, ramp back with slow start, verify. */
export const OVERLOAD_RUNBOOK = `name: overload-restart-member
description: Take a sick member out only if the rest of the pool carries its load, restart it and ramp it back.
trigger:
  alert: WebMemberOverloaded
  match:
    pool: web
target:
  pool: '{{ $labels.pool }}'
  member: '{{ $labels.member }}'
steps:
  - action: lb.drain
    # When the guard refuses (fallback shed), this is how long swas waits for capacity with the weight lowered.
    timeout: 30s
  - action: service.restart
    timeout: 20s
  - action: wait.until
    timeout: 15s
    with:
      expr: 'up{job="web", member="{{ $target.member }}"} == 1'
      for: 1s
  - action: lb.ready
    timeout: 20s
    with:
      ramp: slowstart
  - action: verify
    timeout: 20s
    with:
      expr: '${MEMBER_OK('{{ $target.member }}')}'
      for: 2s
`;

/** The pool's load for the capacity guard: every request the members answered, per second. */
export const POOL_LOAD_QUERY = 'sum(rate(http_requests_total{job="web", path="/"}[5s]))';

/** The HAProxy the scenario sends its load through and swas acts on. */
interface WeightedPool {
  readonly frontendUrl: string;
  readonly socketPath: string;
  stop(): Promise<void>;
}

/**
 * Puts a second HAProxy in front of the fleet's members with the fleet's settings but `weight 100` on every
 * server: the fleet's own HAProxy uses weight 1, where the only lower weight is 0 (out), so shedding part of
 * a member's share could not be expressed. (A `weight` option on startFleet would make this unnecessary.)
 */
async function startWeightedPool(dir: string, fleet: Fleet): Promise<WeightedPool> {
  await mkdir(dir, { recursive: true });
  const port = await freePort();
  const servers = fleet.members.map(
    (m) =>
      `  server ${m.name} 127.0.0.1:${m.port} weight ${MEMBER_WEIGHT} check inter 1s fall 2 rise 2 slowstart ${SLOWSTART_SECONDS}s`,
  );
  // The fleet's HAProxy settings (examples/demo/fleet.ts), with weights.
  const config = `defaults
  mode http
  timeout connect 2s
  timeout client 30s
  timeout server 30s
  timeout check 2s
  retries 2
  option redispatch
  retry-on conn-failure empty-response
frontend fe_web
  bind 127.0.0.1:${port}
  default_backend ${fleet.pool}
backend ${fleet.pool}
  balance roundrobin
  option httpchk GET /healthz
  http-check expect status 200
${servers.join('\n')}
`;
  const haproxy = await startHaproxy({ dir, config });
  try {
    await eventually('the weighted HAProxy to see every member UP', async () => {
      const stats = await readPoolStats(haproxy.socketPath, fleet.pool);
      return stats.length === fleet.members.length && stats.every((m) => m.status === 'UP');
    });
  } catch (error) {
    await haproxy.stop();
    throw error;
  }
  return {
    frontendUrl: `http://127.0.0.1:${port}/`,
    socketPath: haproxy.socketPath,
    stop: () => haproxy.stop(),
  };
}

function swasConfig(fleet: Fleet, pool: WeightedPool, webhookUrl: string): string {
  const targets = fleet.members
    .map((m) => `      - targets: ['127.0.0.1:${m.port}']\n        labels: { pool: web, member: ${m.name} }`)
    .join('\n');
  const services = fleet.members
    .map(
      (m) => `  ${m.name}:\n    restart: ${JSON.stringify(fleet.restartCommand(m.name))}\n    timeout: 30s`,
    )
    .join('\n');
  return `scrape_configs:
  - job_name: web
    scrape_interval: 1s
    scrape_timeout: 800ms
    static_configs:
${targets}
rules:
  evaluation_interval: 1s
  files: [overload-rules.yml]
runbooks:
  files: [overload-runbook.yml]
incidents:
  group_by: [alertname, pool, member]
  group_wait: 0s
load_balancers:
  - name: haproxy
    type: haproxy
    socket: ${JSON.stringify(pool.socketPath)}
    pools: [web]
pools:
  web:
    max_out: 1
    capacity:
      load: '${POOL_LOAD_QUERY}'
      member_capacity: ${MEMBER_CAPACITY_RPS}
      headroom: ${HEADROOM}
      fallback: shed
services:
${services}
notify:
  webhooks:
    - name: receiver
      url: ${webhookUrl}
      timeout: 2s
      retries: 1
`;
}

/** Counts of `/` requests by status code, per member, from the members' own /metrics. */
async function rootCounts(fleet: Fleet): Promise<Map<string, { total: number; failed: number }>> {
  const counts = new Map<string, { total: number; failed: number }>();
  for (const member of fleet.members) {
    const text = await (await fetch(member.metricsUrl, { signal: AbortSignal.timeout(3000) })).text();
    const entry = { total: 0, failed: 0 };
    for (const match of text.matchAll(
      /^http_requests_total\{code="(\d+)",method="GET",path="\/"\} (\d+)$/gm,
    )) {
      entry.total += Number(match[2]);
      if (match[1]?.startsWith('5')) entry.failed += Number(match[2]);
    }
    counts.set(member.name, entry);
  }
  return counts;
}

function healthyErrorRatio(
  before: Map<string, { total: number; failed: number }>,
  after: Map<string, { total: number; failed: number }>,
): number {
  let total = 0;
  let failed = 0;
  for (const [name, end] of after) {
    if (name === SICK_MEMBER) continue;
    const start = before.get(name) ?? { total: 0, failed: 0 };
    // A member restarted during the load counts from zero again.
    const reset = end.total < start.total;
    total += end.total - (reset ? 0 : start.total);
    failed += end.failed - (reset ? 0 : start.failed);
  }
  return total === 0 ? 0 : failed / total;
}

const LOADGEN_URL = new URL('../../examples/demo/loadgen.ts', import.meta.url).href;
const LOAD_CHILD = `import { startLoad } from ${JSON.stringify(LOADGEN_URL)};
const { warmupMs, ...options } = JSON.parse(process.argv[1]);
await startLoad({ ...options, durationMs: warmupMs }).done;
const load = startLoad(options);
process.stdout.write('started\\n');
process.stdout.write(JSON.stringify(await load.done) + '\\n');`;

/**
 * Runs the demo's load generator in its own process, so swas (in the test's process) cannot stall its timer
 * and turn a steady rate into bursts. It first sends `WARMUP_MS` of the same load, not counted, then resolves
 * once the measured load has started, with its final stats to come.
 */
async function startLoadProcess(options: LoadOptions): Promise<{ done: Promise<LoadStats>; kill(): void }> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      TSX_IMPORT,
      '--input-type=module',
      '-e',
      LOAD_CHILD,
      JSON.stringify({ ...options, warmupMs: WARMUP_MS }),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), WARMUP_MS + options.durationMs + 30_000);
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const failed = () =>
    new Error(`the load generator exited early (code ${child.exitCode}): ${stderr.trim()}`);
  const first = await lines.next();
  if (first.done === true || first.value !== 'started') {
    clearTimeout(killer);
    child.kill('SIGKILL');
    throw failed();
  }
  const done = lines.next().then((line) => {
    clearTimeout(killer);
    if (line.done === true) throw failed();
    return JSON.parse(line.value) as LoadStats;
  });
  return { done, kill: () => child.kill('SIGKILL') };
}

/** Samples HAProxy's view of the sick member every 100 ms until stopped. */
function watchSickMember(socketPath: string): { stop(): { statuses: string[]; weights: number[] } } {
  const statuses: string[] = [];
  const weights: number[] = [];
  const timer = setInterval(() => {
    readPoolStats(socketPath, 'web').then(
      (stats) => {
        const sick = stats.find((s) => s.name === SICK_MEMBER);
        if (sick === undefined) return;
        const status = sick.status.split(' ')[0] ?? sick.status;
        if (!statuses.includes(status)) statuses.push(status);
        if (weights.at(-1) !== sick.weight) weights.push(sick.weight);
      },
      () => undefined,
    );
  }, 100);
  return {
    stop() {
      clearInterval(timer);
      return { statuses, weights };
    },
  };
}

interface SwasSide {
  readonly swas: TestServer;
  readonly token: string;
  readonly received: { event: string; reason: string }[];
  stop(): Promise<void>;
}

async function startSwas(dir: string, fleet: Fleet, pool: WeightedPool): Promise<SwasSide> {
  const receiver = await startWebhookReceiver();
  let swas: TestServer;
  try {
    swas = await startTestServer(dir, swasConfig(fleet, pool, receiver.url), {
      'overload-rules.yml': RULES,
      'overload-runbook.yml': OVERLOAD_RUNBOOK,
    });
  } catch (error) {
    await receiver.stop();
    throw error;
  }
  const token = await swas.token('admin');
  const stop = async () => {
    await swas.stop();
    await receiver.stop();
  };
  try {
    await eventually('swas to scrape every member', async () => {
      const { body } = await swas.get('/api/v1/targets', token);
      const targets = (body as { data: { activeTargets: { health: string }[] } }).data.activeTargets;
      return targets.length === fleet.members.length && targets.every((t) => t.health === 'up');
    });
  } catch (error) {
    await stop();
    throw error;
  }
  return { swas, token, received: receiver.received, stop };
}

async function swasRecord(side: SwasSide): Promise<Pick<ScenarioResult, 'runs' | 'audit' | 'notifications'>> {
  const { swas, token } = side;
  const listed = (await swas.get('/api/v1/runs', token)).body as { runs: { id: string }[] };
  const runs: RunWithSteps[] = [];
  for (const { id } of listed.runs)
    runs.push((await swas.get(`/api/v1/runs/${id}`, token)).body as RunWithSteps);
  const audit = (
    (await swas.get('/api/v1/audit?limit=1000', token)).body as { entries: ScenarioResult['audit'] }
  ).entries;
  const notifications = side.received.map((n) => ({ event: n.event, reason: n.reason }));
  return {
    runs,
    audit: audit.map((e) => ({ action: e.action, target: e.target, result: e.result })),
    notifications,
  };
}

/** Starts the fleet (and swas watching it) for one case; `dir` must be empty and is the caller's to remove. */
export async function prepareScenario(
  dir: string,
  scenario: OverloadCase,
  withSwas: boolean,
): Promise<PreparedScenario> {
  const fleetDir = join(dir, 'fleet');
  await mkdir(fleetDir, { recursive: true });
  const fleet = await startFleet({
    dir: fleetDir,
    members: scenario.members,
    capacity: MEMBER_CONCURRENCY,
    slowstartSeconds: SLOWSTART_SECONDS,
  });
  let pool: WeightedPool | null = null;
  let side: SwasSide | null = null;
  try {
    pool = await startWeightedPool(join(dir, 'haproxy'), fleet);
    if (withSwas) {
      const swasDir = join(dir, 'swas');
      await mkdir(swasDir, { recursive: true });
      side = await startSwas(swasDir, fleet, pool);
    }
  } catch (error) {
    await pool?.stop();
    await fleet.stop();
    throw error;
  }
  const swasSide = side;
  const front = pool;
  return {
    async run() {
      const watcher = watchSickMember(front.socketPath);
      const load = await startLoadProcess({
        url: front.frontendUrl,
        ratePerSecond: scenario.ratePerSecond,
        durationMs: LOAD_MS,
      });
      const before = await rootCounts(fleet);
      const loadStartedAt = Date.now();
      let faultAt = 0;
      let stats: LoadStats;
      let seen: { statuses: string[]; weights: number[] };
      try {
        await sleep(FAULT_AT_MS);
        faultAt = Date.now();
        const fault = await sendFault(fleet.dir, 'sick', SICK_MEMBER, String(SICK_SHARE));
        if (!fault.ok) throw new Error(`could not make ${SICK_MEMBER} sick: ${fault.message}`);
        stats = await load.done;
      } finally {
        load.kill();
        seen = watcher.stop();
      }
      const after = await rootCounts(fleet);
      const recorded =
        swasSide === null ? { runs: [], audit: [], notifications: [] } : await swasRecord(swasSide);
      return {
        withSwas,
        loadStartedAt,
        faultAt,
        load: stats,
        failedRatio: stats.sent === 0 ? 1 : stats.failed / stats.sent,
        healthyErrorRatio: healthyErrorRatio(before, after),
        sickStatuses: seen.statuses,
        sickWeights: seen.weights,
        ...recorded,
      };
    },
    async stop() {
      try {
        await swasSide?.stop();
      } finally {
        await front.stop();
        await fleet.stop();
      }
    },
  };
}

/** Runs one case twice at the same time, with swas and with HAProxy's health checks alone, on two fleets. */
export async function runCaseSideBySide(
  dir: string,
  scenario: OverloadCase,
): Promise<{ swas: ScenarioResult; haproxyOnly: ScenarioResult }> {
  const ready: PreparedScenario[] = [];
  try {
    // One after the other, so the second fleet's free ports are picked while the first one holds its own.
    const withSwas = await prepareScenario(join(dir, `${scenario.name}-swas`), scenario, true);
    ready.push(withSwas);
    const alone = await prepareScenario(join(dir, `${scenario.name}-haproxy`), scenario, false);
    ready.push(alone);
    const [swas, haproxyOnly] = await Promise.all([withSwas.run(), alone.run()]);
    return { swas, haproxyOnly };
  } finally {
    await Promise.allSettled(ready.map((p) => p.stop()));
  }
}
