import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Notifier, WebhookChannel } from '../src/paging/index.js';
import { EmbeddedPromqlQuery } from '../src/promql/index.js';
import { LocalHostControl } from '../src/runbooks/hostControl.js';
import { LocalServiceControl } from '../src/runbooks/index.js';
import { LocalCommandControl } from '../src/runbooks/steps/commandControl.js';
import { STEP_HANDLERS, type StepContext } from '../src/runbooks/steps/index.js';
import { NotifierStepNotifier } from '../src/runbooks/steps/NotifierStepNotifier.js';
import type { StepExtensions } from '../src/runbooks/steps/stepPorts.js';
import { openStateStore, type StateStore } from '../src/store/index.js';
import { MemorySeriesStore } from '../src/tsdb/index.js';
import { freePort } from './support/ports.js';
import { eventually } from './support/swasServer.js';
import { makeTempDir } from './support/tmp.js';
import { startWebhookReceiver } from './support/webhookReceiver.js';
import { defaultPoolGuard } from './support/poolGuard.js';

const logger = pino({ level: 'silent' });

describe('step library against real commands, a real HTTP server, channels and store', () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let store: StateStore;
  let series: MemorySeriesStore;
  let web: Server;
  let webUrl: string;
  let seenHeaders: Record<string, string | string[] | undefined>[];
  let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;
  let notifier: Notifier;
  let extensions: StepExtensions;
  let marker: string;

  beforeAll(async () => {
    tmp = await makeTempDir('steps');
    marker = join(tmp.dir, 'rebooted');
    store = await openStateStore({ dataDir: join(tmp.dir, 'data') });
    series = new MemorySeriesStore();
    seenHeaders = [];
    web = createServer((request, response) => {
      seenHeaders.push(request.headers);
      let body = '';
      request.on('data', (c: Buffer) => (body += c.toString()));
      request.on('end', () => {
        const status = Number(new URL(request.url ?? '/', 'http://x').searchParams.get('status') ?? 200);
        response.statusCode = status;
        response.end(`${request.method} ${request.url} body=${body} ${'x'.repeat(3000)}`);
      });
    });
    const port = await freePort();
    await new Promise<void>((resolve) => web.listen(port, '127.0.0.1', () => resolve()));
    webUrl = `http://127.0.0.1:${port}`;
    receiver = await startWebhookReceiver();
    notifier = new Notifier(
      [
        new WebhookChannel(
          {
            name: 'hook',
            url: receiver.url,
            headers: {},
            timeoutMs: 2000,
            retries: 0,
            events: ['incident.escalated'],
          },
          { backoffMs: 10 },
        ),
      ],
      () => Promise.resolve(),
      logger,
    );
    extensions = {
      commands: new LocalCommandControl({
        greet: { argv: ['/bin/echo', 'hello', '{who}'], args: ['who'], timeoutMs: 5000 },
        fail: { argv: ['/bin/sh', '-c', 'echo broken >&2; exit 4'], args: [], timeoutMs: 5000 },
      }),
      hosts: new LocalHostControl({
        h1: { reboot: ['/bin/sh', '-c', `echo rebooting; touch ${marker}`], timeoutMs: 5000 },
        broken: { reboot: ['/bin/false'], timeoutMs: 5000 },
      }),
      notifications: new NotifierStepNotifier({
        notifier,
        runs: store.runs,
        incidents: store.incidents,
        timeline: store.timeline,
        externalUrl: 'https://swas.example/',
      }),
    };
  }, 30_000);

  afterAll(async () => {
    await notifier.drain(2000);
    await receiver.stop();
    await new Promise<void>((resolve) => web.close(() => resolve()));
    await store.close();
    await tmp.remove();
  });

  function ctx(timeoutMs: number, actor = 'run:test'): StepContext {
    return {
      lbs: { forPool: () => null },
      services: new LocalServiceControl({}),
      query: EmbeddedPromqlQuery.create({ reader: series }),
      audit: { record: (entry) => store.audit.append({ ...entry, at: Date.now() }).then(() => undefined) },
      now: Date.now,
      pollMs: 20,
      poolGuard: defaultPoolGuard(EmbeddedPromqlQuery.create({ reader: series })),
      ...extensions,
      actor,
      runbook: 'test',
      undo: false,
      memberBefore: null,
      signal: new AbortController().signal,
      deadline: Date.now() + timeoutMs,
    };
  }

  // Keeps writing `value` for `name` until stopped, as a scrape would.
  function feed(name: string, value: () => number): () => void {
    const timer = setInterval(() => series.append({ __name__: name }, Date.now(), value()), 10);
    series.append({ __name__: name }, Date.now(), value());
    return () => clearInterval(timer);
  }

  describe('verify', () => {
    it('succeeds when the condition holds for the whole `for`', async () => {
      const stop = feed('healthy_a', () => 1);
      const outcome = await STEP_HANDLERS.verify(ctx(5000), {
        expr: 'healthy_a == 1',
        for: 200,
        interval: 20,
      });
      stop();
      expect(outcome).toMatchObject({ ok: true, result: { expr: 'healthy_a == 1' } });
      expect(outcome.ok && outcome.message).toContain('held for 0.2 s');
    });

    it('fails on a regression after having held, with the last value seen, before its timeout', async () => {
      let value = 1;
      const stop = feed('healthy_b', () => value);
      setTimeout(() => (value = 0), 150);
      const outcome = await STEP_HANDLERS.verify(ctx(10_000), {
        expr: 'healthy_b == 1',
        for: 8000,
        interval: 20,
      });
      stop();
      expect(outcome.ok).toBe(false);
      if (outcome.ok) return;
      expect(outcome.error).toMatch(/`healthy_b == 1` broke after holding for .* of the required 8 s/);
      expect(outcome.error).toContain('empty vector');
    });

    it('where wait.until keeps waiting through a break, verify does not', async () => {
      let value = 1;
      const stop = feed('healthy_c', () => value);
      setTimeout(() => (value = 0), 100);
      setTimeout(() => (value = 1), 250);
      const waited = await STEP_HANDLERS['wait.until'](ctx(5000), { expr: 'healthy_c == 1', for: 400 });
      value = 1;
      setTimeout(() => (value = 0), 100);
      setTimeout(() => (value = 1), 250);
      const verified = await STEP_HANDLERS.verify(ctx(5000), {
        expr: 'healthy_c == 1',
        for: 400,
        interval: 20,
      });
      stop();
      expect(waited.ok).toBe(true);
      expect(verified.ok).toBe(false);
    });

    it('fails at the timeout when the condition never held, saying what it saw', async () => {
      const outcome = await STEP_HANDLERS.verify(ctx(200), {
        expr: 'never_there == 1',
        for: 100,
        interval: 20,
      });
      expect(outcome).toMatchObject({ ok: false });
      expect(!outcome.ok && outcome.error).toContain('never held before the step timeout');
    });
  });

  describe('http', () => {
    it('calls the URL, keeps a capped excerpt and only header names', async () => {
      process.env.SWAS_TEST_SECRET = 'hunter2';
      const outcome = await STEP_HANDLERS.http(ctx(5000), {
        method: 'POST',
        url: `${webUrl}/purge?status=202`,
        headers: { 'X-Plain': 'visible-but-not-kept' },
        headers_from_env: { Authorization: 'SWAS_TEST_SECRET' },
        body: 'member=web-1',
        expect_status: ['2xx'],
      });
      expect(outcome).toMatchObject({ ok: true, result: { status: 202 } });
      expect(seenHeaders.at(-1)).toMatchObject({
        authorization: 'hunter2',
        'x-plain': 'visible-but-not-kept',
      });
      const text = JSON.stringify(outcome);
      expect(text).not.toContain('hunter2');
      expect(text).not.toContain('visible-but-not-kept');
      expect(text).toContain('body=member=web-1');
      expect(outcome.ok && String(outcome.result.body).length).toBeLessThanOrEqual(2001);
      const audit = JSON.stringify(await store.audit.list({ limit: 1000 }));
      expect(audit).not.toContain('hunter2');
    });

    it('fails on an unexpected status, naming it and what was expected', async () => {
      const outcome = await STEP_HANDLERS.http(ctx(5000), {
        url: `${webUrl}/?status=503`,
        expect_status: [200, '300-399'],
      });
      expect(!outcome.ok && outcome.error).toMatch(/answered 503, expected 200, 300-399/);
    });

    it('checks body_contains', async () => {
      const outcome = await STEP_HANDLERS.http(ctx(5000), { url: `${webUrl}/`, body_contains: 'nope' });
      expect(!outcome.ok && outcome.error).toContain('does not contain "nope"');
    });

    it('refuses other schemes, bad URLs and a missing environment variable', async () => {
      expect(await STEP_HANDLERS.http(ctx(1000), { url: 'file:///etc/passwd' })).toMatchObject({
        ok: false,
        error: 'with.url must use http or https, not file',
      });
      expect(await STEP_HANDLERS.http(ctx(1000), { url: 'not a url' })).toMatchObject({ ok: false });
      const missing = await STEP_HANDLERS.http(ctx(1000), {
        url: `${webUrl}/`,
        headers_from_env: { Authorization: 'SWAS_TEST_UNSET_VARIABLE' },
      });
      expect(!missing.ok && missing.error).toContain('SWAS_TEST_UNSET_VARIABLE is not set');
    });

    it('reports a refused connection', async () => {
      const port = await freePort();
      const outcome = await STEP_HANDLERS.http(ctx(2000), { url: `http://127.0.0.1:${port}/` });
      expect(!outcome.ok && outcome.error).toContain('failed');
    });
  });

  describe('run', () => {
    it('runs an allow-listed command with a declared arg and keeps its output', async () => {
      const outcome = await STEP_HANDLERS.run(ctx(5000), { command: 'greet', args: { who: 'web-1' } });
      expect(outcome).toMatchObject({ ok: true, result: { exitCode: 0, output: 'hello web-1\n' } });
    });

    it('refuses unknown commands, undeclared args and unsafe values', async () => {
      expect(await STEP_HANDLERS.run(ctx(1000), { command: 'rm', args: {} })).toMatchObject({
        ok: false,
        error: 'command "rm" is not allow-listed; add commands.rm to swas.yaml',
      });
      const extra = await STEP_HANDLERS.run(ctx(1000), { command: 'greet', args: { who: 'a', x: 'b' } });
      expect(!extra.ok && extra.error).toContain('with.args.x is not a declared placeholder');
      const option = await STEP_HANDLERS.run(ctx(1000), { command: 'greet', args: { who: '--help' } });
      expect(!option.ok && option.error).toContain('may not start with -');
      const shell = await STEP_HANDLERS.run(ctx(1000), { command: 'greet', args: { who: 'a; rm -rf /' } });
      expect(!shell.ok && shell.error).toContain('with.args.who may use');
      const missing = await STEP_HANDLERS.run(ctx(1000), { command: 'greet', args: {} });
      expect(!missing.ok && missing.error).toBe('with.args.who is missing');
    });

    it('reports a failing command with its exit code and output', async () => {
      const outcome = await STEP_HANDLERS.run(ctx(5000), { command: 'fail', args: {} });
      expect(outcome).toMatchObject({ ok: false, result: { exitCode: 4, output: 'broken\n' } });
    });
  });

  describe('host.reboot', () => {
    it('reboots, sees the host go down, and succeeds when it is back', async () => {
      // The host "goes down" for 200 ms once its reboot command has run (it touches a marker file).
      let downAt: number | null = null;
      const stop = feed('host_up', () => {
        if (downAt === null && existsSync(marker)) downAt = Date.now();
        return downAt !== null && Date.now() - downAt < 200 ? 0 : 1;
      });
      const outcome = await STEP_HANDLERS['host.reboot'](ctx(10_000), { host: 'h1', up: 'host_up == 1' });
      stop();
      expect(outcome).toMatchObject({ ok: true, result: { sawDown: true } });
      expect(outcome.ok && String(outcome.result.output)).toContain('rebooting');
    });

    it('fails when the host never went down, or the command fails, or no host is declared', async () => {
      const stop = feed('host_never_down', () => 1);
      const stayed = await STEP_HANDLERS['host.reboot'](ctx(300), { host: 'h1', up: 'host_never_down == 1' });
      stop();
      expect(!stayed.ok && stayed.error).toContain('never went down');
      const broken = await STEP_HANDLERS['host.reboot'](ctx(1000), { host: 'broken', up: 'up == 1' });
      expect(!broken.ok && broken.error).toContain('reboot of broken failed');
      const unknown = await STEP_HANDLERS['host.reboot'](ctx(1000), { host: 'nope', up: 'up == 1' });
      expect(!unknown.ok && unknown.error).toContain('add hosts.nope.reboot to swas.yaml');
    });
  });

  describe('notify and page', () => {
    it('send through the channels with the run incident, low and high urgency; page can stop the run', async () => {
      const incident = await store.incidents.open(
        { key: 'k1', title: 'web-1 down', severity: 'critical', labels: {} },
        Date.now(),
      );
      const { run } = await store.runs.create(
        { runbook: 'test', incidentId: incident.id, target: {}, trigger: {}, createdAt: Date.now() },
        [{ name: 'notify', action: 'notify', params: {} }],
      );
      const told = await STEP_HANDLERS.notify(ctx(5000, `run:${run.id}`), { message: 'draining web-1' });
      expect(told.ok).toBe(true);
      const paged = await STEP_HANDLERS.page(ctx(5000, `run:${run.id}`), {
        message: 'restart failed',
        then: 'stop',
      });
      expect(paged).toMatchObject({ ok: false, result: { then: 'stop' } });
      expect(!paged.ok && paged.error).toContain('stopped the run');
      await eventually('both delivered', () => receiver.received.length >= 2);
      expect(receiver.received.map((r) => [r.urgency, r.incident.id])).toEqual([
        ['low', incident.id],
        ['high', incident.id],
      ]);
      expect(receiver.received[1]?.reason).toContain('restart failed');
    });

    it('fails clearly when the run has no incident or the port is not wired', async () => {
      const { run } = await store.runs.create(
        { runbook: 'test', incidentId: null, target: {}, trigger: {}, createdAt: Date.now() },
        [{ name: 'notify', action: 'notify', params: {} }],
      );
      const orphan = await STEP_HANDLERS.notify(ctx(1000, `run:${run.id}`), { message: 'x' });
      expect(!orphan.ok && orphan.error).toContain('belongs to no incident');
      const bare = { ...ctx(1000), notifications: undefined };
      const unwired = await STEP_HANDLERS.page(bare, { message: 'x' });
      expect(!unwired.ok && unwired.error).toContain('no notification channels configured');
    });
  });
});
