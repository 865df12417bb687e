import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fastify, type FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runbookSchema, type RunbookConfig } from '../src/config/index.js';
import { EmbeddedPromqlQuery } from '../src/promql/index.js';
import { LocalServiceControl, RunExecutor, type StepServices } from '../src/runbooks/index.js';
import { RunStepApprovals } from '../src/runbooks/steps/approvals.js';
import { createAuthHook } from '../src/server/auth.js';
import { errorHandler } from '../src/server/httpErrors.js';
import { approvalRoutes } from '../src/server/routes/approvalRoutes.js';
import type { ServerParts } from '../src/server/ServerParts.js';
import { openStateStore, type StateStore } from '../src/store/index.js';
import { MemorySeriesStore } from '../src/tsdb/index.js';
import { REPO_ROOT } from '../examples/demo/demo.js';
import { eventually, startTestServer, type TestServer } from './support/swasServer.js';
import { makeTempDir } from './support/tmp.js';
import { defaultPoolGuard } from './support/poolGuard.js';

const logger = pino({ level: 'silent' });
const CLI_SOURCE = join(REPO_ROOT, 'src/cli/main.ts');

const gated: RunbookConfig = runbookSchema.parse({
  name: 'gated-reboot',
  trigger: { alert: 'Down' },
  target: { member: '{{ $labels.member }}' },
  steps: [
    { action: 'approve', timeout: '30s', with: { prompt: 'reboot {{ $target.member }}?' } },
    { action: 'wait.until', timeout: '5s', with: { expr: 'vector(1)' } },
  ],
});

describe('approve steps: durable human gate through the API', () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let store: StateStore;
  let services: StepServices;
  let app: FastifyInstance;
  let operator: string;
  let viewer: string;
  const executors: RunExecutor[] = [];

  beforeAll(async () => {
    tmp = await makeTempDir('approve');
    store = await openStateStore({ dataDir: join(tmp.dir, 'data') });
    // Extra ports ride along in the services object; the executor spreads it into every step context.
    const withApprovals = {
      lbs: { forPool: () => null },
      services: new LocalServiceControl({}),
      query: EmbeddedPromqlQuery.create({ reader: new MemorySeriesStore() }),
      audit: {
        record: (entry: Parameters<StepServices['audit']['record']>[0]) =>
          store.audit.append({ ...entry, at: Date.now() }).then(() => undefined),
      },
      now: Date.now,
      pollMs: 20,
      approvals: new RunStepApprovals(store.runs),
      poolGuard: defaultPoolGuard(EmbeddedPromqlQuery.create({ reader: new MemorySeriesStore() })),
    };
    services = withApprovals;
    app = fastify({ logger: false });
    app.setErrorHandler(errorHandler(logger));
    app.addHook('onRequest', createAuthHook({ tokens: store.tokens, logger, now: Date.now }));
    approvalRoutes(app, { store, now: Date.now, logger } as unknown as ServerParts);
    await app.ready();
    operator = (await store.tokens.create({ name: 'alice', role: 'operator' }, Date.now())).token;
    viewer = (await store.tokens.create({ name: 'victor', role: 'viewer' }, Date.now())).token;
  }, 30_000);

  afterAll(async () => {
    for (const executor of executors) await executor.shutdown(100);
    await app.close();
    await store.close();
    await tmp.remove();
  });

  function executor(): RunExecutor {
    const created = RunExecutor.create({
      runs: store.runs,
      quarantines: store.quarantines,
      services,
      observer: () => Promise.resolve(),
      logger,
    });
    created.setRunbooks([gated]);
    executors.push(created);
    return created;
  }

  async function startGated(member: string, runner: RunExecutor): Promise<string> {
    const started = await runner.start(gated, {
      labels: { alertname: 'Down', member },
      incidentId: null,
      trigger: {},
    });
    if (!started.started) throw new Error(started.reason);
    await eventually('waiting for approval', async () => {
      const full = await store.runs.get(started.run.id);
      return full?.steps[0]?.result?.awaiting !== undefined;
    });
    return started.run.id;
  }

  const post = (id: string, token: string, payload: unknown = {}) =>
    app.inject({
      method: 'POST',
      url: `/api/v1/runs/${id}/approve`,
      headers: { authorization: `Bearer ${token}` },
      payload: payload as Record<string, unknown>,
    });

  it('an approval given while swas is down is kept, and the resumed run continues', async () => {
    const first = executor();
    const id = await startGated('web-1', first);
    const waiting = await store.runs.get(id);
    const requestedAt = (waiting?.steps[0]?.result?.awaiting as { requestedAt: number }).requestedAt;
    expect(waiting?.steps[0]?.result?.awaiting).toMatchObject({ prompt: 'reboot web-1?' });

    await first.shutdown(100);
    expect((await store.runs.get(id))?.run.status).toBe('parked');

    const answer = await post(id, operator, { comment: 'go ahead' });
    expect(answer.statusCode).toBe(200);
    expect(answer.json()).toMatchObject({
      run: id,
      step: 0,
      decision: 'approved',
      by: 'alice',
      comment: 'go ahead',
    });
    expect((await post(id, operator)).statusCode).toBe(409);

    const second = executor();
    await second.resumeUnfinished();
    await eventually('run finished', async () => (await store.runs.get(id))?.run.status === 'succeeded');
    const done = await store.runs.get(id);
    expect(done?.steps[0]?.result).toMatchObject({
      requestedAt,
      approval: { decision: 'approved', by: 'alice', comment: 'go ahead' },
      message: 'approved by alice (“go ahead”)',
    });
    const audit = await store.audit.list({ limit: 1000 });
    expect(audit.map((e) => [e.action, e.actor, e.target])).toEqual(
      expect.arrayContaining([
        ['run.approve', 'alice', `run:${id}`],
        ['approve', `run:${id}`, `run:${id}`],
      ]),
    );
  });

  it('a rejection fails the step and stops the run', async () => {
    const id = await startGated('web-2', executor());
    const answer = await post(id, operator, { decision: 'rejected', comment: 'not during the sale' });
    expect(answer.statusCode).toBe(200);
    await eventually('run failed', async () => (await store.runs.get(id))?.run.status === 'failed');
    const done = await store.runs.get(id);
    expect(done?.steps[0]?.error).toBe('rejected by alice (“not during the sale”)');
    expect(done?.steps[1]?.status).toBe('pending');
  });

  it('fails at its timeout when nobody decides (on_timeout: fail)', async () => {
    const { guards: _parsedGuards, ...unparsed } = gated;
    const quick = runbookSchema.parse({
      ...unparsed,
      name: 'quick',
      steps: [{ action: 'approve', timeout: '1s' }],
    });
    const runner = executor();
    const started = await runner.start(quick, {
      labels: { alertname: 'Down', member: 'web-3' },
      incidentId: null,
      trigger: {},
    });
    expect(started.started).toBe(true);
    if (!started.started) return;
    await eventually(
      'run failed',
      async () => (await store.runs.get(started.run.id))?.run.status === 'failed',
    );
    expect((await store.runs.get(started.run.id))?.steps[0]?.error).toContain(
      `nobody approved within 1 s; approve with \`swas runbook approve ${started.run.id}\``,
    );
  });

  it('refuses viewers, unknown runs, runs not at an approve step, and bad bodies', async () => {
    const id = await startGated('web-4', executor());
    const refused = await post(id, viewer);
    expect(refused.statusCode).toBe(403);
    expect((await post('no-such-run', operator)).statusCode).toBe(404);
    const bad = await post(id, operator, { decision: 'maybe' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json<{ error: { message: string } }>().error.message).toContain('decision');
    const extra = await post(id, operator, { approve: true });
    expect(extra.statusCode).toBe(400);
    expect((await post(id, operator)).statusCode).toBe(200);
    await eventually('run finished', async () => (await store.runs.get(id))?.run.status === 'succeeded');
    const late = await post(id, operator);
    expect(late.statusCode).toBe(409);
    expect(late.json<{ error: { message: string } }>().error.message).toContain('not waiting for approval');
  });
});

describe('swas runbook approve', { timeout: 60_000 }, () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let server: TestServer;
  let operator: string;
  // The server runs in this process, so the CLI must run without blocking its event loop.
  const cli = (args: string[]) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', CLI_SOURCE, ...args, '--server', server.url, '--token', operator],
        { cwd: REPO_ROOT, env: { ...process.env, SWAS_TOKEN: '' } },
      );
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.once('close', (code) => resolve({ code, stdout, stderr }));
    });

  beforeAll(async () => {
    tmp = await makeTempDir('approve-cli');
    server = await startTestServer(tmp.dir, '');
    operator = await server.token('operator');
  }, 30_000);
  afterAll(async () => {
    await server?.stop();
    await tmp?.remove();
  });

  // A run parked at an approve step, as a shutdown leaves it; the server's executor does not touch it.
  async function parkedAtApproval(): Promise<string> {
    const { run } = await server.server.parts.store.runs.create(
      {
        runbook: 'gated',
        incidentId: null,
        target: {},
        trigger: {},
        createdAt: Date.now(),
        status: 'parked',
      },
      [{ name: 'approve', action: 'approve', params: { prompt: 'ok?' } }],
    );
    return run.id;
  }

  it('approves with a comment, and refuses to decide twice with exit code 1', async () => {
    const id = await parkedAtApproval();
    const approved = await cli(['runbook', 'approve', id, '--comment', 'looks fine']);
    expect(approved).toMatchObject({
      code: 0,
      stdout: `run ${id} step 1 (approve): approved by test-operator\n`,
    });
    const step = (await server.server.parts.store.runs.get(id))?.steps[0];
    expect(step?.result).toMatchObject({ approval: { decision: 'approved', comment: 'looks fine' } });
    const again = await cli(['runbook', 'approve', id]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('already approved by test-operator');
  });

  it('rejects with --reject --json', async () => {
    const id = await parkedAtApproval();
    const rejected = await cli(['runbook', 'approve', id, '--reject', '--json']);
    expect(rejected.code).toBe(0);
    expect(JSON.parse(rejected.stdout)).toMatchObject({ run: id, decision: 'rejected', by: 'test-operator' });
  });
});
