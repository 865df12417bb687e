import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../src/config/index.js';
import { formatSeries, isStaleNaN } from '../src/core/index.js';
import { ScrapeManager, type ScrapeTarget } from '../src/ingest/index.js';
import { startServiceDiscovery, type ServiceDiscovery } from '../src/server/fromConfig.js';
import { MemorySeriesStore } from '../src/tsdb/index.js';
import { makeTempDir } from './support/tmp.js';

// Real exporters on loopback, a real swas.yaml with relabelling and file SD, the real scrape manager and
// the in-memory metrics store: what Prometheus users write in relabel_configs does what they expect.

const exporterBody = `# TYPE http_requests_total counter
http_requests_total{code="200",path="/a"} 10
http_requests_total{code="500",path="/a"} 1
# TYPE go_goroutines gauge
go_goroutines 12
process_info{token="s3cret",version="1.2"} 1
`;

/** An exporter: /metrics serves a fixed body; /probe answers like the blackbox exporter. */
async function startExporter(): Promise<{ server: Server; address: string; requests: string[] }> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(req.url ?? '');
    const url = new URL(req.url ?? '/', 'http://x');
    res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' });
    if (url.pathname === '/probe') {
      const module = url.searchParams.get('module') ?? '';
      const target = url.searchParams.get('target') ?? '';
      res.end(`probe_success{module="${module}",probed="${target}"} 1\n`);
    } else res.end(exporterBody);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, address: `127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

/** Retries `check` until it passes or 5 s have gone by. */
const eventually = (check: () => void): Promise<void> => vi.waitFor(check, { timeout: 5000, interval: 25 });

describe('relabelling and file service discovery through the scrape path', () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  const exporters: Awaited<ReturnType<typeof startExporter>>[] = [];
  const store = new MemorySeriesStore();
  const manager = ScrapeManager.create({ appender: store });
  const warnings: { obj: object; msg: string }[] = [];
  let discovery: ServiceDiscovery | null = null;
  let targets: ScrapeTarget[] = [];
  let sdFile = '';

  const series = (name: string) =>
    store
      .select([{ name: '__name__', type: '=', value: name }], 0, Number.MAX_SAFE_INTEGER)
      .filter((s) => !isStaleNaN(s.v[s.v.length - 1] ?? 0))
      .map((s) => formatSeries(s.labels))
      .sort();
  const writeSd = async (text: string) => {
    await writeFile(`${sdFile}.tmp`, text);
    await rename(`${sdFile}.tmp`, sdFile);
  };
  const scrapeAll = async () => {
    for (const target of targets) await manager.scrapeOnce(target);
  };

  beforeAll(async () => {
    tmp = await makeTempDir('relabel');
    for (let i = 0; i < 3; i++) exporters.push(await startExporter());
    const [a, b] = exporters.map((e) => e.address);
    await mkdir(join(tmp.dir, 'sd'));
    sdFile = join(tmp.dir, 'sd', 'web.json');
    await writeFile(sdFile, JSON.stringify([{ targets: [b], labels: { __meta_role: 'backend' } }]));
    await writeFile(
      join(tmp.dir, 'swas.yaml'),
      `scrape_configs:
  - job_name: web
    scrape_interval: 1s
    static_configs:
      - targets: ['${a}', '10.255.255.1:9100']
        labels: { __meta_role: frontend }
    file_sd_configs:
      - files: [sd/*.json]
    relabel_configs:
      - source_labels: [__address__]
        regex: '10\\.255\\..*'
        action: drop
      - source_labels: [__meta_role]
        target_label: role
      - source_labels: [__meta_filepath]
        regex: '.*/(.*)\\.json'
        target_label: sd_file
    metric_relabel_configs:
      - source_labels: [__name__]
        regex: 'go_.*|up|scrape_.*'
        action: drop
      - regex: token
        action: labeldrop
      - source_labels: [code]
        regex: '5..'
        target_label: class
        replacement: error
  - job_name: blackbox
    scrape_interval: 1s
    metrics_path: /probe
    params: { module: [http_2xx] }
    static_configs:
      - targets: ['https://example.org']
    relabel_configs:
      - source_labels: [__address__]
        target_label: __param_target
      - source_labels: [__param_target]
        target_label: instance
      - target_label: __address__
        replacement: '${a}'
`,
    );
    const loaded = await loadConfig(join(tmp.dir, 'swas.yaml'), { env: {} });
    discovery = await startServiceDiscovery(
      loaded,
      (next) => {
        manager.setTargets(next);
        targets = next;
      },
      { warn: (obj, msg) => warnings.push({ obj, msg }) },
    );
  });

  afterAll(async () => {
    discovery?.stop();
    await manager.stop();
    for (const e of exporters) await new Promise((r) => e.server.close(r));
    await tmp.remove();
  });

  it('builds targets from static and file groups, dropping the one relabelling drops', () => {
    const [a, b] = exporters.map((e) => e.address);
    expect(targets.map((t) => [t.url, t.labels])).toEqual([
      [`http://${a}/metrics`, { role: 'frontend', job: 'web', instance: a }],
      [`http://${b}/metrics`, { role: 'backend', sd_file: 'web', job: 'web', instance: b }],
      [
        `http://${a}/probe?module=http_2xx&target=https%3A%2F%2Fexample.org`,
        { job: 'blackbox', instance: 'https://example.org' },
      ],
    ]);
    expect(warnings).toEqual([]);
  });

  it('applies metric_relabel_configs before storing, leaving up and scrape_* alone', async () => {
    await scrapeAll();
    const [a = '', b = ''] = exporters.map((e) => e.address);
    expect(series('go_goroutines')).toEqual([]);
    expect(series('process_info')).toEqual(
      [
        `process_info{instance="${a}", job="web", role="frontend", version="1.2"}`,
        `process_info{instance="${b}", job="web", role="backend", sd_file="web", version="1.2"}`,
      ].sort(),
    );
    expect(series('http_requests_total').filter((s) => s.includes(a))).toEqual([
      `http_requests_total{class="error", code="500", instance="${a}", job="web", path="/a", role="frontend"}`,
      `http_requests_total{code="200", instance="${a}", job="web", path="/a", role="frontend"}`,
    ]);
    expect(series('up')).toHaveLength(3);
    expect(series('scrape_samples_scraped')).toHaveLength(3);
    expect(manager.status().every((s) => s.health === 'up')).toBe(true);
  });

  it('scrapes a blackbox-style target through __param_* and __metrics_path__', () => {
    expect(series('probe_success')).toEqual([
      'probe_success{instance="https://example.org", job="blackbox", module="http_2xx", probed="https://example.org"}',
    ]);
    expect(exporters[2]?.requests).toEqual([]);
  });

  it('follows changes to the SD file, and keeps the last targets when the file breaks', async () => {
    const [, b, c] = exporters.map((e) => e.address);
    await writeSd(JSON.stringify([{ targets: [b, c], labels: { __meta_role: 'backend' } }]));
    await eventually(() => expect(targets.map((t) => t.labels.instance)).toContain(c));
    await scrapeAll();
    expect(series('process_info').filter((s) => s.includes(`instance="${c}"`))).toHaveLength(1);
    const before = targets;

    await writeSd('[{"targets": ["oops"');
    await eventually(() => expect(warnings.length).toBeGreaterThan(0));
    expect(warnings[0]?.msg).toBe('file service discovery cannot read a file; its last targets stay');
    expect(JSON.stringify(warnings[0]?.obj)).toMatch(/web\.json:1:\d+: /);
    expect(targets).toBe(before);

    await writeSd(JSON.stringify([]));
    await eventually(() => expect(targets.map((t) => t.labels.instance)).not.toContain(b));
    await eventually(() =>
      expect(series('process_info').some((s) => s.includes(`instance="${b}"`))).toBe(false),
    );
  });
});

describe('label limits from swas.yaml', () => {
  it('fails the scrape of a target whose series break a configured limit, and only that one', async () => {
    const tmp = await makeTempDir('label-limits');
    const exporter = await startExporter();
    const store = new MemorySeriesStore();
    const manager = ScrapeManager.create({ appender: store });
    await writeFile(
      join(tmp.dir, 'swas.yaml'),
      `scrape_configs:
  - job_name: strict
    label_limit: 3
    static_configs:
      - targets: ['${exporter.address}']
  - job_name: relaxed
    static_configs:
      - targets: ['${exporter.address}']
`,
    );
    let targets: ScrapeTarget[] = [];
    const loaded = await loadConfig(join(tmp.dir, 'swas.yaml'), { env: {} });
    const discovery = await startServiceDiscovery(loaded, (next) => (targets = next), { warn: () => {} });
    try {
      for (const target of targets) await manager.scrapeOnce(target);
      const byJob = new Map(manager.status().map((s) => [s.labels.job, s]));
      // http_requests_total{code,path} with job and instance has 4 labels; the strict job allows 3.
      expect(byJob.get('strict')).toMatchObject({ health: 'down' });
      expect(byJob.get('strict')?.lastError).toMatch(/label_limit|label limit/);
      expect(byJob.get('strict')?.lastError).toContain('http_requests_total');
      expect(byJob.get('relaxed')).toMatchObject({ health: 'up', lastError: null });
    } finally {
      discovery.stop();
      await manager.stop();
      await new Promise((r) => exporter.server.close(r));
      await tmp.remove();
    }
  });
});
