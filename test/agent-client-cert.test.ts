import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enrollmentToken, startAgentProcess, type AgentProcess } from './support/agentProcess.js';
import { makeCa, makeSignedCert } from './support/certs.js';
import { httpCall, type HttpCallOptions } from './support/httpClient.js';
import { eventually, startTestServer, type TestServer } from './support/swasServer.js';
import { makeTempDir } from './support/tmp.js';

/** The lines a process logged as pino JSON, with their level and message. */
function logLines(log: string): { level: number; msg: string }[] {
  return log
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { level: number; msg: string });
}

// Issue 6: a server with server.tls.client_ca_file takes agents (and probe agents) that present a certificate
// from that CA, and an agent without one says what to set. The server's TLS settings come from the
// environment here, as in a container: SWAS_SERVER__TLS__CERT_FILE sets the path, it is not read as a secret.
describe('agents with client certificates', { timeout: 120_000 }, () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let swas: TestServer;
  let url: string;
  let admin: string;
  let tls: HttpCallOptions;
  const agents: AgentProcess[] = [];

  beforeAll(async () => {
    tmp = await makeTempDir('agent-client-cert');
    const ca = makeCa(tmp.dir, 'ca');
    const clientCa = makeCa(tmp.dir, 'client-ca');
    const server = makeSignedCert(tmp.dir, ca, 'server');
    const client = makeSignedCert(tmp.dir, clientCa, 'client', { usage: 'client' });
    makeSignedCert(tmp.dir, clientCa, 'agent', { usage: 'client' });
    swas = await startTestServer(
      tmp.dir,
      '',
      {},
      {
        SWAS_SERVER__TLS__CERT_FILE: server.certFile,
        SWAS_SERVER__TLS__KEY_FILE: 'server-key.pem', // relative to swas.yaml
        SWAS_SERVER__TLS__CLIENT_CA_FILE: clientCa.certFile,
      },
    );
    url = swas.server.url;
    admin = await swas.token('admin');
    const pem = (file: string) => readFileSync(file, 'utf8');
    tls = { ca: pem(ca.certFile), cert: pem(client.certFile), key: pem(client.keyFile) };
  }, 60_000);

  afterAll(async () => {
    await Promise.all(agents.map((agent) => agent.stop()));
    await swas?.stop();
    await tmp?.remove();
  });

  const startAgent = async (
    name: string,
    tlsYaml: string,
    command: 'agent' | 'probe' = 'agent',
  ): Promise<AgentProcess> => {
    const token = await enrollmentToken(
      {
        request: (method, path, t, body) =>
          httpCall(`${url}${path}`, { ...tls, method, token: t, json: body }),
      },
      admin,
      {},
    );
    const dir = join(tmp.dir, name);
    await mkdir(dir);
    await writeFile(
      join(dir, 'agent.yaml'),
      `server: ${url}\nname: ${name}\nenrollment_token: ${token}\nstate_dir: state\ninterval: 1s\n` +
        `tls:\n  ca_file: ../ca.pem\n${tlsYaml}` +
        (command === 'agent' ? 'collectors:\n  disable: [cpu, filesystem, network]\n' : ''),
    );
    const agent = startAgentProcess(join(dir, 'agent.yaml'), command);
    agents.push(agent);
    return agent;
  };

  it('takes an agent and a probe agent with a certificate from client_ca_file and refuses one without', async () => {
    expect(url).toMatch(/^https:/);
    const withCert = '  cert_file: ../agent.pem\n  key_file: ../agent-key.pem\n';
    // Started together: three agent processes cost less wall time side by side.
    const [good, probe, bare] = await Promise.all([
      startAgent('mtls-1', withCert),
      startAgent('mtls-probe', withCert, 'probe'),
      startAgent('mtls-bare', ''),
    ]);

    const [sample] = await eventually(
      `node_load1 from the agent with a client certificate (agent log: ${good.log().slice(-500)})`,
      async () => {
        const query = encodeURIComponent('node_load1{agent="mtls-1"}');
        const answer = await httpCall(`${url}/api/v1/query?query=${query}`, { ...tls, token: admin });
        const result = (answer.body as { data?: { result?: { metric: Record<string, string> }[] } }).data
          ?.result;
        return result !== undefined && result.length > 0 ? result : null;
      },
      60_000,
    );
    expect(sample?.metric).toMatchObject({ agent: 'mtls-1' });

    const listed = await eventually(
      `the probe agent to connect (probe log: ${probe.log().slice(-500)})`,
      async () => {
        const answer = await httpCall(`${url}/api/v1/agents`, { ...tls, token: admin });
        const byName = new Map(
          (answer.body as { agents: { name: string; connected: boolean }[] }).agents.map((a) => [a.name, a]),
        );
        return byName.get('mtls-probe')?.connected === true ? byName : null;
      },
      60_000,
    );
    expect(listed.get('mtls-1')?.connected).toBe(true);
    expect(listed.has('mtls-bare')).toBe(false);

    // The agent without a certificate keeps retrying, and says once (at warn) what to set.
    await eventually(
      `the agent without a certificate to retry enrollment twice (log: ${bare.log().slice(-1000)})`,
      () => logLines(bare.log()).filter((l) => l.msg === 'cannot enroll yet; retrying').length >= 2,
      60_000,
    );
    const advice = logLines(bare.log()).filter((l) => /client certificate/.test(l.msg));
    expect(advice).toHaveLength(1);
    expect(advice[0]?.level).toBe(40);
    expect(advice[0]?.msg).toMatch(
      /^cannot enroll: the server requires a client certificate \(server\.tls\.client_ca_file\) and got none it accepts; set tls\.cert_file and tls\.key_file in agent\.yaml .*\(ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED: /,
    );
  });
});
