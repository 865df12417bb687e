import { createServer } from 'node:http';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushedConfigFor, swasConfigSchema } from '../src/config/index.js';
import { EmbeddedPromqlQuery } from '../src/promql/index.js';
import { ProbeQuorumWatch, probeQuorumVerdict, quorumProbes } from '../src/server/probeQuorum.js';
import { EmbeddedTsdb } from '../src/tsdb/index.js';
import { enrollmentToken, startAgentProcess, type AgentProcess } from './support/agentProcess.js';
import { freePort } from './support/ports.js';
import { eventually, startTestServer, type TestServer } from './support/swasServer.js';
import { makeTempDir } from './support/tmp.js';

interface QueryBody {
  data: { result: { metric: Record<string, string>; value: [number, string] }[] };
}

interface AgentView {
  name: string;
  connected: boolean;
  configVersion: string | null;
  configError: string | null;
}

const AGENT = 'push-1';

// Issue 6: config pushed from the server applies on a real `swas agent run` process without a restart;
// a broken push is refused whole and the previous config keeps running; probes run from the agent.
describe('config pushed from the server to a real agent', { timeout: 120_000 }, () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let port: number;
  let swas: TestServer;
  let admin: string;
  let agent: AgentProcess;

  const push = (entry: string) => `agents:
  push:
    - match: { env: test }
${entry}
`;
  const logWatch = (path: string, maxBytes: number) => `      collectors:
        log_watches:
          - { name: app, path: ${path}, max_bytes: ${maxBytes} }`;
  const probe = (name: string) => `      probes:
        - { name: ${name}, kind: http, url: "http://127.0.0.1:${port}/-/healthy", interval: 1s, timeout: 1s }`;

  const reloadWith = async (body: string) => {
    await writeFile(
      join(tmp.dir, 'swas.yaml'),
      `server:\n  listen: 127.0.0.1:${port}\n  shutdown_timeout: 5s\n${body}`,
    );
    expect(await swas.server.reload()).toEqual({ ok: true });
  };

  const query = async (expr: string) => {
    const response = await swas.get(`/api/v1/query?query=${encodeURIComponent(expr)}`, admin);
    return (response.body as QueryBody).data.result;
  };

  const agentView = async (): Promise<AgentView> => {
    const body = (await swas.get('/api/v1/agents', admin)).body as { agents: AgentView[] };
    const view = body.agents.find((a) => a.name === AGENT);
    if (view === undefined) throw new Error(`agent ${AGENT} is not listed`);
    return view;
  };

  /** The version the server computes for the agent from the config in force. */
  const expectedVersion = () =>
    pushedConfigFor(swas.server.parts.config().config.agents, { name: AGENT, labels: { env: 'test' } })
      .version;

  /** The newest sample time of a series, in seconds; 0 when there is none. */
  const latestAt = async (selector: string) => {
    const r = await query(`timestamp(${selector})`);
    return Number(r[0]?.value[1] ?? 0);
  };

  beforeAll(async () => {
    tmp = await makeTempDir('agent-push');
    port = await freePort();
    await writeFile(join(tmp.dir, 'app.log'), 'started\n');
    swas = await startTestServer(
      tmp.dir,
      push(`${logWatch(join(tmp.dir, 'app.log'), 1000)}\n${probe('api')}`),
      {},
      {},
      { port },
    );
    admin = await swas.token('admin');
    const token = await enrollmentToken(swas, admin, { env: 'test' });
    await writeFile(
      join(tmp.dir, 'agent.yaml'),
      `server: ${swas.url}
name: ${AGENT}
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
    await tmp?.remove();
  });

  it('applies pushed collectors without a restart and reports the version it runs', async () => {
    const view = await eventually(
      `the agent to report the pushed version (agent log: ${agent.log().slice(-800)})`,
      async () => {
        const v = await agentView();
        return v.configVersion === expectedVersion() ? v : null;
      },
      30_000,
    );
    expect(view).toMatchObject({ connected: true, configError: null });
    // The log watch exists only in the pushed config: its series prove the agent applied it.
    const limit = await eventually('the pushed log watch to report', async () => {
      const r = await query(`swas_agent_log_size_limit_bytes{agent="${AGENT}",log="app"}`);
      return r.length > 0 ? r : null;
    });
    expect(limit[0]?.value[1]).toBe('1000');
  });

  it('runs a pushed probe on the agent, labelled with the agent as vantage point', async () => {
    const [sample] = await eventually('probe_success from the agent', async () => {
      const r = await query(`probe_success{probe="api",vantage="${AGENT}"}`);
      return r.length > 0 ? r : null;
    });
    expect(sample?.metric).toMatchObject({ agent: AGENT, vantage: AGENT, kind: 'http', env: 'test' });
    expect(sample?.value[1]).toBe('1');
  });

  it('refuses a broken push whole, keeps the previous config running and says why', async () => {
    const running = expectedVersion();
    // A relative log path passes the server's schema but not the agent's own check of its watches.
    await reloadWith(push(`${logWatch('logs/app.log', 2000)}\n${probe('api-v2')}`));
    const refused = await eventually('the agent to refuse the push', async () => {
      const v = await agentView();
      return v.configError !== null ? v : null;
    });
    expect(refused.configError).toContain(expectedVersion());
    expect(refused.configError).toMatch(/path must be absolute/);
    expect(refused.configVersion).toBe(running);
    // The old probe keeps running and the new one never started.
    const before = await latestAt(`probe_success{probe="api",vantage="${AGENT}"}`);
    await eventually('the old probe to run again', async () => {
      return (await latestAt(`probe_success{probe="api",vantage="${AGENT}"}`)) > before;
    });
    expect(await query(`probe_success{probe="api-v2"}`)).toEqual([]);
    const limit = await query(`swas_agent_log_size_limit_bytes{agent="${AGENT}",log="app"}`);
    expect(limit[0]?.value[1]).toBe('1000');
  });

  it('pushes a new version on reload and the agent runs it', async () => {
    await reloadWith(push(`${logWatch(join(tmp.dir, 'app.log'), 3000)}\n${probe('api-v3')}`));
    const version = expectedVersion();
    await eventually('the agent to run the new version', async () => {
      const v = await agentView();
      return v.configVersion === version && v.configError === null;
    });
    await eventually('the new probe to report from the agent', async () => {
      const r = await query(`probe_success{probe="api-v3",vantage="${AGENT}"}`);
      return r[0]?.value[1] === '1';
    });
    await eventually('the new log limit', async () => {
      const r = await query(`swas_agent_log_size_limit_bytes{agent="${AGENT}",log="app"}`);
      return r[0]?.value[1] === '3000';
    });
    expect(agent.child.exitCode).toBeNull();
  });

  it('pushes scrape targets: the agent scrapes a local /metrics and sends it on', async () => {
    const appPort = await freePort();
    const app = createServer((_request, response) => {
      response.setHeader('content-type', 'text/plain; version=0.0.4');
      response.end('# TYPE app_requests_total counter\napp_requests_total 42\n');
    });
    await new Promise<void>((resolve) => app.listen(appPort, '127.0.0.1', resolve));
    try {
      await reloadWith(
        push(
          `      scrape:\n        - { name: app, url: "http://127.0.0.1:${appPort}/metrics", interval: 1s }`,
        ),
      );
      await eventually('the pushed target to be scraped by the agent', async () => {
        const r = await query(`app_requests_total{agent="${AGENT}",job="app"}`);
        return r[0]?.value[1] === '42';
      });
      expect((await query(`up{agent="${AGENT}",job="app"}`))[0]?.value[1]).toBe('1');
      expect((await agentView()).configError).toBeNull();
    } finally {
      await new Promise<void>((resolve) => app.close(() => resolve()));
    }
  });
});

describe('agents.push at load', () => {
  const parse = (push: unknown) => swasConfigSchema.safeParse({ agents: { push } });
  const httpProbe = (name: string) => ({ name, kind: 'http', url: 'http://127.0.0.1:1/' });

  it('refuses a probe name two entries could both push to one agent', () => {
    const parsed = parse([
      { match: { env: 'prod' }, probes: [httpProbe('web')] },
      { match: { dc: 'east' }, probes: [httpProbe('web')] },
    ]);
    expect(parsed.success).toBe(false);
    const issue = parsed.error?.issues[0];
    expect(issue?.path).toEqual(['agents', 'push', 1, 'probes', 0, 'name']);
    expect(issue?.message).toMatch(/also pushed by agents.push\[0\]/);
  });

  it('allows one probe name in entries that cannot match the same agent', () => {
    const parsed = parse([
      { match: { dc: 'west' }, probes: [httpProbe('web')] },
      { match: { dc: 'east' }, probes: [httpProbe('web')] },
    ]);
    expect(parsed.success).toBe(true);
  });

  it('reports a bad pushed probe or collector setting with its path', () => {
    const parsed = parse([
      { probes: [{ ...httpProbe('web'), expect: { body_matches: '(' } }] },
      { collectors: { log_watches: [{ name: 'a', path: '/x', patterns: { e: '(' } }] } },
    ]);
    expect(parsed.error?.issues.map((i) => i.path.join('.'))).toEqual([
      expect.stringMatching(/^agents\.push\.0\.probes\.0\.expect/),
      'agents.push.1.collectors.log_watches.0.patterns.e',
    ]);
  });

  it('merges matching entries for an agent: later collector keys win, probes concatenate', () => {
    const parsed = parse([
      {
        collectors: { disable: ['cpu'], services: [{ name: 'a', pidfile: '/a' }] },
        probes: [httpProbe('x')],
      },
      { match: { agent: 'web-1' }, collectors: { disable: [] }, probes: [httpProbe('y')] },
      { match: { env: 'prod' }, probes: [httpProbe('z')] },
    ]);
    if (!parsed.success) throw parsed.error;
    const web1 = pushedConfigFor(parsed.data.agents, { name: 'web-1', labels: { env: 'dev' } });
    expect(web1.config.collectors).toEqual({ disable: [], services: [{ name: 'a', pidfile: '/a' }] });
    expect(web1.probes.map((p) => p.name)).toEqual(['x', 'y']);
    const other = pushedConfigFor(parsed.data.agents, { name: 'web-2', labels: { env: 'prod' } });
    expect(other.probes.map((p) => p.name)).toEqual(['x', 'z']);
    expect(other.version).not.toBe(web1.version);
    expect(pushedConfigFor(parsed.data.agents, { name: 'web-1', labels: { env: 'dev' } }).version).toBe(
      web1.version,
    );
  });
});

describe('probe quorum', () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let tsdb: EmbeddedTsdb;

  beforeAll(async () => {
    tmp = await makeTempDir('probe-quorum');
    tsdb = await EmbeddedTsdb.open({ dir: join(tmp.dir, 'tsdb') });
  });

  afterAll(async () => {
    await tsdb?.close();
    await tmp?.remove();
  });

  const record = (probe: string, vantage: string, t: number, v: number) => {
    const result = tsdb.append({ __name__: 'probe_success', probe, vantage, kind: 'http' }, t, v);
    expect(result).toEqual({ ok: true });
  };

  it('fails a probe only when at least quorum vantage points see it fail', async () => {
    const query = EmbeddedPromqlQuery.create({ reader: tsdb });
    const now = 1_700_000_000_000;
    const probe = { name: 'web', quorum: 2, intervalMs: 10_000 };
    // One vantage point failing is its own network trouble; two agreeing is an outage.
    record('web', 'server', now - 5000, 1);
    record('web', 'dc-east', now - 5000, 0);
    record('web', 'dc-west', now - 5000, 1);
    const one = await probeQuorumVerdict(query, probe, now);
    expect(one).toEqual({ probe: 'web', failingVantages: ['dc-east'], reportingVantages: 3, failing: 0 });
    record('web', 'dc-west', now - 1000, 0);
    const two = await probeQuorumVerdict(query, probe, now);
    expect(two).toMatchObject({ failingVantages: ['dc-east', 'dc-west'], failing: 1 });
    // A vantage point silent for more than 3 intervals no longer counts.
    const later = now + 3 * probe.intervalMs;
    record('web', 'dc-west', later - 1000, 0);
    record('web', 'server', later - 1000, 1);
    expect(await probeQuorumVerdict(query, probe, later)).toMatchObject({
      failingVantages: ['dc-west'],
      reportingVantages: 2,
      failing: 0,
    });
    expect(await probeQuorumVerdict(query, { ...probe, quorum: 1 }, later)).toMatchObject({ failing: 1 });
  });

  it('appends probe_quorum_failing for every configured probe', async () => {
    const query = EmbeddedPromqlQuery.create({ reader: tsdb });
    const at = 1_700_000_100_000;
    record('api', 'server', at - 1000, 0);
    const config = swasConfigSchema.parse({
      probes: [{ name: 'api', kind: 'tcp', target: '127.0.0.1:1', interval: '10s' }],
      agents: { push: [{ probes: [{ name: 'api', kind: 'tcp', target: '127.0.0.1:1', quorum: 2 }] }] },
    });
    expect(quorumProbes(config)).toEqual([{ name: 'api', quorum: 2, intervalMs: 30_000 }]);
    const watch = new ProbeQuorumWatch({
      query,
      appender: tsdb,
      probes: () => quorumProbes(config),
      logger: pino({ level: 'silent' }),
      now: () => at,
    });
    expect(await watch.evaluate()).toMatchObject([{ probe: 'api', failing: 0 }]);
    const stored = await query.instant('probe_quorum_failing', at);
    expect(stored.ok && stored.value.resultType === 'vector' ? stored.value.result : null).toEqual([
      { labels: { __name__: 'probe_quorum_failing', probe: 'api' }, value: 0, t: at },
    ]);
  });
});
