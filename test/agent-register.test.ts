import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HaproxyLoadBalancer } from '../src/lb/index.js';
import { enrollmentToken, startAgentProcess, type AgentProcess } from './support/agentProcess.js';
import { startHttpBackend, type HttpBackend } from './support/backends.js';
import type { HaproxyProcess } from './support/haproxy.js';
import { eventually, startTestServer, type TestServer } from './support/swasServer.js';
import { makeTempDir } from './support/tmp.js';
import { edgeLbYaml, startWebPool } from './support/webPool.js';

interface AuditBody {
  entries: { actor: string; action: string; target: string; result: string; after: unknown }[];
}

// Issue 6: a connecting agent whose labels match a pool rule is added to that pool in maint, checked, and
// brought to ready with a ramp by a runbook; a reconnect adds nothing.
describe('auto-registration of agents into a pool', { timeout: 90_000 }, () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let haproxy: HaproxyProcess;
  let existing: HttpBackend;
  let service: HttpBackend;
  let lb: HaproxyLoadBalancer;
  let swas: TestServer;
  let admin: string;
  let agent: AgentProcess;

  beforeAll(async () => {
    tmp = await makeTempDir('agent-register');
    existing = await startHttpBackend('web1');
    // The service on the agent's host, which the load balancer will reach at the agent's address.
    service = await startHttpBackend('reg-1');
    ({ haproxy, lb } = await startWebPool(tmp.dir, [
      { name: 'web', servers: [{ name: 'web1', port: existing.port }], serverDefaults: 'check inter 200ms' },
    ]));
    swas = await startTestServer(
      tmp.dir,
      `${edgeLbYaml(haproxy.socketPath, ['web'])}runbooks:
  files: [bring-in.yaml]
agents:
  register:
    - { match: { role: web }, pool: web, port: ${service.port}, weight: 10, runbook: bring-in }
`,
      {
        'bring-in.yaml': `name: bring-in
trigger: { manual: true }
target:
  pool: '{{ $labels.pool }}'
  member: '{{ $labels.member }}'
steps:
  - action: lb.ready
    timeout: 20s
    with: { ramp: none }
`,
      },
    );
    admin = await swas.token('admin');
    const token = await enrollmentToken(swas, admin, { role: 'web' });
    await writeFile(
      join(tmp.dir, 'agent.yaml'),
      `server: ${swas.url}
name: reg-1
enrollment_token: ${token}
state_dir: ${join(tmp.dir, 'agent-state')}
interval: 1s
collectors:
  disable: [cpu, filesystem, network]
`,
    );
    agent = startAgentProcess(join(tmp.dir, 'agent.yaml'));
  }, 30_000);

  afterAll(async () => {
    await agent?.stop();
    await swas?.stop();
    await haproxy?.stop();
    await existing?.stop();
    await service?.stop();
    await tmp?.remove();
  });

  const registrations = async () =>
    ((await swas.get('/api/v1/audit', admin)).body as AuditBody).entries.filter(
      (e) => e.actor === 'agent-registration',
    );

  it('adds the agent in maint at the address it connects from, and its runbook brings it into rotation', async () => {
    const member = await eventually(
      `reg-1 to join the pool and pass its checks (agent log: ${agent.log().slice(-300)})`,
      async () => {
        const m = (await lb.listMembers('web')).find((x) => x.name === 'reg-1');
        return m?.admin === 'ready' && m.operational === 'up' ? m : null;
      },
      30_000,
    );
    expect(member).toMatchObject({ address: '127.0.0.1', port: service.port, weight: 10, initialWeight: 10 });
    expect(await registrations()).toMatchObject([
      {
        action: 'lb.add',
        target: 'web/reg-1',
        result: 'ok',
        after: { admin: 'maint', address: '127.0.0.1' },
      },
    ]);
    const run = await eventually('the bring-in run to finish', async () => {
      const body = (await swas.get('/api/v1/runs', admin)).body as {
        runs: { runbook: string; status: string; target: Record<string, string> }[];
      };
      return body.runs[0]?.status === 'running' ? null : body.runs;
    });
    expect(run).toMatchObject([
      { runbook: 'bring-in', status: 'succeeded', target: { pool: 'web', member: 'reg-1' } },
    ]);
  });

  it('adds nothing when the agent reconnects, and leaves the member alone while the agent is away', async () => {
    await agent.stop();
    await eventually('the agent to be gone', async () => {
      const body = (await swas.get('/api/v1/agents', admin)).body as { agents: { connected: boolean }[] };
      return body.agents[0]?.connected === false;
    });
    expect((await lb.getMember('web', 'reg-1')).admin).toBe('ready');
    agent = startAgentProcess(join(tmp.dir, 'agent.yaml'));
    await eventually('the agent to reconnect', async () => {
      const body = (await swas.get('/api/v1/agents', admin)).body as { agents: { connected: boolean }[] };
      return body.agents[0]?.connected === true;
    });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(await registrations()).toHaveLength(1);
    expect((await lb.listMembers('web')).map((m) => m.name)).toEqual(['web1', 'reg-1']);
  });
});
