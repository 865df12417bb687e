import { appendFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeTempDir } from '../../../test/support/tmp.js';
import { cpuCollector, parseProcStat } from './cpu.js';
import { fillRate, filesystemCollector, parseMounts } from './filesystem.js';
import { hostCollectors } from './hostCollectors.js';
import { loadCollector } from './load.js';
import { memoryCollector, parseMeminfo } from './memory.js';
import { networkCollector } from './network.js';
import type { CollectedSample } from './types.js';

/** The value of the one sample with this name whose labels include `labels`. */
function valueOf(samples: CollectedSample[], name: string, labels: Record<string, string> = {}): number {
  const found = samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  if (found.length !== 1)
    throw new Error(`expected one ${name}${JSON.stringify(labels)}, found ${found.length}`);
  return found[0]!.value;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

describe('cpu', () => {
  it('reports seconds per cpu and mode that grow between collections', async () => {
    const collector = cpuCollector();
    const first = await collector.collect(Date.now());
    const cpus = new Set(first.filter((s) => s.name === 'node_cpu_seconds_total').map((s) => s.labels.cpu));
    expect(cpus.size).toBeGreaterThanOrEqual(1);
    const modes = first
      .filter((s) => s.name === 'node_cpu_seconds_total' && s.labels.cpu === '0')
      .map((s) => s.labels.mode);
    expect(modes).toEqual(['user', 'nice', 'system', 'idle', 'iowait', 'irq', 'softirq', 'steal']);
    const total = (samples: CollectedSample[]) =>
      samples.filter((s) => s.name === 'node_cpu_seconds_total').reduce((sum, s) => sum + s.value, 0);
    const spinUntil = Date.now() + 150;
    while (Date.now() < spinUntil); // burn CPU so the counters must move
    const second = await collector.collect(Date.now());
    expect(total(second)).toBeGreaterThan(total(first));
    const bootTime = valueOf(second, 'node_boot_time_seconds');
    expect(bootTime).toBeGreaterThan(1e9);
    expect(bootTime).toBeLessThan(Date.now() / 1000);
    expect(valueOf(second, 'node_context_switches_total')).toBeGreaterThan(0);
  });

  it('divides ticks by USER_HZ and skips the aggregate line', () => {
    const samples = parseProcStat(
      'cpu  10 0 0 0 0 0 0 0 0 0\ncpu3 250 1 2 3 4 5 6 7 8 9\nbtime 1700000000\n',
    );
    expect(valueOf(samples, 'node_cpu_seconds_total', { cpu: '3', mode: 'user' })).toBe(2.5);
    expect(valueOf(samples, 'node_cpu_seconds_total', { cpu: '3', mode: 'steal' })).toBe(0.07);
    expect(valueOf(samples, 'node_cpu_guest_seconds_total', { cpu: '3', mode: 'nice' })).toBe(0.09);
    expect(samples.filter((s) => s.labels.cpu === '')).toEqual([]);
    expect(valueOf(samples, 'node_boot_time_seconds')).toBe(1700000000);
  });
});

describe('memory and load', () => {
  it('reads MemTotal > MemAvailable > 0 in bytes', async () => {
    const samples = await memoryCollector().collect(Date.now());
    const total = valueOf(samples, 'node_memory_MemTotal_bytes');
    const available = valueOf(samples, 'node_memory_MemAvailable_bytes');
    expect(total).toBeGreaterThan(available);
    expect(available).toBeGreaterThan(0);
    expect(total % 1024).toBe(0);
  });

  it('names meminfo fields like node_exporter', () => {
    const samples = parseMeminfo('Active(anon):     100 kB\nHugePages_Total:       4\n');
    expect(samples).toEqual([
      { name: 'node_memory_Active_anon_bytes', labels: {}, value: 102400 },
      { name: 'node_memory_HugePages_Total', labels: {}, value: 4 },
    ]);
  });

  it('reads the three load averages', async () => {
    const samples = await loadCollector().collect(Date.now());
    expect(samples.map((s) => s.name)).toEqual(['node_load1', 'node_load5', 'node_load15']);
    for (const s of samples) expect(s.value).toBeGreaterThanOrEqual(0);
  });
});

describe('network', () => {
  it('skips lo unless asked and reports counters per device', async () => {
    const without = await networkCollector().collect(Date.now());
    expect(without.some((s) => s.labels.device === 'lo')).toBe(false);
    const withLo = await networkCollector({ include_loopback: true }).collect(Date.now());
    const lo = valueOf(withLo, 'node_network_receive_bytes_total', { device: 'lo' });
    expect(lo).toBeGreaterThan(0);
    expect(valueOf(withLo, 'node_network_transmit_bytes_total', { device: 'lo' })).toBeGreaterThan(0);
    expect(valueOf(withLo, 'node_network_receive_errs_total', { device: 'lo' })).toBeGreaterThanOrEqual(0);
    const excluded = await networkCollector({ include_loopback: true, exclude_devices: '^l' }).collect(
      Date.now(),
    );
    expect(excluded.some((s) => s.labels.device === 'lo')).toBe(false);
  });
});

describe('filesystem', () => {
  it('reports the root filesystem with sane sizes and skips pseudo filesystems', async () => {
    const samples = await filesystemCollector().collect(Date.now());
    const root = { mountpoint: '/' };
    const size = valueOf(samples, 'node_filesystem_size_bytes', root);
    expect(size).toBeGreaterThan(valueOf(samples, 'node_filesystem_free_bytes', root) - 1);
    expect(valueOf(samples, 'node_filesystem_free_bytes', root)).toBeGreaterThanOrEqual(
      valueOf(samples, 'node_filesystem_avail_bytes', root),
    );
    expect(valueOf(samples, 'node_filesystem_files', root)).toBeGreaterThan(
      valueOf(samples, 'node_filesystem_files_free', root),
    );
    expect(valueOf(samples, 'node_filesystem_device_error', root)).toBe(0);
    const fstypes = new Set(samples.map((s) => s.labels.fstype));
    for (const pseudo of ['proc', 'sysfs', 'tmpfs', 'devpts', 'cgroup'])
      expect(fstypes.has(pseudo)).toBe(false);
    expect(samples.some((s) => s.name === 'swas_agent_filesystem_fill_rate_bytes_per_second')).toBe(false);
  });

  it('measures the fill rate of a real tmpfs and predicts when it is full', async () => {
    const collector = filesystemCollector({
      include_fstypes: ['tmpfs'],
      exclude_mountpoints: '^/(sys|mnt)(/|$)',
    });
    const labels = { mountpoint: '/dev/shm' };
    const path = join('/dev/shm', `swas-fill-${process.pid}`);
    cleanups.push(() => rm(path, { force: true }));
    const t0 = Date.now();
    await collector.collect(t0);
    await writeFile(path, Buffer.alloc(8 * 1024 * 1024, 1));
    const after = await collector.collect(t0 + 2000);
    const rate = valueOf(after, 'swas_agent_filesystem_fill_rate_bytes_per_second', labels);
    expect(rate).toBeGreaterThan(3 * 1024 * 1024); // 8 MiB over 2 s, give or take others' use of /dev/shm
    expect(rate).toBeLessThan(5 * 1024 * 1024);
    const avail = valueOf(after, 'node_filesystem_avail_bytes', labels);
    expect(valueOf(after, 'swas_agent_filesystem_seconds_until_full', labels)).toBeCloseTo(avail / rate, 3);
    await rm(path);
    const emptied = await collector.collect(t0 + 4000);
    expect(valueOf(emptied, 'swas_agent_filesystem_fill_rate_bytes_per_second', labels)).toBeLessThan(rate);
  });

  it('unescapes mount fields and keeps the last mount over a mount point', () => {
    const mounts = parseMounts(
      '/dev/sda1 /data ext4 rw 0 0\n/dev/sdb1 /mnt/my\\040disk xfs ro,noatime 0 0\n/dev/sdc1 /data xfs rw 0 0\n',
    );
    expect(mounts).toEqual([
      { device: '/dev/sdb1', mountpoint: '/mnt/my disk', fstype: 'xfs', readonly: true },
      { device: '/dev/sdc1', mountpoint: '/data', fstype: 'xfs', readonly: false },
    ]);
  });

  it('computes the fill rate over the window and keeps the newest older point', () => {
    let history = fillRate([], { at: 0, used: 100 }, 60_000).history;
    const second = fillRate(history, { at: 10_000, used: 1100 }, 60_000);
    expect(second.rate).toBe(100);
    history = second.history;
    const third = fillRate(history, { at: 20_000, used: 1100 }, 60_000);
    expect(third.rate).toBe(50); // smoothed over 20 s, not 0 from the last 10 s
    const late = fillRate(third.history, { at: 200_000, used: 1100 }, 60_000);
    expect(late.rate).toBe(0);
    expect(late.history).toEqual([
      { at: 20_000, used: 1100 },
      { at: 200_000, used: 1100 },
    ]);
  });
});

describe('hostCollectors', () => {
  it('runs every collector and reports each one’s success', async () => {
    const collectors = hostCollectors({});
    expect(collectors.collectors.map((c) => c.name)).toEqual([
      'cpu', 'memory', 'load', 'filesystem', 'network', 'services', 'logs',
    ]); // prettier-ignore
    const samples = await collectors.collect(Date.now());
    for (const c of collectors.collectors)
      expect(valueOf(samples, 'swas_agent_collector_success', { collector: c.name })).toBe(1);
    expect(valueOf(samples, 'node_load1')).toBeGreaterThanOrEqual(0);
  });

  it('keeps going when a collector fails and says which one and why', async () => {
    const { dir, remove } = await makeTempDir('collectors');
    cleanups.push(remove);
    const errors: string[] = [];
    const collectors = hostCollectors(
      { disable: ['filesystem'] },
      { procRoot: dir, onError: (m) => errors.push(m) },
    );
    const samples = await collectors.collect(Date.now());
    expect(valueOf(samples, 'swas_agent_collector_success', { collector: 'cpu' })).toBe(0);
    expect(valueOf(samples, 'swas_agent_collector_success', { collector: 'logs' })).toBe(1);
    expect(errors.find((e) => e.startsWith('collector cpu failed'))).toContain(
      `cannot read ${join(dir, 'stat')} (ENOENT)`,
    );
  });

  it('refuses a bad config and keeps the running one, counters included', async () => {
    const { dir, remove } = await makeTempDir('collectors');
    cleanups.push(remove);
    const path = join(dir, 'app.log');
    await writeFile(path, '');
    const config = {
      disable: ['network' as const],
      log_watches: [{ name: 'app', path, patterns: { error: 'ERROR' } }],
    };
    const collectors = hostCollectors(config);
    await collectors.collect(Date.now());
    await appendFile(path, 'ERROR one\n');
    await collectors.collect(Date.now());

    expect(() =>
      collectors.reconfigure({ log_watches: [{ name: 'app', path, patterns: { bad: '(' } }] }),
    ).toThrow(/log_watches\[0\] \(app\)\.patterns\.bad: \/\(\/ is not a valid regular expression/);
    expect(() => collectors.reconfigure({ services: [{ name: 'web' }] })).toThrow(
      /needs a pidfile or a match pattern/,
    );
    expect(() => collectors.reconfigure({ disable: ['disk' as 'cpu'] })).toThrow(/unknown collector "disk"/);
    expect(collectors.collectors.map((c) => c.name)).not.toContain('network');
    await appendFile(path, 'ERROR two\n');
    const kept = await collectors.collect(Date.now());
    expect(valueOf(kept, 'swas_agent_log_lines_matched_total', { log: 'app', pattern: 'error' })).toBe(2);

    collectors.reconfigure({ ...config, disable: [] });
    expect(collectors.collectors.map((c) => c.name)).toContain('network');
    await appendFile(path, 'ERROR three\n');
    const reloaded = await collectors.collect(Date.now());
    expect(valueOf(reloaded, 'swas_agent_log_lines_matched_total', { log: 'app', pattern: 'error' })).toBe(3);
  });
});
