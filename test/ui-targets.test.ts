import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import { freePort } from './support/ports.js';
import { eventually, startTestServer, type TestServer } from './support/swasServer.js';
import { makeTempDir } from './support/tmp.js';

// Issue 3: a malformed exposition line fails that target's scrape with a message naming the line, and the
// page shows it per target, as text (the message quotes the body, which whoever runs the target controls).

const GOOD_BODY = '# TYPE http_requests_total counter\nhttp_requests_total{code="200"} 7\n';
const BAD_BODY =
  '# TYPE http_requests_total counter\nhttp_requests_total{code="200"} 7\n' +
  'http_requests_total{code="500"} <script>document.title="pwned"</script>\n';
const BAD_ERROR =
  'line 3, column 33: invalid value \'<script>document.title="pwned"</script>\' for "http_requests_total"';

async function startExporter(body: string): Promise<{ server: Server; address: string }> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, address: `127.0.0.1:${(server.address() as AddressInfo).port}` };
}

interface ApiTarget {
  scrapePool: string;
  scrapeUrl: string;
  health: string;
  lastError: string;
}

describe('the page shows scrape targets and their errors', () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let swas: TestServer;
  let token: string;
  let browser: Browser | undefined;
  const exporters: Server[] = [];
  let good = '';
  let bad = '';
  let closed = '';

  beforeAll(async () => {
    tmp = await makeTempDir('ui-targets');
    const goodExporter = await startExporter(GOOD_BODY);
    const badExporter = await startExporter(BAD_BODY);
    exporters.push(goodExporter.server, badExporter.server);
    good = goodExporter.address;
    bad = badExporter.address;
    closed = `127.0.0.1:${await freePort()}`;
    swas = await startTestServer(
      tmp.dir,
      `scrape_configs:
  - job_name: web
    scrape_interval: 1s
    scrape_timeout: 500ms
    static_configs:
      - targets: ['${good}', '${bad}']
  - job_name: batch
    scrape_interval: 1s
    scrape_timeout: 500ms
    static_configs:
      - targets: ['${closed}']
`,
    );
    token = await swas.token('viewer');
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await swas?.stop();
    for (const server of exporters) await new Promise((resolve) => server.close(resolve));
    await tmp?.remove();
  }, 60_000);

  it('reports the malformed line in the targets API', async () => {
    const targets = await eventually('all three targets to be scraped', async () => {
      const { body } = await swas.get('/api/v1/targets', token);
      const active = (body as { data: { activeTargets: ApiTarget[] } }).data.activeTargets;
      return active.length === 3 && active.every((t) => t.health !== 'unknown') ? active : null;
    });
    const byUrl = new Map(targets.map((t) => [t.scrapeUrl, t]));
    expect(byUrl.get(`http://${good}/metrics`)).toMatchObject({
      scrapePool: 'web',
      health: 'up',
      lastError: '',
    });
    expect(byUrl.get(`http://${bad}/metrics`)).toMatchObject({ scrapePool: 'web', health: 'down' });
    expect(byUrl.get(`http://${bad}/metrics`)?.lastError).toContain(BAD_ERROR);
    expect(byUrl.get(`http://${closed}/metrics`)).toMatchObject({ scrapePool: 'batch', health: 'down' });
  });

  it('shows each job, target, health, last scrape and the error text, escaped', async () => {
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
    await page.goto(`${swas.url}/#token=${token}`);
    const badRow = page.locator(`table[data-job="web"] tr[data-url="http://${bad}/metrics"]`);
    await badRow.locator('td.error').waitFor({ timeout: 15_000 });

    const badCells = await badRow.locator('td').allInnerTexts();
    expect(badCells[0]).toBe(`http://${bad}/metrics`);
    expect(badCells[1]).toBe('down');
    expect(badCells[2]).not.toBe('never');
    expect(badCells[3]).toMatch(/^\d+ ms$/);
    // The message is shown as the text it is: its <script> is characters on the page, not an element.
    expect(badCells[4]).toContain(BAD_ERROR);
    expect(await page.locator('#targets script').count()).toBe(0);
    expect(await page.title()).not.toBe('pwned');

    const goodRow = page.locator(`table[data-job="web"] tr[data-url="http://${good}/metrics"]`);
    expect(await goodRow.getAttribute('data-health')).toBe('up');
    expect((await goodRow.locator('td').allInnerTexts())[4]).toBe('—');

    const closedRow = page.locator(`table[data-job="batch"] tr[data-url="http://${closed}/metrics"]`);
    await closedRow.locator('td.error').waitFor({ timeout: 15_000 });
    expect(await closedRow.getAttribute('data-health')).toBe('down');
    expect(await page.locator('#targets-summary').innerText()).toBe('1 of 3 up');
    await page.screenshot({
      path: process.env.SWAS_SCREENSHOT ?? `${tmp.dir}/targets.png`,
      fullPage: true,
    });
  }, 60_000);
});
