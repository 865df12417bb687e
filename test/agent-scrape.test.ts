import { writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Agent, AgentScraper, type AgentLogger, type WireSample } from '../src/agent/index.js';
import { loadAgentConfig } from '../src/config/index.js';
import { FakeAgentServer } from './support/fakeAgentServer.js';
import { makeTempDir } from './support/tmp.js';

interface LogEntry {
  level: string;
  fields: Record<string, unknown>;
  message: string;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A real local /metrics endpoint whose body (and delay) the test changes between scrapes. */
async function metricsServer(): Promise<{
  url: string;
  set: (body: string, contentType?: string) => void;
  delayMs: (ms: number) => void;
  hits: () => number;
}> {
  let body = '';
  let type = 'text/plain; version=0.0.4';
  let delay = 0;
  let hits = 0;
  const server: Server = createServer((req, res) => {
    hits++;
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    setTimeout(() => {
      if (!res.destroyed) res.writeHead(200, { 'content-type': type }).end(body);
    }, delay);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/metrics`,
    set: (text, contentType) => {
      body = text;
      if (contentType !== undefined) type = contentType;
    },
    delayMs: (ms) => {
      delay = ms;
    },
    hits: () => hits,
  };
}

async function until<T>(what: string, probe: () => T | null | undefined | false, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Loads agent.yaml for real and starts an agent against the fake server, collectors mostly off. */
async function startAgent(server: FakeAgentServer, scrapeYaml: string) {
  const temp = await makeTempDir('agent-scrape');
  cleanups.push(temp.remove);
  const file = join(temp.dir, 'agent.yaml');
  await writeFile(
    file,
    `server: ${server.url}\nstate_dir: state\nenrollment_token: tok-1\nname: web-1\n` +
      'labels: { env: test, instance: web-1 }\n' +
      'collectors: { disable: [cpu, memory, load, filesystem, network] }\n' +
      scrapeYaml,
  );
  const config = await loadAgentConfig(file);
  const entries: LogEntry[] = [];
  const at = (level: string) => (fields: object, message: string) => {
    entries.push({ level, fields: fields as Record<string, unknown>, message });
  };
  const logger: AgentLogger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
  const agent = await Agent.start({
    config,
    logger,
    version: 'test',
    backoff: { initialMs: 50, maxMs: 400 },
  });
  cleanups.push(() => agent.stop());
  return { agent, entries, config };
}

async function fakeServer(): Promise<FakeAgentServer> {
  const server = await FakeAgentServer.start(['tok-1']);
  cleanups.push(() => server.close());
  return server;
}

function received(server: FakeAgentServer): WireSample[] {
  return server.batches.flatMap((b) => b.samples);
}

function samplesOf(server: FakeAgentServer, name: string, job: string): WireSample[] {
  return received(server).filter((s) => s.name === name && s.labels['job'] === job);
}

const GOOD = [
  '# HELP http_requests_total Requests.',
  '# TYPE http_requests_total counter',
  'http_requests_total{code="200",job="inner"} 42',
  'http_requests_total{code="500"} 3',
  'temperature_celsius 21.5 1700000000000',
  'weird_value +Inf',
  '',
].join('\n');

describe('agent local /metrics scraping', () => {
  it('forwards scraped samples with job, the agent labels, up and scrape_duration_seconds', async () => {
    const server = await fakeServer();
    const app = await metricsServer();
    app.set(GOOD);
    const { config } = await startAgent(
      server,
      `scrape:\n  - { name: app, url: "${app.url}", interval: 1s }\n`,
    );
    expect(config.scrape).toEqual([{ name: 'app', url: app.url, interval: 1000 }]);

    await until('an up sample for job app', () => samplesOf(server, 'up', 'app').length > 0);
    const up = samplesOf(server, 'up', 'app')[0];
    expect(up).toMatchObject({ v: 1, labels: { job: 'app', env: 'test', instance: 'web-1' } });
    const requests = samplesOf(server, 'http_requests_total', 'app');
    // The scraped job clashes with the target's and is kept as exported_job, as in Prometheus.
    expect(requests).toContainEqual({
      name: 'http_requests_total',
      labels: { env: 'test', instance: 'web-1', job: 'app', code: '200', exported_job: 'inner' },
      t: up?.t,
      v: 42,
    });
    expect(requests.find((s) => s.labels['code'] === '500')?.v).toBe(3);
    // The exposition's own timestamp is kept; infinities travel as text.
    expect(samplesOf(server, 'temperature_celsius', 'app')[0]?.t).toBe(1_700_000_000_000);
    expect(samplesOf(server, 'weird_value', 'app')[0]?.v).toBe('+Inf');
    const duration = samplesOf(server, 'scrape_duration_seconds', 'app')[0];
    expect(duration?.v).toBeGreaterThan(0);
    expect(duration?.v).toBeLessThan(1);
    expect(samplesOf(server, 'scrape_samples_scraped', 'app')[0]?.v).toBe(4);
    expect(server.invalidFrames).toEqual([]);

    // It keeps scraping on its interval.
    const hitsBefore = app.hits();
    await until('two more scrapes', () => app.hits() >= hitsBefore + 2, 5000);
  });

  it('marks a target with a bad body down and logs the line and column', async () => {
    const server = await fakeServer();
    const app = await metricsServer();
    app.set('ok_metric 1\nbroken{code="200" 5\n');
    const { entries } = await startAgent(
      server,
      `scrape:\n  - { name: app, url: "${app.url}", interval: 1s }\n`,
    );

    await until('up 0 for job app', () => samplesOf(server, 'up', 'app').find((s) => s.v === 0));
    expect(samplesOf(server, 'ok_metric', 'app')).toEqual([]);
    const logged = entries.find((e) => e.level === 'error' && e.message === 'scrape of app failed');
    expect(String(logged?.fields['error'])).toMatch(
      /^http:\/\/127\.0\.0\.1:\d+\/metrics: line 2, column \d+: /,
    );

    // Fixing the body brings the target back up.
    app.set('ok_metric 1\n');
    await until('up 1 after the fix', () => samplesOf(server, 'up', 'app').find((s) => s.v === 1));
    expect(samplesOf(server, 'ok_metric', 'app')[0]?.v).toBe(1);
  });

  it('marks a slow target down after its timeout and an unreachable one down at once', async () => {
    const server = await fakeServer();
    const slow = await metricsServer();
    slow.set('slow_metric 1\n');
    slow.delayMs(3000);
    const { entries } = await startAgent(
      server,
      'scrape:\n' +
        `  - { name: slow, url: "${slow.url}", interval: 2s, timeout: 300ms }\n` +
        '  - { name: gone, url: "http://127.0.0.1:1/metrics", interval: 1s }\n',
    );
    const slowUp = await until('up for slow', () => samplesOf(server, 'up', 'slow')[0]);
    expect(slowUp.v).toBe(0);
    const slowDuration = samplesOf(server, 'scrape_duration_seconds', 'slow')[0]?.v as number;
    expect(slowDuration).toBeGreaterThanOrEqual(0.29);
    expect(slowDuration).toBeLessThan(2);
    expect(samplesOf(server, 'slow_metric', 'slow')).toEqual([]);
    const goneUp = await until('up for gone', () => samplesOf(server, 'up', 'gone')[0]);
    expect(goneUp.v).toBe(0);
    const messages = entries.filter((e) => e.level === 'error').map((e) => String(e.fields['error']));
    expect(messages).toContainEqual(expect.stringMatching(/no answer within the 300 ms timeout/));
    expect(messages).toContainEqual(expect.stringMatching(/cannot fetch http:\/\/127\.0\.0\.1:1\/metrics/));
  });

  it('reads OpenMetrics bodies and drops samples the wire cannot carry', async () => {
    const server = await fakeServer();
    const app = await metricsServer();
    const long = 'x'.repeat(5000);
    app.set(
      `# TYPE jobs_total counter\njobs_total 7 1700000000.5\nbig_label{v="${long}"} 1\n# EOF\n`,
      'application/openmetrics-text; version=1.0.0; charset=utf-8',
    );
    const { entries } = await startAgent(
      server,
      `scrape:\n  - { name: om, url: "${app.url}", interval: 1s }\n`,
    );
    await until('up for om', () => samplesOf(server, 'up', 'om')[0]);
    expect(samplesOf(server, 'up', 'om')[0]?.v).toBe(1);
    expect(samplesOf(server, 'jobs_total', 'om')[0]).toMatchObject({ v: 7, t: 1_700_000_000_500 });
    expect(samplesOf(server, 'big_label', 'om')).toEqual([]);
    expect(entries.some((e) => e.level === 'warn' && e.fields['dropped'] === 1)).toBe(true);
    expect(server.invalidFrames).toEqual([]);
  });
  it('replaces its targets on reconfigure and stops cleanly', async () => {
    const first = await metricsServer();
    const second = await metricsServer();
    first.set('a 1\n');
    second.set('b 2\n');
    const appended: WireSample[] = [];
    const quiet = () => undefined;
    const scraper = AgentScraper.start({
      targets: [{ name: 'first', url: first.url, interval: 1000 }],
      defaultIntervalMs: 1000,
      labels: { env: 'test' },
      logger: { debug: quiet, info: quiet, warn: quiet, error: quiet },
      append: (samples) => appended.push(...samples),
    });
    cleanups.push(() => scraper.stop());
    await until('a scrape of first', () => appended.some((s) => s.name === 'a'));
    scraper.reconfigure([{ name: 'second', url: second.url, interval: 1000 }]);
    expect(scraper.currentTargets.map((t) => t.name)).toEqual(['second']);
    await until('a scrape of second', () => appended.some((s) => s.name === 'b'));
    const firstHits = first.hits();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(first.hits()).toBe(firstHits);
    expect(appended.find((s) => s.name === 'b')?.labels).toEqual({ env: 'test', job: 'second' });
    await scraper.stop();
    const secondHits = second.hits();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(second.hits()).toBe(secondHits);
  });
});
