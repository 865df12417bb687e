import { generateKeyPairSync } from 'node:crypto';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentFrame } from '../src/agent/index.js';
import { enrollmentToken, startAgentProcess, type AgentProcess } from './support/agentProcess.js';
import { FakeAgentServer } from './support/fakeAgentServer.js';
import { freePort } from './support/ports.js';
import { eventually, startTestServer, type TestServer } from './support/swasServer.js';
import { makeTempDir } from './support/tmp.js';

type ActionResult = Extract<AgentFrame, { type: 'action_result' }>;

/** agent.yaml with one action that leaves a new file in `dir` each time it runs (mktemp). */
function agentYaml(server: string, stateDir: string, dir: string, extra = ''): string {
  return `server: ${server}
state_dir: ${stateDir}
interval: 1s
collectors:
  disable: [cpu, filesystem, network]
actions:
  make-file: { argv: [/usr/bin/mktemp, "${join(dir, 'ran.XXXXXX')}"], timeout: 10s }
${extra}`;
}

/** How many times make-file ran. */
async function runs(dir: string): Promise<number> {
  return (await readdir(dir)).filter((f) => f.startsWith('ran.')).length;
}

// Issue 6: an agent never accepts an unsigned or unknown action. A test-side server speaking the protocol
// sends a real agent process forged, tampered, stale and replayed requests; none of them runs anything.
describe('signed action requests, against a test-side server', { timeout: 90_000 }, () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let server: FakeAgentServer;
  let agent: AgentProcess;
  let ranDir: string;

  beforeAll(async () => {
    tmp = await makeTempDir('signed-fake');
    ranDir = tmp.dir;
    server = await FakeAgentServer.start(['tok-1']);
    const file = join(tmp.dir, 'agent.yaml');
    await writeFile(
      file,
      agentYaml(server.url, join(tmp.dir, 'state'), ranDir, 'name: signed-1\nenrollment_token: tok-1\n'),
    );
    agent = startAgentProcess(file);
    await eventually(
      `the agent to say hello (agent log: ${agent.log().slice(-500)})`,
      () => server.frames.some((f) => f.type === 'hello'),
      30_000,
    );
  }, 60_000);

  afterAll(async () => {
    await agent?.stop();
    await server?.close();
    await tmp?.remove();
  });

  /** Sends one frame (text as it is) and waits for the agent's answer to request `id`. */
  const ask = async (id: string, frame: object | string): Promise<ActionResult> => {
    server.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
    return eventually(`the answer to ${id}`, () =>
      server.frames.find((f): f is ActionResult => f.type === 'action_result' && f.id === id),
    );
  };

  it('pins the server key at enrollment in the credential file, which stays 0600', async () => {
    const file = join(tmp.dir, 'state', 'credential.json');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const stored = JSON.parse(await readFile(file, 'utf8')) as { actionKey?: string };
    expect(stored.actionKey).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    expect(agent.log()).toContain('action requests must be signed by the server key pinned at enrollment');
  });

  it('refuses unsigned, tampered, misaddressed, foreign-key, expired and future requests; runs nothing', async () => {
    const now = Date.now();
    const cases: { id: string; frame: object; reason: string }[] = [
      {
        id: 'unsigned',
        frame: { type: 'action', id: 'unsigned', name: 'make-file', timeoutMs: 5000 },
        reason: 'unsigned',
      },
      {
        id: 'tampered-name',
        frame: { ...server.signedAction({ id: 'tampered-name', name: 'other' }), name: 'make-file' },
        reason: 'bad_signature',
      },
      {
        id: 'tampered-agent',
        frame: {
          ...server.signedAction({ id: 'tampered-agent', name: 'make-file', agentId: 'agent-9' }),
          agentId: server.lastAgentId,
        },
        reason: 'bad_signature',
      },
      {
        id: 'other-agent',
        frame: server.signedAction({ id: 'other-agent', name: 'make-file', agentId: 'agent-9' }),
        reason: 'wrong_agent',
      },
      {
        id: 'foreign-key',
        frame: server.signedAction(
          { id: 'foreign-key', name: 'make-file' },
          generateKeyPairSync('ed25519').privateKey,
        ),
        reason: 'bad_signature',
      },
      {
        id: 'expired',
        frame: server.signedAction({
          id: 'expired',
          name: 'make-file',
          issuedAt: now - 120_000,
          expiresAt: now - 60_000,
        }),
        reason: 'expired',
      },
      {
        id: 'future',
        frame: server.signedAction({
          id: 'future',
          name: 'make-file',
          issuedAt: now + 120_000,
          expiresAt: now + 180_000,
        }),
        reason: 'not_yet_valid',
      },
    ];
    for (const c of cases) {
      const result = await ask(c.id, c.frame);
      expect(result, c.id).toMatchObject({ ok: false, exitCode: null, output: '', durationMs: 0 });
      expect(result.error, c.id).toMatch(new RegExp(`^refused \\(${c.reason}\\): `));
    }
    // The agent logs every refusal with its reason.
    const refusals = agent
      .log()
      .split('\n')
      .filter((line) => line.includes('refused action make-file'))
      .map((line) => (JSON.parse(line) as { reason: string }).reason);
    expect(refusals.sort()).toEqual(cases.map((c) => c.reason).sort());
    expect(await runs(ranDir)).toBe(0);
  });

  it('runs a signed request once and refuses it sent again', async () => {
    const frame = JSON.stringify(server.signedAction({ id: 'good-1', name: 'make-file' }));
    const result = await ask('good-1', frame);
    expect(result).toMatchObject({ ok: true, exitCode: 0, error: null });
    expect(await runs(ranDir)).toBe(1);

    const before = server.frames.length;
    server.send(frame);
    const replayed = await eventually('the answer to the replay', () =>
      server.frames.slice(before).find((f): f is ActionResult => f.type === 'action_result'),
    );
    expect(replayed).toMatchObject({
      id: 'good-1',
      ok: false,
      error: expect.stringMatching(/^refused \(replayed\)/) as unknown,
    });
    expect(await runs(ranDir)).toBe(1);
  });

  it('refuses a signed request for an action outside the allow-list, as before', async () => {
    const result = await ask('unknown', server.signedAction({ id: 'unknown', name: 'rm-rf' }));
    expect(result.error).toBe("action rm-rf is not in this agent's allow-list (agent.yaml actions:)");
  });
});

// The real server: its key is made once in the data directory, handed out at enrollment, survives a
// restart; an agent enrolled before signed actions (no key pinned) refuses and the run step records it.
describe('signed action requests, against the real server', { timeout: 120_000 }, () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let port: number;
  let swas: TestServer;
  let admin: string;
  let agent: AgentProcess;
  let legacy: AgentProcess;
  const ranDir = () => join(tmp.dir, 'ran');
  const legacyRanDir = () => join(tmp.dir, 'legacy-ran');
  const keyFile = () => join(tmp.dir, 'data', 'agent-signing-key.pem');

  const config = `services:
  legacy-app: { agent: legacy-1, restart: make-file, timeout: 10s }
runbooks:
  files: [restart-legacy.yaml]
`;
  const files = {
    'restart-legacy.yaml': `name: restart-legacy
trigger: { manual: true }
steps:
  - action: service.restart
    with: { service: legacy-app }
`,
  };
  const start = () => startTestServer(tmp.dir, config, files, {}, { port });
  const connected = (name: string) =>
    eventually(
      `${name} to connect`,
      async () => {
        const body = (await swas.get('/api/v1/agents', admin)).body as {
          agents: { name: string; connected: boolean }[];
        };
        return body.agents.some((a) => a.name === name && a.connected);
      },
      30_000,
    );

  beforeAll(async () => {
    tmp = await makeTempDir('signed-real');
    await mkdir(ranDir());
    await mkdir(legacyRanDir());
    port = await freePort();
    swas = await start();
    admin = await swas.token('admin');

    const token = await enrollmentToken(swas, admin, {});
    await writeFile(
      join(tmp.dir, 'agent.yaml'),
      agentYaml(
        swas.url,
        join(tmp.dir, 'agent-state'),
        ranDir(),
        `name: signed-1\nenrollment_token: ${token}\n`,
      ),
    );
    agent = startAgentProcess(join(tmp.dir, 'agent.yaml'));

    // An agent enrolled before signed actions: its credential.json has no actionKey.
    const legacyToken = await enrollmentToken(swas, admin, {});
    const enrolled = await swas.request('POST', '/api/v1/agents/enroll', null, {
      token: legacyToken,
      name: 'legacy-1',
      hostname: 'legacy-host',
    });
    const answer = enrolled.body as {
      agent: { id: number; name: string };
      credential: string;
      actionKey: string;
    };
    expect(enrolled.status).toBe(201);
    await mkdir(join(tmp.dir, 'legacy-state'), { mode: 0o700 });
    await writeFile(
      join(tmp.dir, 'legacy-state', 'credential.json'),
      JSON.stringify({
        agentId: String(answer.agent.id),
        name: answer.agent.name,
        credential: answer.credential,
        server: swas.url,
        enrolledAt: new Date().toISOString(),
      }),
      { mode: 0o600 },
    );
    await writeFile(
      join(tmp.dir, 'legacy.yaml'),
      agentYaml(swas.url, join(tmp.dir, 'legacy-state'), legacyRanDir(), 'name: legacy-1\n'),
    );
    legacy = startAgentProcess(join(tmp.dir, 'legacy.yaml'));
    await connected('signed-1');
    await connected('legacy-1');
  }, 90_000);

  afterAll(async () => {
    await agent?.stop();
    await legacy?.stop();
    await swas?.stop();
    await tmp?.remove();
  });

  it('makes its key once (0600) and hands out the public half at enrollment', async () => {
    expect((await stat(keyFile())).mode & 0o777).toBe(0o600);
    expect(await readFile(keyFile(), 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    const stored = JSON.parse(await readFile(join(tmp.dir, 'agent-state', 'credential.json'), 'utf8')) as {
      actionKey: string;
    };
    expect(stored.actionKey).toBe(swas.server.parts.agents.actionKey());
    expect(stored.actionKey).not.toContain('PRIVATE');
  });

  it('a signed action runs, and still runs after a server restart (same key)', async () => {
    const first = await swas.server.parts.agents.sendAction('signed-1', {
      name: 'make-file',
      timeoutMs: 5000,
    });
    expect(first).toMatchObject({ ok: true, exitCode: 0 });
    expect(await runs(ranDir())).toBe(1);

    const keyBefore = await readFile(keyFile(), 'utf8');
    await swas.stop();
    swas = await start();
    admin = await swas.token('admin');
    expect(await readFile(keyFile(), 'utf8')).toBe(keyBefore);
    await connected('signed-1');
    const second = await swas.server.parts.agents.sendAction('signed-1', {
      name: 'make-file',
      timeoutMs: 5000,
    });
    expect(second).toMatchObject({ ok: true, exitCode: 0 });
    expect(await runs(ranDir())).toBe(2);
  });

  it('an agent without a pinned key refuses, says how to fix it, and the run step records the refusal', async () => {
    // The test before restarts the server: the agent may still be reconnecting.
    await connected('legacy-1');
    expect(legacy.log()).toContain('pins no server key: it refuses every action until it is enrolled again');
    const response = await swas.request('POST', '/api/v1/runbooks/restart-legacy/run', admin, {});
    expect(response.status).toBe(201);
    const { run } = response.body as { run: { id: string } };
    const finished = await eventually(`run ${run.id} to finish`, async () => {
      const full = (await swas.get(`/api/v1/runs/${run.id}`, admin)).body as {
        run: { status: string };
        steps: { error: string | null }[];
      };
      return ['succeeded', 'failed'].includes(full.run.status) ? full : null;
    });
    expect(finished.run.status).toBe('failed');
    expect(finished.steps[0]?.error).toMatch(
      /agent legacy-1, action make-file \(restart legacy-app\): refused \(no_pinned_key\): this agent pinned no server key/,
    );
    expect(legacy.log()).toMatch(/"reason":"no_pinned_key".*refused action make-file/);
    expect(await runs(legacyRanDir())).toBe(0);
  });
});
