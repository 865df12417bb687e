import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enrollmentToken, startAgentProcess, type AgentProcess } from './support/agentProcess.js';
import { freePort } from './support/ports.js';
import { eventually, startTestServer, type TestServer } from './support/swasServer.js';
import { makeTempDir } from './support/tmp.js';

interface QueryBody {
  data: { result: { metric: Record<string, string>; value: [number, string] }[] };
}

const INTERVAL_MS = 1000;

// Issue 6: a real `swas agent run` process against a real server: enrollment, samples, an outage of the
// server that loses nothing (the agent spools and replays in order), and allow-listed actions only.
describe('the host agent against a real server', { timeout: 90_000 }, () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let port: number;
  let swas: TestServer;
  let admin: string;
  let agent: AgentProcess;

  // The service's verbs run on the agent, as actions of its own allow-list (only `hello` is in it).
  const config = `scrape:
  interval: 1s
services:
  app: { agent: e2e-1, restart: hello, stop: wipe, timeout: 10s }
runbooks:
  files: [restart-app.yaml, stop-app.yaml]
`;
  const manual = (name: string, action: string) => `name: ${name}
trigger: { manual: true }
steps:
  - action: ${action}
    with: { service: app }
`;
  const files = {
    'restart-app.yaml': manual('restart-app', 'service.restart'),
    'stop-app.yaml': manual('stop-app', 'service.stop'),
  };
  const start = () => startTestServer(tmp.dir, config, files, {}, { port });

  beforeAll(async () => {
    tmp = await makeTempDir('agent-e2e');
    port = await freePort();
    swas = await start();
    admin = await swas.token('admin');
    const token = await enrollmentToken(swas, admin, { env: 'test' });
    await writeFile(
      join(tmp.dir, 'agent.yaml'),
      `server: ${swas.url}
name: e2e-1
enrollment_token: ${token}
state_dir: ${join(tmp.dir, 'agent-state')}
interval: ${INTERVAL_MS}ms
collectors:
  disable: [cpu, filesystem, network]
actions:
  hello: { argv: [/bin/echo, hello from the agent], timeout: 5s }
`,
    );
    agent = startAgentProcess(join(tmp.dir, 'agent.yaml'));
  }, 30_000);

  afterAll(async () => {
    await agent?.stop();
    await swas?.stop();
    await tmp?.remove();
  });

  const query = async (expr: string, at?: number) => {
    const time = at === undefined ? '' : `&time=${at / 1000}`;
    const response = await swas.get(`/api/v1/query?query=${encodeURIComponent(expr)}${time}`, admin);
    return (response.body as QueryBody).data.result;
  };

  it('enrolls once, connects, and its samples are queryable with the agent and enrolled labels', async () => {
    const [sample] = await eventually(
      `node_load1 from the agent (agent log: ${agent.log().slice(-500)})`,
      async () => {
        const r = await query('node_load1{agent="e2e-1"}');
        return r.length > 0 ? r : null;
      },
      20_000,
    );
    expect(sample?.metric).toMatchObject({ agent: 'e2e-1', env: 'test' });
    const agents = (await swas.get('/api/v1/agents', admin)).body as {
      agents: { name: string; connected: boolean }[];
    };
    expect(agents.agents).toMatchObject([{ name: 'e2e-1', connected: true }]);
  });

  it('loses nothing across a server outage: the agent spools and replays in order', async () => {
    await swas.stop();
    const outageStart = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 6000));
    const outageEnd = Date.now();
    swas = await start();
    admin = await swas.token('admin');
    await eventually('the agent to reconnect', async () => {
      const body = (await swas.get('/api/v1/agents', admin)).body as { agents: { connected: boolean }[] };
      return body.agents[0]?.connected === true;
    });
    // Every collection made while the server was down arrives, with the time it was made.
    const expected = Math.floor((outageEnd - outageStart) / INTERVAL_MS);
    const windowS = Math.floor((outageEnd - outageStart) / 1000);
    const count = await eventually('the spooled samples to be replayed', async () => {
      const r = await query(`count_over_time(node_load1{agent="e2e-1"}[${windowS}s])`, outageEnd);
      const n = Number(r[0]?.value[1] ?? 0);
      return n >= Math.floor((windowS * 1000) / INTERVAL_MS) - 2 ? n : null;
    });
    expect(count).toBeLessThanOrEqual(expected + 2);
    const dropped = await query('swas_agent_spool_dropped_records_total{agent="e2e-1"}');
    expect(dropped[0]?.value[1]).toBe('0');
  });

  it('runs an allow-listed action and refuses any other', async () => {
    const ran = await swas.server.parts.agents.sendAction('e2e-1', { name: 'hello', timeoutMs: 5000 });
    expect(ran).toMatchObject({ ok: true, exitCode: 0, error: null });
    expect(ran.output).toContain('hello from the agent');
    const refused = await swas.server.parts.agents.sendAction('e2e-1', { name: 'rm-rf', timeoutMs: 5000 });
    expect(refused).toMatchObject({ ok: false });
    expect(refused.error).toMatch(/action rm-rf is not in this agent's allow-list/);
  });

  it('runs a runbook service step on the agent; an action the agent does not allow fails the step', async () => {
    const run = async (runbook: string) => {
      const response = await fetch(`${swas.url}/api/v1/runbooks/${runbook}/run`, {
        method: 'POST',
        headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
        body: '{}',
      });
      expect(response.status).toBe(201);
      const { run } = (await response.json()) as { run: { id: string } };
      return eventually(`run ${run.id} to finish`, async () => {
        const full = (await swas.get(`/api/v1/runs/${run.id}`, admin)).body as {
          run: { status: string; error: string | null };
          steps: { status: string; error: string | null; result: { output?: string } | null }[];
        };
        return ['succeeded', 'failed'].includes(full.run.status) ? full : null;
      });
    };
    const restarted = await run('restart-app');
    expect(restarted.run.status).toBe('succeeded');
    expect(JSON.stringify(restarted.steps[0]?.result)).toContain('hello from the agent');
    const stopped = await run('stop-app');
    expect(stopped.run.status).toBe('failed');
    expect(stopped.steps[0]?.error).toMatch(
      /agent e2e-1, action wipe \(stop app\): action wipe is not in this agent's allow-list/,
    );
  });

  it('a revoked agent is cut off at once and cannot reconnect', async () => {
    const response = await fetch(`${swas.url}/api/v1/agents/e2e-1`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${admin}` },
    });
    expect(response.status).toBe(200);
    await eventually('the agent to be disconnected', async () => {
      const body = (await swas.get('/api/v1/agents', admin)).body as { agents: { connected: boolean }[] };
      return body.agents[0]?.connected === false;
    });
    await eventually('the agent to log the refusal', () =>
      Promise.resolve(/401|revoked|re-enroll/i.test(agent.log())),
    );
    expect(agent.child.exitCode).toBeNull();
  });
});
