import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { REPO_ROOT } from '../examples/demo/demo.js';
import { stopProcess } from '../examples/demo/processes.js';
import type { HaproxyLoadBalancer } from '../src/lb/index.js';
import { openStateStore } from '../src/store/index.js';
import { startHttpBackend, type HttpBackend } from './support/backends.js';
import type { HaproxyProcess } from './support/haproxy.js';
import { freePort } from './support/ports.js';
import { eventually } from './support/swasServer.js';
import { makeTempDir } from './support/tmp.js';
import { startWebPool } from './support/webPool.js';

// kill -9 at every step boundary of a real `swas up` process acting on a real HAProxy, then restart it:
// the run must resume or undo, and the member must end in rotation at its configured weight.

const WEIGHT = 10;

interface StepRow {
  step_index: number;
  status: string;
  params: string;
}

/** A point in a run where the test kills swas: the first moment the persisted steps satisfy `reached`. */
interface Boundary {
  readonly label: string;
  readonly reached: (steps: readonly StepRow[]) => boolean;
}

const started = (index: number): Boundary => ({
  label: `step ${index + 1} started`,
  // Polling cannot see a step that starts and ends within milliseconds as 'running': any later state counts.
  reached: (steps) => !['pending', undefined].includes(steps.find((s) => s.step_index === index)?.status),
});
const ended = (index: number, status: 'succeeded' | 'failed' = 'succeeded'): Boundary => ({
  label: `step ${index + 1} ${status}`,
  reached: (steps) => steps.find((s) => s.step_index === index)?.status === status,
});

// The repair runbook: drain, restart (1 s), wait until a condition held 1 s, ready with a weight ramp.
// "Before step n" is "after step n - 1"; the slow steps are also killed while they run.
const REPAIR_BOUNDARIES: Boundary[] = [
  { label: 'run created, no step started', reached: (steps) => steps.length > 0 },
  ended(0),
  started(1),
  ended(1),
  started(2),
  ended(2),
  started(3),
  ended(3),
];
// The broken runbook: its restart fails, so swas undoes the drain (undo steps are appended as 3 and 4).
const BROKEN_BOUNDARIES: Boundary[] = [ended(1, 'failed'), ended(2), started(3)];

// The test kills many runs on the same member: lift the flap budget that would quarantine it.
const runbook = (name: string, alerts: string, restart: string) => `name: ${name}
trigger:
  alert: ${alerts}
guards:
  flap_budget:
    runs: 100
target:
  pool: '{{ $labels.pool }}'
  member: '{{ $labels.member }}'
steps:
  - action: lb.drain
    timeout: 5s
  - action: service.restart
    timeout: 10s
    with:
      service: ${restart}
${
  name === 'repair'
    ? `  - action: wait.until
    timeout: 20s
    with:
      expr: vector(1)
      for: 1s
      interval: 100ms
  - action: lb.ready
    timeout: 20s
    with:
      ramp:
        weights: [50]
        interval: 1s
`
    : ''
}`;

describe('kill -9 at every step boundary', { timeout: 180_000 }, () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let haproxy: HaproxyProcess;
  let backends: HttpBackend[];
  let lb: HaproxyLoadBalancer;
  const children = new Set<ChildProcess>();

  beforeAll(async () => {
    tmp = await makeTempDir('run-crash');
    backends = [await startHttpBackend('m1'), await startHttpBackend('m2')];
    ({ haproxy, lb } = await startWebPool(tmp.dir, [
      { name: 'web', servers: backends, serverDefaults: `check inter 100ms rise 1 fall 1 weight ${WEIGHT}` },
    ]));
    await eventually('members up', async () =>
      (await lb.listMembers('web')).every((m) => m.operational === 'up'),
    );
  }, 30_000);

  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    await haproxy?.stop();
    for (const b of backends ?? []) await b.stop();
    await tmp?.remove();
  });

  // One data directory and one config for all trials: the process started after each kill is the one the
  // next trial kills, so every trial costs one start. Each trial fires its own alert, so its own incident and run.
  let file: string;
  let db: string;
  let port: number;
  let token: string;
  let current: ChildProcess | null = null;

  beforeAll(async () => {
    const dir = join(tmp.dir, 'swas');
    await mkdir(join(dir, 'runbooks'), { recursive: true });
    port = await freePort();
    const alerts = (prefix: string, count: number) =>
      `[${Array.from({ length: count }, (_, i) => `${prefix}${i}`).join(', ')}]`;
    await writeFile(
      join(dir, 'runbooks', 'repair.yaml'),
      runbook('repair', alerts('Sick', REPAIR_BOUNDARIES.length), 'slow-ok'),
    );
    await writeFile(
      join(dir, 'runbooks', 'broken.yaml'),
      runbook('broken', alerts('Broken', BROKEN_BOUNDARIES.length), 'slow-fail'),
    );
    file = join(dir, 'swas.yaml');
    await writeFile(
      file,
      `server:
  listen: 127.0.0.1:${port}
  shutdown_timeout: 2s
data_dir: ./data
load_balancers:
  - name: edge
    type: haproxy
    socket: ${haproxy.socketPath}
    pools: [web]
services:
  slow-ok:
    restart: [/bin/sh, -c, 'sleep 1']
  slow-fail:
    restart: [/bin/sh, -c, 'sleep 1; echo cannot start >&2; exit 3']
runbooks:
  files: [runbooks/*.yaml]
`,
    );
    const store = await openStateStore({ dataDir: join(dir, 'data') });
    token = (await store.tokens.create({ name: 'test', role: 'operator' }, Date.now())).token;
    await store.close();
    db = join(dir, 'data', 'swas.db');
  });

  afterAll(async () => {
    if (current) await stopProcess(current, 5000);
  });

  async function startSwas(): Promise<ChildProcess> {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'up', '--config', file], {
      cwd: REPO_ROOT,
      stdio: 'ignore',
      env: { ...process.env, SWAS_TOKEN: '' },
    });
    children.add(child);
    child.once('exit', () => children.delete(child));
    await eventually(
      'swas to be ready',
      () =>
        fetch(`http://127.0.0.1:${port}/-/ready`).then(
          (r) => r.ok,
          () => false,
        ),
      30_000,
    );
    return child;
  }

  async function fire(alertname: string, member: string): Promise<void> {
    const labels = { alertname, pool: 'web', member };
    const response = await fetch(`http://127.0.0.1:${port}/api/v1/intake/alertmanager`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({
        version: '4',
        status: 'firing',
        receiver: 'swas',
        groupKey: `{}:{alertname="${alertname}"}`,
        alerts: [{ status: 'firing', labels, annotations: {}, startsAt: new Date().toISOString() }],
      }),
    });
    expect(response.status).toBe(200);
  }

  /** Reads the state store file read-only, the way an operator's sqlite3 would. */
  function read<T>(query: (sqlite: Database.Database) => T): T {
    const sqlite = new Database(db, { readonly: true, fileMustExist: true });
    try {
      return query(sqlite);
    } finally {
      sqlite.close();
    }
  }

  const runIds = () =>
    read((sqlite) => (sqlite.prepare('select id from runs').all() as { id: string }[]).map((r) => r.id));

  /** Polls the run's persisted steps every 10 ms until they reach `boundary`. */
  async function waitForBoundary(runId: string, boundary: Boundary): Promise<void> {
    await vi.waitFor(
      () => {
        const steps = read(
          (sqlite) =>
            sqlite
              .prepare(
                'select step_index, status, params from run_steps where run_id = ? order by step_index',
              )
              .all(runId) as StepRow[],
        );
        if (!boundary.reached(steps)) throw new Error(`boundary "${boundary.label}" not reached`);
      },
      { timeout: 30_000, interval: 10 },
    );
  }

  const finalRun = (runId: string) =>
    read((sqlite) => {
      const run = sqlite.prepare('select status, error from runs where id = ?').get(runId) as
        { status: string; error: string | null } | undefined;
      return run && ['succeeded', 'failed', 'cancelled'].includes(run.status) ? run : null;
    });

  async function trial(alertname: string, member: string, boundary: Boundary) {
    current ??= await startSwas();
    const known = new Set(runIds());
    await fire(alertname, member);
    const runId = await eventually('the run to be created', () => runIds().find((id) => !known.has(id)));
    await waitForBoundary(runId, boundary);
    const killed = new Promise((resolve) => current?.once('exit', resolve));
    current.kill('SIGKILL');
    await killed;
    current = null;
    current = await startSwas();
    const run = await eventually('the run to finish after the restart', () => finalRun(runId), 60_000);
    if (alertname.startsWith('Sick')) expect(run).toEqual({ status: 'succeeded', error: null });
    else {
      expect(run.status).toBe('failed');
      expect(run.error).toContain('undone');
    }
    for (const m of await lb.listMembers('web'))
      expect({ member: m.name, admin: m.admin, weight: m.weight }).toEqual({
        member: m.name,
        admin: 'ready',
        weight: WEIGHT,
      });
    expect((await lb.getMember('web', member)).operational).toMatch(/^(up|starting)$/);
  }

  it.each(REPAIR_BOUNDARIES.map((b, i) => [b.label, b, i] as const))(
    'repair run killed at "%s" resumes and puts the member back at full weight',
    async (_label, boundary, index) => {
      await trial(`Sick${index}`, 'm1', boundary);
    },
  );

  it.each(BROKEN_BOUNDARIES.map((b, i) => [b.label, b, i] as const))(
    'failing run killed at "%s" runs its undo path to the end',
    async (_label, boundary, index) => {
      await trial(`Broken${index}`, 'm2', boundary);
    },
  );

  it('a step that is not safe to repeat, found interrupted, sends the run down its undo path', async () => {
    if (current) await stopProcess(current, 5000);
    current = null;
    // What a kill -9 during a reboot step leaves behind: the member drained, the reboot marked running.
    await lb.setAdminState('web', 'm2', 'drain');
    await lb.setWeight('web', 'm2', 3);
    const store = await openStateStore({ dataDir: join(db, '..') });
    const { run } = await store.runs.create(
      {
        runbook: 'broken',
        incidentId: null,
        target: { pool: 'web', member: 'm2' },
        trigger: {},
        createdAt: Date.now(),
        status: 'running',
        startedAt: Date.now(),
        currentStep: 1,
      },
      [
        {
          name: 'lb.drain web/m2',
          action: 'lb.drain',
          params: { pool: 'web', member: 'm2', on_timeout: 'continue', timeout_ms: 5000 },
          status: 'succeeded',
          result: { memberBefore: { pool: 'web', member: 'm2', admin: 'ready', weight: WEIGHT } },
        },
        {
          name: 'host.reboot m2',
          action: 'host.reboot',
          params: { host: 'm2', timeout_ms: 5000 },
          status: 'running',
          startedAt: Date.now(),
        },
      ],
    );
    await store.close();
    current = await startSwas();
    const finished = await eventually('the run to finish after the restart', () => finalRun(run.id), 60_000);
    expect(finished.status).toBe('failed');
    expect(finished.error).toBe(
      'step 2 (host.reboot m2) was interrupted by a restart and host.reboot is not safe to repeat; undone (2 undo steps succeeded)',
    );
    expect(await lb.getMember('web', 'm2')).toMatchObject({ admin: 'ready', weight: WEIGHT });
  });
});
