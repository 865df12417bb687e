import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EmbeddedTsdb, TsdbCorruptionError } from '../src/tsdb/index.js';
import { makeTempDir } from './support/tmp.js';

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups) await cleanup();
});

async function tempDir(): Promise<string> {
  const { dir, remove } = await makeTempDir('tsdb-recovery');
  cleanups.push(remove);
  return dir;
}

const all = [{ name: '__name__', type: '=~' as const, value: '.+' }];

/** Sample timestamps per series name label `s`. */
function timestamps(db: EmbeddedTsdb): Map<string, number[]> {
  return new Map(db.select(all, -Infinity, Infinity).map((s) => [s.labels.s ?? '', Array.from(s.t)]));
}

const walSegments = (dir: string): string[] =>
  readdirSync(join(dir, 'wal'))
    .filter((name) => /^\d{8}$/.test(name))
    .sort();

describe('EmbeddedTsdb recovery', () => {
  it('cuts a torn WAL tail (a crash mid-record) with a warning naming the file and keeps earlier batches', async () => {
    const dir = await tempDir();
    let db = await EmbeddedTsdb.open({ dir });
    for (let t = 1; t <= 5; t++) db.append({ __name__: 'm', s: 'a' }, t * 1000, t);
    await db.commit();
    for (let t = 6; t <= 9; t++) db.append({ __name__: 'm', s: 'a' }, t * 1000, t);
    await db.commit();
    await db.close();
    const segment = join(dir, 'wal', walSegments(dir)[0] ?? 'missing');
    truncateSync(segment, statSync(segment).size - 7);

    const warnings: string[] = [];
    db = await EmbeddedTsdb.open({ dir, onWarning: (m) => warnings.push(m) });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(segment);
    // The second batch is one delta samples record of 64 bytes (8 framing + 56), less the 7 cut off.
    expect(warnings[0]).toMatch(/truncated 57 bytes/);
    expect(timestamps(db).get('a')).toEqual([1000, 2000, 3000, 4000, 5000]);
    // The store keeps working, and the next open is clean.
    expect(db.append({ __name__: 'm', s: 'a' }, 6000, 6)).toEqual({ ok: true });
    await db.close();
    db = await EmbeddedTsdb.open({ dir });
    expect(db.openWarnings()).toEqual([]);
    expect(timestamps(db).get('a')?.at(-1)).toBe(6000);
    await db.close();
  });

  it('survives garbage appended to the WAL and a zero-filled tail', async () => {
    const dir = await tempDir();
    let db = await EmbeddedTsdb.open({ dir });
    db.append({ __name__: 'm', s: 'b' }, 1000, 1);
    await db.close();
    const segment = join(dir, 'wal', walSegments(dir)[0] ?? 'missing');
    writeFileSync(segment, Buffer.concat([readFileSync(segment), Buffer.alloc(100), Buffer.from('garbage')]));
    db = await EmbeddedTsdb.open({ dir });
    expect(db.openWarnings().join('\n')).toContain(segment);
    expect(timestamps(db).get('b')).toEqual([1000]);
    await db.close();
  });

  it('reports a corrupt chunk file with its path and recovers the samples still in the WAL', async () => {
    const dir = await tempDir();
    const options = { dir, chunkSamples: 5 };
    let db = await EmbeddedTsdb.open(options);
    for (let t = 1; t <= 40; t++) db.append({ __name__: 'm', s: 'c' }, t * 1000, t);
    await db.commit();
    await db.close();
    const chunkFile = join(dir, 'chunks', '00000001');
    const bytes = readFileSync(chunkFile);
    bytes[60] = (bytes[60] ?? 0) ^ 0xff;
    writeFileSync(chunkFile, bytes);

    db = await EmbeddedTsdb.open(options);
    expect(db.openWarnings()).toHaveLength(1);
    expect(db.openWarnings()[0]).toContain(chunkFile);
    expect(timestamps(db).get('c')).toEqual(Array.from({ length: 40 }, (_, i) => (i + 1) * 1000));
    await db.close();
  });

  it('throws a TsdbCorruptionError naming the file when a chunk is damaged while open', async () => {
    const dir = await tempDir();
    const db = await EmbeddedTsdb.open({ dir, chunkSamples: 5 });
    for (let t = 1; t <= 12; t++) db.append({ __name__: 'm', s: 'd' }, t * 1000, t);
    await db.commit();
    const chunkFile = join(dir, 'chunks', '00000001');
    const bytes = readFileSync(chunkFile);
    bytes[50] = (bytes[50] ?? 0) ^ 0xff;
    writeFileSync(chunkFile, bytes);
    expect(() => db.select(all, 0, 20_000)).toThrow(TsdbCorruptionError);
    expect(() => db.select(all, 0, 20_000)).toThrow(chunkFile);
    // Data only in the head stays readable.
    expect(Array.from(db.select(all, 11_000, 20_000)[0]?.t ?? [])).toEqual([11_000, 12_000]);
    await db.close();
  });
});

const childSource = (tsdbIndex: string): string => `
import { EmbeddedTsdb } from ${JSON.stringify(tsdbIndex)};
const [dir, startText] = process.argv.slice(2);
const db = await EmbeddedTsdb.open({ dir, chunkSamples: 20, chunkFileSpanMs: 30_000, checkpointAfterBytes: 16 * 1024 });
const start = Number(startText);
for (let batch = start; batch < start + 100_000; batch++) {
  for (let s = 0; s < 40; s++) db.append({ __name__: 'crash_test', s: String(s) }, batch * 1000, batch);
  await db.commit();
  process.stdout.write('committed ' + batch + '\\n');
}
`;

/** Runs the child until it printed `minCommits` commits plus a random extra time, then SIGKILLs it. */
function runAndKill(script: string, dir: string, start: number, minCommits: number): Promise<number[]> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, dir, String(start)], {
      cwd: resolve(import.meta.dirname, '..'),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const committed: number[] = [];
    let buffer = '';
    let stderr = '';
    let killTimer: NodeJS.Timeout | undefined;
    const deadline = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) committed.push(Number(line.replace('committed ', '')));
      if (killTimer === undefined && committed.length >= minCommits) {
        killTimer = setTimeout(() => child.kill('SIGKILL'), Math.floor(Math.random() * 300));
      }
    });
    child.on('error', reject);
    child.on('exit', (_code, signal) => {
      clearTimeout(deadline);
      if (killTimer) clearTimeout(killTimer);
      if (signal !== 'SIGKILL')
        reject(new Error(`child ended with ${String(signal)} before the kill: ${stderr}`));
      else resolvePromise(committed);
    });
  });
}

describe('EmbeddedTsdb data directory lock', () => {
  it('refuses a directory locked by a live process and takes over one left by a dead process', async () => {
    const dir = await tempDir();
    writeFileSync(join(dir, 'LOCK'), `${process.ppid}\n`);
    await expect(EmbeddedTsdb.open({ dir })).rejects.toThrow(`in use by process ${process.ppid}`);
    const dead = spawn(process.execPath, ['-e', '']);
    const deadPid = dead.pid ?? 0;
    await new Promise((done) => dead.on('exit', done));
    writeFileSync(join(dir, 'LOCK'), `${deadPid}\n`);
    const db = await EmbeddedTsdb.open({ dir });
    expect(readFileSync(join(dir, 'LOCK'), 'utf8')).toBe(`${process.pid}\n`);
    await db.close();
    expect(existsSync(join(dir, 'LOCK'))).toBe(false);
  });
});

describe('EmbeddedTsdb under kill -9', () => {
  it('keeps every batch whose commit was acknowledged, across three kills', async () => {
    const dir = await tempDir();
    const script = join(dir, 'child.mts');
    writeFileSync(script, childSource(resolve(import.meta.dirname, '../src/tsdb/index.ts')));
    const data = join(dir, 'data');
    const acknowledged = new Set<number>();
    let start = 0;
    for (let round = 0; round < 3; round++) {
      const committed = await runAndKill(script, data, start, 20 + round * 10);
      expect(committed.length).toBeGreaterThan(0);
      for (const batch of committed) acknowledged.add(batch);
      start = Math.max(...committed) + 1;

      const db = await EmbeddedTsdb.open({ dir: data, chunkSamples: 20, chunkFileSpanMs: 30_000 });
      const series = db.select([{ name: '__name__', type: '=', value: 'crash_test' }], -Infinity, Infinity);
      expect(series).toHaveLength(40);
      for (const s of series) {
        const held = new Set(Array.from(s.t, (t) => t / 1000));
        const missing = [...acknowledged].filter((batch) => !held.has(batch));
        expect(missing, `series ${s.labels.s ?? ''}`).toEqual([]);
        for (let i = 0; i < s.t.length; i++) expect(s.v[i]).toBe((s.t[i] ?? 0) / 1000);
      }
      await db.close();
    }
    expect(existsSync(join(data, 'chunks', '00000001'))).toBe(true);
    expect(readdirSync(join(data, 'wal')).some((name) => name.startsWith('checkpoint.'))).toBe(true);
  });
});
