import { createServer, type Server } from 'node:http';
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
interface AgentsBody {
  agents: { name: string; connected: boolean; configError: string | null }[];
}

// Issue 6: `swas probe`, the probe-only agent for vantage points: runs pushed probes, collects nothing.
describe('swas probe: a probe-only agent', { timeout: 90_000 }, () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let web: Server;
  let webPort: number;
  let swas: TestServer;
  let admin: string;
  let probe: AgentProcess;
  let port: number;
  const start = () => startTestServer(tmp.dir, push(''), {}, {}, { port });

  const push = (extra: string) => `agents:
  push:
    - match: { role: probe }
      probes:
        - { name: homepage, kind: http, interval: 1s, url: 'http://127.0.0.1:${webPort}/' }
${extra}`;

  beforeAll(async () => {
    tmp = await makeTempDir('probe-agent');
    webPort = await freePort();
    web = createServer((_request, response) => response.end('ok'));
    await new Promise<void>((resolve) => web.listen(webPort, '127.0.0.1', resolve));
    port = await freePort();
    swas = await start();
    admin = await swas.token('admin');
    const token = await enrollmentToken(swas, admin, { role: 'probe' });
    await writeFile(
      join(tmp.dir, 'probe.yaml'),
      `server: ${swas.url}\nname: office-1\nenrollment_token: ${token}\nstate_dir: ${join(tmp.dir, 'probe-state')}\ninterval: 1s\n`,
    );
    probe = startAgentProcess(join(tmp.dir, 'probe.yaml'), 'probe');
  }, 30_000);

  afterAll(async () => {
    await probe?.stop();
    await swas?.stop();
    await new Promise<void>((resolve) => web.close(() => resolve()));
    await tmp?.remove();
  });

  const query = async (expr: string, at?: number) => {
    const time = at === undefined ? '' : `&time=${at / 1000}`;
    const response = await swas.get(`/api/v1/query?query=${encodeURIComponent(expr)}${time}`, admin);
    return (response.body as QueryBody).data.result;
  };

  it('runs the probes pushed to it from its own vantage point and collects nothing of its host', async () => {
    await eventually(
      `probe_success from office-1 (log: ${probe.log().slice(-300)})`,
      async () =>
        (await query('probe_success{vantage="office-1", probe="homepage"}')).some((r) => r.value[1] === '1'),
      30_000,
    );
    expect(await query('node_load1{agent="office-1"}')).toEqual([]);
    expect(await query('node_memory_MemTotal_bytes{agent="office-1"}')).toEqual([]);
  });

  it('keeps probing while cut off from the server, and its spooled results arrive afterwards', async () => {
    await swas.stop();
    const outageStart = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 5000));
    const outageEnd = Date.now();
    swas = await start();
    admin = await swas.token('admin');
    const windowS = Math.floor((outageEnd - outageStart) / 1000);
    // One probe a second: every probe run during the outage is there, with the time it ran.
    const count = await eventually('the spooled probe results to be replayed', async () => {
      const r = await query(
        `count_over_time(probe_success{vantage="office-1", probe="homepage"}[${windowS}s])`,
        outageEnd,
      );
      const n = Number(r[0]?.value[1] ?? 0);
      return n >= windowS - 1 ? n : null;
    });
    expect(count).toBeLessThanOrEqual(windowS + 1);
  });

  it('refuses pushed collectors and says why', async () => {
    await writeFile(
      join(tmp.dir, 'swas.yaml'),
      (
        await import('node:fs/promises').then((fs) => fs.readFile(join(tmp.dir, 'swas.yaml'), 'utf8'))
      ).replace(/agents:[\s\S]*$/, push('      collectors: { disable: [cpu] }\n')),
    );
    expect((await swas.post('/-/reload', admin)).status).toBe(200);
    const body = await eventually('the refusal', async () => {
      const agents = (await swas.get('/api/v1/agents', admin)).body as AgentsBody;
      return agents.agents[0]?.configError === null ? null : agents;
    });
    expect(body.agents[0]?.configError).toMatch(/probe-only agent \(swas probe\): it takes probes only/);
  });

  it('will not start with actions, service or log watches in its config', async () => {
    const file = join(tmp.dir, 'bad-probe.yaml');
    await writeFile(
      file,
      `server: ${swas.url}\nstate_dir: ${join(tmp.dir, 'bad-state')}\nenrollment_token: x\nactions:\n  reboot: { argv: [/sbin/reboot] }\n`,
    );
    const bad = startAgentProcess(file, 'probe');
    const code = await new Promise<number | null>((resolve) => bad.child.once('exit', resolve));
    expect(code).toBe(2);
    expect(bad.log()).toMatch(
      /a probe-only agent \(swas probe\) collects nothing and runs no actions; remove actions/,
    );
  });
});
