import { execFile } from 'node:child_process';
import { copyFileSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, formatConfigIssue, loadConfig } from '../src/config/index.js';
import { enrollmentToken, startAgentProcess, type AgentProcess } from './support/agentProcess.js';
import { makeCa, makeSignedCert, type CertFiles } from './support/certs.js';
import { httpCall } from './support/httpClient.js';
import { eventually, startTestServer, type TestServer } from './support/swasServer.js';
import { makeTempDir } from './support/tmp.js';

/** Runs the `swas` CLI from this checkout's sources, without blocking the event loop the server runs on. */
function swasCli(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; stderr: string; stdout: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', ...args],
      { env: { ...process.env, SWAS_CA_FILE: '', ...env }, timeout: 30_000 },
      (error, stdout, stderr) =>
        resolve({ code: error === null ? 0 : Number(error.code ?? -1), stdout, stderr }),
    );
  });
}

/** The messages an agent process logged at warn (pino JSON lines). */
function warnings(log: string): string[] {
  return log
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { level: number; msg: string })
    .filter((line) => line.level === 40)
    .map((line) => line.msg);
}

const tlsBlock = (cert: string, key: string, extra = '') =>
  `  tls:\n    cert_file: ${cert}\n    key_file: ${key}\n${extra}`;

// Issue 6: "TLS supported with a configurable CA". swas serves HTTPS/WSS only when server.tls is set; the CLI
// and a real agent process trust it through their CA settings and refuse it without them.
describe('the swas server over TLS', { timeout: 120_000 }, () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let ca: CertFiles;
  let caPem: string;
  let otherCa: CertFiles;
  let swas: TestServer;
  let url: string;
  let admin: string;
  const agents: AgentProcess[] = [];

  beforeAll(async () => {
    tmp = await makeTempDir('server-tls');
    ca = makeCa(tmp.dir, 'ca');
    otherCa = makeCa(tmp.dir, 'other-ca');
    caPem = readFileSync(ca.certFile, 'utf8');
    const server = makeSignedCert(tmp.dir, ca, 'server');
    // Relative paths: resolved against swas.yaml's directory.
    copyFileSync(server.certFile, join(tmp.dir, 'live.pem'));
    copyFileSync(server.keyFile, join(tmp.dir, 'live-key.pem'));
    swas = await startTestServer(tmp.dir, tlsBlock('live.pem', 'live-key.pem'));
    url = swas.server.url;
    admin = await swas.token('admin');
  }, 60_000);

  afterAll(async () => {
    for (const agent of agents) await agent.stop();
    await swas?.stop();
    await tmp?.remove();
  });

  it('serves the API over https and not over plain http', async () => {
    expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const healthy = await httpCall(`${url}/-/healthy`, { ca: caPem });
    expect(healthy.status).toBe(200);
    expect(healthy.peer?.subject.CN).toBe('server');
    const agentsList = await httpCall(`${url}/api/v1/agents`, { ca: caPem, token: admin });
    expect(agentsList).toMatchObject({ status: 200, body: { agents: [] } });

    await expect(httpCall(`${url.replace('https:', 'http:')}/-/healthy`)).rejects.toThrow(
      /socket hang up|ECONNRESET|closed/i,
    );
    await expect(httpCall(`${url}/-/healthy`)).rejects.toThrow(/self-signed certificate|unable to verify/i);
    await expect(
      httpCall(`${url}/-/healthy`, { ca: readFileSync(otherCa.certFile, 'utf8') }),
    ).rejects.toThrow(/self-signed certificate|unable to verify/i);
  });

  it('the CLI talks to it with --ca-file or SWAS_CA_FILE and says what to do without', async () => {
    const withFlag = await swasCli([
      'agent',
      'list',
      '--json',
      '--server',
      url,
      '--token',
      admin,
      '--ca-file',
      ca.certFile,
    ]);
    expect(withFlag.stderr).toBe('');
    expect(withFlag.code).toBe(0);
    expect(JSON.parse(withFlag.stdout)).toEqual([]);
    const withEnv = await swasCli(['agent', 'list', '--json'], {
      SWAS_URL: url,
      SWAS_TOKEN: admin,
      SWAS_CA_FILE: ca.certFile,
    });
    expect(withEnv.code).toBe(0);

    const without = await swasCli(['agent', 'list', '--server', url, '--token', admin]);
    expect(without.code).toBe(1);
    expect(without.stderr).toContain(`cannot verify the TLS certificate of swas at ${url}`);
    expect(without.stderr).toMatch(
      /unable to verify the first certificate \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)/,
    );
    expect(without.stderr).toContain('--ca-file');

    const plain = await swasCli([
      'agent',
      'list',
      '--server',
      url.replace('https:', 'http:'),
      '--token',
      admin,
    ]);
    expect(plain.code).toBe(1);
    expect(plain.stderr).toContain('use an https:// URL');
  });

  it('a real agent with tls.ca_file enrolls over https, streams over wss, and its samples are queryable', async () => {
    const token = await enrollmentToken(
      {
        request: (method, path, t, body) =>
          httpCall(`${url}${path}`, { method, token: t, json: body, ca: caPem }),
      },
      admin,
      { env: 'tls' },
    );
    const dir = join(tmp.dir, 'agent-good');
    await mkdir(dir);
    await writeFile(
      join(dir, 'agent.yaml'),
      `server: ${url}\nname: tls-1\nenrollment_token: ${token}\nstate_dir: state\ninterval: 1s\n` +
        `tls:\n  ca_file: ../ca.pem\ncollectors:\n  disable: [cpu, filesystem, network]\n`,
    );
    const agent = startAgentProcess(join(dir, 'agent.yaml'));
    agents.push(agent);
    const [sample] = await eventually(
      `node_load1 from the TLS agent (agent log: ${agent.log().slice(-500)})`,
      async () => {
        const answer = await httpCall(
          `${url}/api/v1/query?query=${encodeURIComponent('node_load1{agent="tls-1"}')}`,
          {
            ca: caPem,
            token: admin,
          },
        );
        const result = (answer.body as { data?: { result?: { metric: Record<string, string> }[] } }).data
          ?.result;
        return result !== undefined && result.length > 0 ? result : null;
      },
      45_000,
    );
    expect(sample?.metric).toMatchObject({ agent: 'tls-1', env: 'tls' });
    const listed = await httpCall(`${url}/api/v1/agents`, { ca: caPem, token: admin });
    expect(listed.body).toMatchObject({ agents: [{ name: 'tls-1', connected: true }] });
  });

  it('an agent without the right CA refuses the server and says it is the certificate', async () => {
    const token = await enrollmentToken(
      {
        request: (method, path, t, body) =>
          httpCall(`${url}${path}`, { method, token: t, json: body, ca: caPem }),
      },
      admin,
      {},
    );
    const dir = join(tmp.dir, 'agent-bad');
    await mkdir(dir);
    await writeFile(
      join(dir, 'agent.yaml'),
      `server: ${url}\nname: tls-bad\nenrollment_token: ${token}\nstate_dir: state\n` +
        `tls:\n  ca_file: ../other-ca.pem\ncollectors:\n  disable: [cpu, filesystem, network]\n`,
    );
    const agent = startAgentProcess(join(dir, 'agent.yaml'));
    agents.push(agent);
    await eventually(
      'the agent to log a certificate failure',
      () => /cannot enroll yet/.test(agent.log()),
      30_000,
    ).catch((error: unknown) => {
      throw new Error(`${String(error)}; agent log: ${agent.log().slice(-1000)}`);
    });
    expect(agent.log()).toMatch(/unable to verify the first certificate/);
    expect(agent.log()).toContain('cannot enroll yet');
    // Said once at warn, with the code and what to set, however often the agent retries.
    await eventually(
      'the agent to retry enrollment twice',
      () => agent.log().split('cannot enroll yet').length > 2,
      30_000,
    );
    const advice = warnings(agent.log()).filter((msg) => msg.includes('not trusted'));
    expect(advice).toEqual([
      "cannot enroll: the server's TLS certificate is not trusted; set tls.ca_file in agent.yaml to the CA " +
        'that signed it (UNABLE_TO_VERIFY_LEAF_SIGNATURE: unable to verify the first certificate); retrying with backoff',
    ]);
    const listed = await httpCall(`${url}/api/v1/agents`, { ca: caPem, token: admin });
    expect((listed.body as { agents: { name: string }[] }).agents.map((a) => a.name)).not.toContain(
      'tls-bad',
    );
  });

  it('an enrolled agent whose link does not trust the server says so at warn', async () => {
    // Enrolled already (a credential in state_dir), so the link is the first thing to meet the certificate.
    const dir = join(tmp.dir, 'agent-bad-link');
    await mkdir(join(dir, 'state'), { recursive: true });
    await writeFile(
      join(dir, 'state', 'credential.json'),
      JSON.stringify({
        agentId: '999',
        name: 'tls-bad-link',
        credential: 'never-checked',
        server: url,
        enrolledAt: new Date().toISOString(),
      }),
    );
    await writeFile(
      join(dir, 'agent.yaml'),
      `server: ${url}\nname: tls-bad-link\nstate_dir: state\n` +
        `tls:\n  ca_file: ../other-ca.pem\ncollectors:\n  disable: [cpu, filesystem, network]\n`,
    );
    const agent = startAgentProcess(join(dir, 'agent.yaml'));
    agents.push(agent);
    const advice = await eventually(
      `the agent to warn about the certificate (agent log: ${agent.log().slice(-1000)})`,
      () => {
        const found = warnings(agent.log()).filter((msg) => msg.includes('not trusted'));
        return found.length > 0 ? found : null;
      },
      30_000,
    );
    expect(advice).toEqual([
      expect.stringMatching(
        /^cannot connect to the swas server: the server's TLS certificate is not trusted; set tls\.ca_file in agent\.yaml .*\(UNABLE_TO_VERIFY_LEAF_SIGNATURE: /,
      ),
    ]);
  });

  it('picks up a renewed certificate on reload without a restart; a broken one is rejected', async () => {
    const renewed = makeSignedCert(tmp.dir, ca, 'renewed');
    copyFileSync(renewed.certFile, join(tmp.dir, 'live.pem'));
    copyFileSync(renewed.keyFile, join(tmp.dir, 'live-key.pem'));
    expect(await swas.server.reload()).toEqual({ ok: true });
    expect((await httpCall(`${url}/-/healthy`, { ca: caPem })).peer?.subject.CN).toBe('renewed');

    // A key that is not the certificate's: rejected, and the renewed certificate keeps serving.
    copyFileSync(join(tmp.dir, 'server-key.pem'), join(tmp.dir, 'live-key.pem'));
    const rejected = await swas.server.reload();
    expect(rejected.ok).toBe(false);
    expect(!rejected.ok && rejected.error).toMatch(
      /server\.tls\.key_file: .*live-key\.pem is not the private key/,
    );
    expect((await httpCall(`${url}/-/healthy`, { ca: caPem })).peer?.subject.CN).toBe('renewed');
  });
});

describe('server.tls with client certificates', { timeout: 60_000 }, () => {
  it('refuses clients without a certificate from client_ca_file and serves those with one', async () => {
    const tmp = await makeTempDir('server-mtls');
    const ca = makeCa(tmp.dir, 'ca');
    const clientCa = makeCa(tmp.dir, 'client-ca');
    const server = makeSignedCert(tmp.dir, ca, 'server');
    const client = makeSignedCert(tmp.dir, clientCa, 'client', { usage: 'client' });
    const stranger = makeSignedCert(tmp.dir, ca, 'stranger', { usage: 'client' });
    const swas = await startTestServer(
      tmp.dir,
      tlsBlock(
        server.certFile,
        server.keyFile,
        `    client_ca_file: client-ca.pem\n    min_version: TLSv1.3\n`,
      ),
    );
    try {
      const url = swas.server.url;
      const caPem = readFileSync(ca.certFile, 'utf8');
      const pem = (file: string) => readFileSync(file, 'utf8');
      const ok = await httpCall(`${url}/-/healthy`, {
        ca: caPem,
        cert: pem(client.certFile),
        key: pem(client.keyFile),
      });
      expect(ok.status).toBe(200);
      await expect(httpCall(`${url}/-/healthy`, { ca: caPem })).rejects.toThrow(
        /certificate required|alert|hang up|ECONNRESET/i,
      );
      await expect(
        httpCall(`${url}/-/healthy`, { ca: caPem, cert: pem(stranger.certFile), key: pem(stranger.keyFile) }),
      ).rejects.toThrow(/unknown ca|alert|hang up|ECONNRESET/i);

      const cli = ['agent', 'list', '--json', '--server', url, '--token', await swas.token('viewer')];
      const withCert = await swasCli([...cli, '--ca-file', ca.certFile], {
        SWAS_CERT_FILE: client.certFile,
        SWAS_KEY_FILE: client.keyFile,
      });
      expect(withCert.stderr).toBe('');
      expect(withCert.code).toBe(0);
      const withoutCert = await swasCli([...cli, '--ca-file', ca.certFile]);
      expect(withoutCert.code).toBe(1);
      expect(withoutCert.stderr).toContain('pass --cert-file and --key-file');
    } finally {
      await swas.stop();
      await tmp.remove();
    }
  });
});

describe('server.tls configuration errors', () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let ca: CertFiles;
  let good: CertFiles;
  let other: CertFiles;

  beforeAll(async () => {
    tmp = await makeTempDir('server-tls-config');
    ca = makeCa(tmp.dir, 'ca');
    good = makeSignedCert(tmp.dir, ca, 'good');
    other = makeSignedCert(tmp.dir, ca, 'other');
  });
  afterAll(async () => tmp?.remove());

  const load = async (tls: string) => {
    const file = join(tmp.dir, 'swas.yaml');
    await writeFile(file, `# swas\nserver:\n  listen: 127.0.0.1:7999\n${tls}`);
    return loadConfig(file);
  };
  const problems = async (tls: string): Promise<string[]> => {
    try {
      await load(tls);
    } catch (error) {
      if (error instanceof ConfigError) return error.issues.map(formatConfigIssue);
      throw error;
    }
    throw new Error('expected a ConfigError');
  };

  it('names missing files with file:line, the field and the resolved path', async () => {
    const file = join(tmp.dir, 'swas.yaml');
    expect(
      await problems(tlsBlock('missing.pem', 'nokey.pem', '    client_ca_file: /nonexistent/ca.pem\n')),
    ).toEqual([
      `${file}:5:5: server.tls.cert_file: cannot read ${join(tmp.dir, 'missing.pem')}: no such file; paths are relative to swas.yaml`,
      `${file}:6:5: server.tls.key_file: cannot read ${join(tmp.dir, 'nokey.pem')}: no such file; paths are relative to swas.yaml`,
      `${file}:7:5: server.tls.client_ca_file: cannot read /nonexistent/ca.pem: no such file; paths are relative to swas.yaml`,
    ]);
  });

  it('refuses a key that does not match the certificate, and files that are not PEM', async () => {
    const [mismatch] = await problems(tlsBlock('good.pem', 'other-key.pem'));
    expect(mismatch).toMatch(
      /:6:5: server\.tls\.key_file: .*other-key\.pem is not the private key of the certificate in .*good\.pem \(CN=good\)/,
    );
    await writeFile(join(tmp.dir, 'junk.pem'), 'not a certificate\n');
    const junk = await problems(tlsBlock('junk.pem', 'junk.pem'));
    expect(junk).toEqual([
      expect.stringMatching(
        /server\.tls\.cert_file: .*junk\.pem holds no PEM certificate .*BEGIN CERTIFICATE/,
      ),
      expect.stringMatching(
        /server\.tls\.key_file: .*junk\.pem holds no PEM private key .*BEGIN PRIVATE KEY/,
      ),
    ]);
    const badVersion = await problems(tlsBlock('good.pem', 'good-key.pem', '    min_version: TLSv1.0\n'));
    expect(badVersion[0]).toMatch(/server\.tls\.min_version: .*TLSv1\.2.*TLSv1\.3/);
  });

  it('loads a good pair, and warns about an expired certificate without refusing it', async () => {
    const loaded = await load(tlsBlock('good.pem', 'good-key.pem'));
    expect(loaded.serverTls).toMatchObject({
      certFile: good.certFile,
      subject: 'CN=good',
      minVersion: 'TLSv1.2',
      clientCa: null,
    });
    expect(JSON.stringify(loaded.serverTls)).not.toContain('PRIVATE KEY');
    expect(loaded.warnings).toEqual([]);
    void other;

    const expired = makeSignedCert(tmp.dir, ca, 'expired', { expired: true });
    const old = await load(tlsBlock(expired.certFile, expired.keyFile));
    expect(old.warnings.map(formatConfigIssue)).toEqual([
      expect.stringMatching(
        /:5:5: server\.tls\.cert_file: the certificate in .*expired\.pem expired at .*; .*renew it and reload/,
      ),
    ]);
  });
});
