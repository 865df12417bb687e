import { createConnection } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HaproxyLoadBalancer } from '../src/lb/index.js';
import { startHttpBackend, type HttpBackend } from './support/backends.js';
import type { HaproxyProcess } from './support/haproxy.js';
import { eventually, startTestServer, type TestServer } from './support/swasServer.js';
import { makeTempDir } from './support/tmp.js';
import { edgeLbYaml, startWebPool } from './support/webPool.js';

/** Sends one command to HAProxy's runtime API, the way an operator's socat would. */
function runtimeCommand(socketPath: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(socketPath);
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
    socket.on('end', () => resolve(answer));
    socket.on('error', reject);
    socket.end(`${command}\n`);
  });
}

describe('reconciliation against real HAProxy', { timeout: 60_000 }, () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let haproxy: HaproxyProcess;
  let backends: HttpBackend[];
  let lb: HaproxyLoadBalancer;
  let swas: TestServer;
  let operator: string;

  beforeAll(async () => {
    tmp = await makeTempDir('reconcile');
    backends = [await startHttpBackend('m1'), await startHttpBackend('m2'), await startHttpBackend('m3')];
    ({ haproxy, lb } = await startWebPool(tmp.dir, [
      { name: 'web', servers: backends, serverDefaults: 'check inter 100ms rise 1 fall 1 weight 10' },
    ]));
    swas = await startTestServer(
      tmp.dir,
      `${edgeLbYaml(haproxy.socketPath, ['web'])}# m1 (held by a run) and m2 (left drained) are out at the same time in these tests.
pools:
  web:
    max_out: 2
runbooks:
  files: [hold.yaml, leave.yaml]
  reconcile_interval: 1s
`,
      {
        // Drains, then waits for a condition that never holds: the run holds m1 drained for 40 s.
        'hold.yaml': `name: hold
trigger:
  alert: Hold
target:
  pool: '{{ $labels.pool }}'
  member: '{{ $labels.member }}'
steps:
  - action: lb.drain
    timeout: 5s
  - action: wait.until
    timeout: 40s
    with:
      expr: vector(0) > 1
      interval: 200ms
`,
        // Drains and ends: the member stays out of rotation and no run owns it any more.
        'leave.yaml': `name: leave
trigger:
  alert: Leave
guards:
  concurrency: independent
target:
  pool: '{{ $labels.pool }}'
  member: '{{ $labels.member }}'
steps:
  - action: lb.drain
    timeout: 5s
`,
      },
    );
    operator = await swas.token('operator');
  }, 30_000);

  afterAll(async () => {
    await swas?.stop();
    await haproxy?.stop();
    for (const b of backends ?? []) await b.stop();
    await tmp?.remove();
  });

  const metrics = async (): Promise<string> => {
    const response = await swas.get('/metrics', operator);
    return String(response.body);
  };

  async function fire(alertname: string, member: string): Promise<void> {
    const labels = { alertname, pool: 'web', member };
    const response = await fetch(`${swas.url}/api/v1/intake/alertmanager`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${operator}` },
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

  it('re-applies the drain a running run holds after HAProxy lost it, audits it and notes it on the incident', async () => {
    const { store } = swas.server.parts;
    await fire('Hold', 'm1');
    const run = await eventually('the run to wait with m1 drained', async () => {
      const [latest] = await store.runs.list({ status: 'running' });
      const full = latest ? await store.runs.get(latest.id) : null;
      return full?.steps[1]?.status === 'running' ? full.run : null;
    });
    expect((await lb.getMember('web', 'm1')).admin).toBe('drain');

    // What an HAProxy reload (or an operator) does: the member is back in rotation behind the run's back.
    expect(await runtimeCommand(haproxy.socketPath, 'set server web/m1 state ready')).toBe('\n');
    await eventually(
      'swas to drain m1 again',
      async () => (await lb.getMember('web', 'm1')).admin === 'drain',
    );
    const audit = (await store.audit.list({})).filter((a) => a.actor === 'reconcile');
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ action: 'lb.drain', target: 'web/m1', result: 'ok' });
    expect(audit[0]?.reason).toContain(`run ${run.id} holds web/m1 (drain)`);
    expect(audit[0]?.before).toMatchObject({ admin: 'ready' });
    expect(audit[0]?.after).toMatchObject({ admin: 'drain' });
    const timeline = await store.timeline.list(run.incidentId ?? -1);
    expect(timeline.find((t) => t.kind === 'run.reconciled')?.message).toBe(
      `reconciliation: web/m1 had lost the state run ${run.id} holds; re-applied ready → drain`,
    );
    expect(await metrics()).toMatch(/^swas_lb_reconciled_total 1$/m);
  });

  it('reports a member swas left drained that no run owns, and does not touch it', async () => {
    const { store } = swas.server.parts;
    await fire('Leave', 'm2');
    await eventually('the leave run to succeed', async () => {
      const runs = await store.runs.list({ status: 'succeeded' });
      return runs.some((r) => r.runbook === 'leave');
    });
    await eventually('drift to be reported', async () => /^swas_lb_drift_members 1$/m.test(await metrics()));
    expect(await lb.getMember('web', 'm2')).toMatchObject({ admin: 'drain' });
    expect((await store.audit.list({})).filter((a) => a.target === 'web/m2').map((a) => a.actor)).toEqual([
      expect.stringMatching(/^run:/),
    ]);

    // A person puts it back: no drift any more.
    await lb.setAdminState('web', 'm2', 'ready');
    await eventually('drift to clear', async () => /^swas_lb_drift_members 0$/m.test(await metrics()));
  });

  it('cancelling the run that holds a member runs its undo path and hands the member back', async () => {
    const { store, executor } = swas.server.parts;
    const [held] = (await store.runs.list({ status: 'running' })).filter((r) => r.runbook === 'hold');
    if (held === undefined) throw new Error('the hold run is not running');
    expect(executor.cancel(held.id, 'test')).toBe(true);
    const run = await eventually('the run to be cancelled', async () => {
      const r = (await store.runs.get(held.id))?.run;
      return r?.status === 'cancelled' ? r : null;
    });
    expect(run.error).toBe('cancelled by test; undone (2 undo steps succeeded)');
    expect(await lb.getMember('web', 'm1')).toMatchObject({ admin: 'ready', weight: 10 });
    expect(executor.cancel(held.id, 'test')).toBe(false);
  });
});
