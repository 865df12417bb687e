import { appendFile, rename, rm, stat, symlink, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeTempDir } from '../../../test/support/tmp.js';
import { compileLogWatches, LogCollector, type LogWatchConfig } from './logs.js';
import type { CollectedSample } from './types.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function tempDir(): Promise<string> {
  const { dir, remove } = await makeTempDir('logs');
  cleanups.push(remove);
  return dir;
}

function valueOf(
  samples: CollectedSample[],
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    ?.value;
}

const matched = (samples: CollectedSample[], pattern: string) =>
  valueOf(samples, 'swas_agent_log_lines_matched_total', { pattern });

const patterns = { error: 'ERROR|FATAL', warn: '(?i)warn' };

function watch(path: string, extra: Partial<LogWatchConfig> = {}): LogWatchConfig {
  return { name: 'app', path, patterns, ...extra };
}

describe('LogCollector', () => {
  it('counts only lines appended after the first look, once per pattern per line', async () => {
    const path = join(await tempDir(), 'app.log');
    await writeFile(path, 'ERROR old line\n');
    const collector = LogCollector.create([watch(path, { max_bytes: 1000 })]);
    const first = await collector.collect(Date.now());
    expect(valueOf(first, 'swas_agent_log_present')).toBe(1);
    expect(valueOf(first, 'swas_agent_log_size_bytes')).toBe(15);
    expect(valueOf(first, 'swas_agent_log_size_limit_bytes')).toBe(1000);
    expect(matched(first, 'error')).toBe(0);
    const { ctimeMs } = await stat(path);
    expect(valueOf(first, 'swas_agent_log_last_rotation_timestamp_seconds')).toBeCloseTo(ctimeMs / 1000, 0);

    await appendFile(path, 'ERROR one ERROR\nwarning two\r\nFATAL Warn three\ninfo four\n');
    const second = await collector.collect(Date.now());
    expect(matched(second, 'error')).toBe(2);
    expect(matched(second, 'warn')).toBe(2);
    expect(valueOf(second, 'swas_agent_log_skipped_bytes_total')).toBe(0);
    expect(valueOf(second, 'swas_agent_log_read_errors_total')).toBe(0);
    expect(matched(await collector.collect(Date.now()), 'error')).toBe(2); // nothing new, nothing counted twice
  });

  it('waits for an unfinished line to end before matching it', async () => {
    const path = join(await tempDir(), 'app.log');
    await writeFile(path, '');
    const collector = LogCollector.create([watch(path)]);
    await collector.collect(Date.now());
    await appendFile(path, 'FAT');
    expect(matched(await collector.collect(Date.now()), 'error')).toBe(0);
    await appendFile(path, 'AL: disk\n');
    expect(matched(await collector.collect(Date.now()), 'error')).toBe(1);
  });

  it('follows rename rotation, reading the rest of the old file and all of the new one', async () => {
    const dir = await tempDir();
    const path = join(dir, 'app.log');
    await writeFile(path, 'start\n');
    const collector = LogCollector.create([watch(path)]);
    await collector.collect(Date.now());
    await appendFile(path, 'ERROR before rotation\n');
    await rename(path, `${path}.1`);
    await appendFile(`${path}.1`, 'ERROR written late to the old file\n');
    const rotatedAt = Date.now();
    await writeFile(path, 'ERROR in the new file\n');
    const samples = await collector.collect(rotatedAt + 1);
    expect(matched(samples, 'error')).toBe(3);
    expect(valueOf(samples, 'swas_agent_log_size_bytes')).toBe(22);
    const rotation = valueOf(samples, 'swas_agent_log_last_rotation_timestamp_seconds')!;
    expect(rotation * 1000).toBeGreaterThanOrEqual(rotatedAt - 1000);
    await appendFile(path, 'ERROR again\n');
    expect(matched(await collector.collect(Date.now()), 'error')).toBe(4);
  });

  it('treats a shrunken file as truncated and reads it from the top', async () => {
    const path = join(await tempDir(), 'app.log');
    await writeFile(path, 'a fairly long first line without problems\n');
    const collector = LogCollector.create([watch(path)]);
    await collector.collect(1_000_000);
    await truncate(path, 0);
    await appendFile(path, 'ERROR after truncate\n');
    const samples = await collector.collect(2_000_000);
    expect(matched(samples, 'error')).toBe(1);
    expect(valueOf(samples, 'swas_agent_log_last_rotation_timestamp_seconds')).toBe(2000);
  });

  it('reports a missing file as not present, keeps its counters, and reads it from the top when it returns', async () => {
    const path = join(await tempDir(), 'app.log');
    const collector = LogCollector.create([watch(path)]);
    const missing = await collector.collect(Date.now());
    expect(valueOf(missing, 'swas_agent_log_present')).toBe(0);
    expect(valueOf(missing, 'swas_agent_log_size_bytes')).toBeUndefined();
    expect(matched(missing, 'error')).toBe(0);
    expect(valueOf(missing, 'swas_agent_log_read_errors_total')).toBe(0);

    await writeFile(path, 'ERROR first\n');
    expect(matched(await collector.collect(Date.now()), 'error')).toBe(1);
    await appendFile(path, 'ERROR second\n');
    await rm(path);
    const deleted = await collector.collect(Date.now());
    expect(valueOf(deleted, 'swas_agent_log_present')).toBe(0);
    expect(matched(deleted, 'error')).toBe(1); // the deleted file's last line could not be read
    await writeFile(path, 'ERROR reborn\n');
    const back = await collector.collect(Date.now());
    expect(valueOf(back, 'swas_agent_log_present')).toBe(1);
    expect(matched(back, 'error')).toBe(2);
  });

  it('reads at most read_limit_bytes per collection and counts what it skipped', async () => {
    const path = join(await tempDir(), 'app.log');
    await writeFile(path, '');
    const lines = (n: number) =>
      Array.from({ length: n }, (_, i) => `ERROR ${String(i).padStart(3, '0')}\n`).join('');
    const collector = LogCollector.create([watch(path, { read_limit_bytes: 95 })]);
    await collector.collect(Date.now());
    await appendFile(path, lines(100)); // 100 lines of 10 bytes
    const capped = await collector.collect(Date.now());
    // The newest 95 bytes start inside line 90, so that line is skipped too: 910 bytes skipped, 9 lines read.
    expect(valueOf(capped, 'swas_agent_log_skipped_bytes_total')).toBe(910);
    expect(matched(capped, 'error')).toBe(9);

    const exact = LogCollector.create([watch(path, { read_limit_bytes: 100 })]);
    await exact.collect(Date.now());
    await appendFile(path, lines(100));
    const aligned = await exact.collect(Date.now());
    expect(valueOf(aligned, 'swas_agent_log_skipped_bytes_total')).toBe(900);
    expect(matched(aligned, 'error')).toBe(10);
  });

  it('matches a line longer than the line buffer instead of waiting for its end forever', async () => {
    const path = join(await tempDir(), 'app.log');
    await writeFile(path, '');
    const collector = LogCollector.create([watch(path)]);
    await collector.collect(Date.now());
    await appendFile(path, `ERROR ${'x'.repeat(200 * 1024)}`);
    expect(matched(await collector.collect(Date.now()), 'error')).toBe(1);
  });

  it('keeps counts across a reconfigure for watches with the same name and path', async () => {
    const dir = await tempDir();
    const path = join(dir, 'app.log');
    await writeFile(path, '');
    const collector = LogCollector.create([watch(path)]);
    await collector.collect(Date.now());
    await appendFile(path, 'ERROR x\n');
    await collector.collect(Date.now());
    collector.apply(compileLogWatches([watch(path), { name: 'other', path: join(dir, 'other.log') }]));
    const samples = await collector.collect(Date.now());
    expect(matched(samples, 'error')).toBe(1);
    expect(valueOf(samples, 'swas_agent_log_present', { log: 'other' })).toBe(0);
  });

  it('reports an unreadable log as a read error and tells the agent', async () => {
    const dir = await tempDir();
    const errors: string[] = [];
    const loop = join(dir, 'loop.log');
    await symlink(loop, loop);
    const collector = LogCollector.create([watch(dir), { name: 'loop', path: loop }], (m) => errors.push(m));
    const samples = await collector.collect(Date.now());
    expect(valueOf(samples, 'swas_agent_log_read_errors_total', { log: 'app' })).toBe(1);
    expect(valueOf(samples, 'swas_agent_log_read_errors_total', { log: 'loop' })).toBe(1);
    expect(errors.sort()).toEqual([
      `log watch app: cannot read ${dir} (not a regular file); check the path and that the agent's user may read it`,
      expect.stringContaining(`log watch loop: cannot read ${loop} (ELOOP`),
    ]);
  });

  it('refuses bad watches with the field that is wrong', () => {
    expect(() => LogCollector.create([{ name: 'a', path: 'rel.log' }])).toThrow(
      /log_watches\[0\] \(a\)\.path must be absolute/,
    );
    expect(() => LogCollector.create([{ name: 'a', path: '/x', max_bytes: -1 }])).toThrow(
      /max_bytes must be a positive/,
    );
    expect(() => LogCollector.create([{ name: 'a', path: '/x', patterns: { e: '(?<' } }])).toThrow(
      /patterns\.e/,
    );
  });
});
