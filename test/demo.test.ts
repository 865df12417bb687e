import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import { startDemo, type Demo } from '../examples/demo/demo.js';
import { sendFault } from '../examples/demo/fault.js';
import { readPoolStats } from '../examples/demo/fleet.js';
import { startLoad, type Load } from '../examples/demo/loadgen.js';
import { freePort } from './support/ports.js';
import { eventually } from './support/swasServer.js';
import { makeTempDir } from './support/tmp.js';

interface IncidentDetail {
  incident: { id: number; status: string; title: string };
  timeline: { kind: string; message: string }[];
  runs: {
    run: { status: string; runbook: string };
    steps: { action: string; status: string; result: { throttle?: number[]; message?: string } | null }[];
  }[];
}

async function api<T>(demo: Demo, path: string): Promise<T> {
  const response = await fetch(`${demo.swasUrl}${path}`, {
    headers: { authorization: `Bearer ${demo.token}` },
  });
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return (await response.json()) as T;
}

async function requestsServed(url: string): Promise<number> {
  const text = await (await fetch(url)).text();
  return text
    .split('\n')
    .filter((line) => line.startsWith('http_requests_total{'))
    .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
}

// The README's demo, end to end: a member of a real HAProxy pool under load crashes; swas must detect it,
// drain it, restart it, wait for it, re-add it with slow start, resolve the incident and notify.
describe('demo: crash a member under load', () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let demo: Demo;
  let load: Load;
  let browser: Browser | undefined;
  const statesSeen = new Set<string>();
  let sampler: NodeJS.Timeout | undefined;

  beforeAll(async () => {
    tmp = await makeTempDir('demo');
    demo = await startDemo({ dir: tmp.dir, swasPort: await freePort(), slowstartSeconds: 4 });
    load = startLoad({ url: demo.fleet.frontendUrl, ratePerSecond: 40, durationMs: 120_000 });
    sampler = setInterval(() => {
      void readPoolStats(demo.fleet.haproxySocket).then(
        (stats) =>
          stats
            .filter((s) => s.name === 'web-2')
            .forEach((s) => statesSeen.add(s.status.split(' ')[0] ?? s.status)),
        () => undefined,
      );
    }, 100);
  }, 90_000);

  afterAll(async () => {
    clearInterval(sampler);
    await browser?.close();
    const stats = await load?.stop();
    // Recorded, not asserted: how many client requests failed while swas repaired the pool.
    if (stats)
      process.stdout.write(
        `demo scenario load: ${stats.sent} requests, ${stats.failed} failed, errors ${JSON.stringify(stats.errors)}\n`,
      );
    await demo?.stop();
    await tmp?.remove();
  }, 60_000);

  it('detects, drains, restarts, re-adds with slow start, resolves and notifies', async () => {
    const web2 = demo.fleet.members.find((m) => m.name === 'web-2');
    if (web2 === undefined) throw new Error('the fleet has no web-2');
    const oldPid = (await fetch(`http://127.0.0.1:${web2.port}/healthz`)).headers.get('x-demo-pid');
    await eventually('swas to scrape all members', async () => {
      const { data } = await api<{ data: { activeTargets: { health: string }[] } }>(demo, '/api/v1/targets');
      return data.activeTargets.length === 3 && data.activeTargets.every((t) => t.health === 'up');
    });

    expect(await sendFault(tmp.dir, 'crash', 'web-2')).toMatchObject({ ok: true });

    const resolved = await eventually(
      'the incident to resolve',
      async () => {
        const { incidents } = await api<{ incidents: { id: number; status: string }[] }>(
          demo,
          '/api/v1/incidents',
        );
        const incident = incidents.find((i) => i.status === 'resolved');
        return incident ? api<IncidentDetail>(demo, `/api/v1/incidents/${incident.id}`) : null;
      },
      90_000,
    );

    expect(resolved.incident.title).toContain('web-2');
    const kinds = resolved.timeline.map((t) => t.kind);
    for (const kind of [
      'incident.opened',
      'alert.firing',
      'run.started',
      'run.succeeded',
      'alert.resolved',
      'incident.resolved',
    ])
      expect(kinds).toContain(kind);
    const run = resolved.runs[0];
    expect(run?.run).toMatchObject({ runbook: 'restart-member', status: 'succeeded' });
    expect(run?.steps.map((s) => [s.action, s.status])).toEqual([
      ['lb.drain', 'succeeded'],
      ['service.restart', 'succeeded'],
      ['wait.until', 'succeeded'],
      ['lb.ready', 'succeeded'],
    ]);
    // HAProxy ramped the member back: it reported a slow-start throttle below 100% after the re-add.
    expect(run?.steps[3]?.result?.throttle?.length ?? 0).toBeGreaterThan(0);
    expect(statesSeen.has('DRAIN') || statesSeen.has('MAINT')).toBe(true);

    // The process came back (a new pid) and HAProxy sends it traffic again.
    const newPid = (await fetch(`http://127.0.0.1:${web2.port}/healthz`)).headers.get('x-demo-pid');
    expect(newPid).not.toBe(oldPid);
    const stats = await readPoolStats(demo.fleet.haproxySocket);
    expect(stats.find((s) => s.name === 'web-2')?.status).toBe('UP');
    const before = await requestsServed(web2.metricsUrl);
    await eventually(
      'web-2 to serve traffic again',
      async () => (await requestsServed(web2.metricsUrl)) > before + 5,
    );

    const events = demo.notifications
      .filter((n) => n.incident.id === resolved.incident.id)
      .map((n) => n.event);
    await eventually('the resolve notification', () =>
      demo.notifications.some((n) => n.event === 'incident.resolved'),
    );
    expect(events[0]).toBe('incident.opened');
    expect(demo.notifications.find((n) => n.event === 'incident.opened')?.urgency).toBe('low');
  }, 150_000);

  it('shows the incident, its timeline and its run steps on the page', async () => {
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
    const page = await browser.newPage();
    await page.goto(`${demo.swasUrl}/#token=${demo.token}`);
    await page.locator('#incidents tbody tr').first().waitFor({ timeout: 10_000 });
    await page.locator('#incidents tbody tr').first().click();
    await page.locator('#timeline li[data-kind="incident.resolved"]').waitFor({ timeout: 10_000 });
    const timeline = await page.locator('#timeline').innerText();
    expect(timeline).toMatch(/alert\.firing/);
    expect(timeline).toMatch(/lb\.drain web\/web-2/);
    expect(timeline).toMatch(/service\.restart web-2/);
    expect(timeline).toMatch(/slow start/);
    expect(await page.locator('#runs .run').first().innerText()).toContain('restart-member');
    expect(await page.locator('table[data-pool="web"] tbody tr').count()).toBe(3);
    expect(page.url()).not.toContain('token=');
    await page.screenshot({ path: process.env.SWAS_SCREENSHOT ?? `${tmp.dir}/page.png`, fullPage: true });
  }, 60_000);
});
