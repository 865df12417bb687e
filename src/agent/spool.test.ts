import { spawn } from 'node:child_process';
import { appendFileSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTempDir } from '../../test/support/tmp.js';
import type { SpoolWriterRecord } from '../../test/support/spoolWriter.js';
import { errorMessage } from '../core/index.js';
import { Spool, SpoolConfigError } from './index.js';
import type { SpoolOptions } from './index.js';

interface Sample {
  readonly n: number;
  readonly text: string;
}

let dir = '';
let removeDir: () => Promise<void> = async () => {};
const opened: Spool<unknown>[] = [];

beforeEach(async () => {
  ({ dir, remove: removeDir } = await makeTempDir('spool'));
});

afterEach(async () => {
  for (const spool of opened.splice(0)) spool.close();
  await removeDir();
});

function open<T = Sample>(options: Partial<SpoolOptions> = {}): Spool<T> {
  const spool = Spool.open<T>({ dir, maxBytes: 1 << 20, segmentBytes: 1024, ...options });
  opened.push(spool);
  return spool;
}

/** The error `run` throws; fails the test when it returns. */
function thrown(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error, but the call returned');
}

const sample = (n: number): Sample => ({ n, text: `sample ${n} ${'.'.repeat(n % 50)}` });
const segmentFiles = (): string[] =>
  readdirSync(dir)
    .filter((name) => name.endsWith('.seg'))
    .sort();
const segmentDiskBytes = (): number =>
  segmentFiles().reduce((sum, name) => sum + statSync(join(dir, name)).size, 0);
const seqs = <T>(spool: Spool<T>): number[] => spool.readFrom(0, 1_000_000).map((entry) => entry.seq);

describe('Spool order and reopen', () => {
  it('keeps records in order across close and reopen, and sequence numbers keep growing', () => {
    const first = open();
    for (let n = 1; n <= 100; n++) expect(first.append(sample(n))).toBe(n);
    first.close();
    const second = open();
    expect(second.stats()).toMatchObject({
      pendingRecords: 100,
      oldestSeq: 1,
      nextSeq: 101,
      droppedRecords: 0,
    });
    for (let n = 101; n <= 150; n++) expect(second.append(sample(n))).toBe(n);
    const all = second.readFrom(1, 1000);
    expect(all.map((entry) => entry.seq)).toEqual(Array.from({ length: 150 }, (_, i) => i + 1));
    expect(all.map((entry) => entry.record)).toEqual(all.map((entry) => sample(entry.seq)));
    expect(segmentFiles().length).toBeGreaterThan(3);
  });

  it('pages through records with readFrom(seq, limit)', () => {
    const spool = open();
    for (let n = 1; n <= 60; n++) spool.append(sample(n));
    const pages: number[][] = [];
    for (let next = 1; ;) {
      const page = spool.readFrom(next, 25).map((entry) => entry.seq);
      if (page.length === 0) break;
      pages.push(page);
      next = page.at(-1)! + 1;
    }
    expect(pages.map((page) => page.length)).toEqual([25, 25, 10]);
    expect(pages.flat()).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    expect(spool.readFrom(42, 3).map((entry) => entry.record.n)).toEqual([42, 43, 44]);
    expect(spool.readFrom(61, 10)).toEqual([]);
  });

  it("with fsync 'batch', records are readable at once and survive a reopen after flush", () => {
    const spool = open({ fsync: 'batch' });
    for (let n = 1; n <= 30; n++) spool.append(sample(n));
    expect(seqs(spool)).toHaveLength(30);
    spool.flush();
    spool.close();
    expect(seqs(open())).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
  });

  it('refuses a second open of the same directory and a lock held by another live process', () => {
    open();
    expect(() => Spool.open({ dir, maxBytes: 4096 })).toThrow(/already in use by this process/);
    opened.splice(0).forEach((spool) => spool.close());
    writeFileSync(join(dir, 'LOCK'), '1\n'); // pid 1 is always alive
    expect(() => Spool.open({ dir, maxBytes: 4096 })).toThrow(/already in use by process 1/);
  });
});

describe('Spool ack', () => {
  it('deletes fully acknowledged segments and never returns acknowledged records again', () => {
    const spool = open();
    for (let n = 1; n <= 100; n++) spool.append(sample(n));
    const before = segmentFiles();
    spool.ack(40);
    expect(segmentFiles().length).toBeLessThan(before.length);
    expect(segmentDiskBytes()).toBe(spool.stats().diskBytes);
    expect(spool.readFrom(1, 5).map((entry) => entry.seq)).toEqual([41, 42, 43, 44, 45]);
    expect(spool.stats()).toMatchObject({ pendingRecords: 60, oldestSeq: 41, nextSeq: 101 });
    spool.ack(30); // an older ack changes nothing
    expect(spool.stats().oldestSeq).toBe(41);
    spool.close();
    const reopened = open();
    expect(seqs(reopened)[0]).toBe(41);
    expect(reopened.stats().pendingRecords).toBe(60);
  });

  it('acking everything removes every segment and sequence numbers still continue after reopen', () => {
    const spool = open();
    for (let n = 1; n <= 50; n++) spool.append(sample(n));
    spool.ack(50);
    expect(segmentFiles()).toEqual([]);
    expect(spool.stats()).toMatchObject({
      pendingRecords: 0,
      pendingBytes: 0,
      oldestSeq: 51,
      nextSeq: 51,
      diskBytes: 0,
    });
    expect(spool.append(sample(51))).toBe(51);
    spool.ack(51);
    spool.close();
    const reopened = open();
    expect(reopened.stats()).toMatchObject({ pendingRecords: 0, nextSeq: 52 });
    expect(reopened.append(sample(52))).toBe(52);
  });

  it('refuses to ack a sequence number it never handed out', () => {
    const spool = open();
    spool.append(sample(1));
    expect(() => spool.ack(2)).toThrow(/cannot ack seq 2 .*last seq handed out is 1/);
    expect(() => spool.ack(1.5)).toThrow(/cannot ack seq 1.5/);
  });
});

describe('Spool bound', () => {
  it('drops the oldest records when full, counts them, and the count survives reopen', () => {
    const spool = open({ maxBytes: 8192, segmentBytes: 1024 });
    for (let n = 1; n <= 500; n++) {
      spool.append(sample(n));
      expect(segmentDiskBytes()).toBeLessThanOrEqual(8192);
    }
    const stats = spool.stats();
    expect(stats.droppedRecords).toBeGreaterThan(300);
    expect(stats.pendingRecords + stats.droppedRecords).toBe(500);
    expect(stats.diskBytes).toBe(segmentDiskBytes());
    expect(stats.pendingBytes).toBe(stats.diskBytes);
    const kept = seqs(spool);
    expect(kept).toEqual(Array.from({ length: kept.length }, (_, i) => stats.oldestSeq + i));
    expect(kept.at(-1)).toBe(500);
    expect(spool.readFrom(1, 1)[0]?.seq).toBe(stats.oldestSeq);
    spool.close();
    const reopened = open({ maxBytes: 8192, segmentBytes: 1024 });
    expect(reopened.stats()).toEqual(stats);
    reopened.append(sample(501));
    expect(reopened.stats().droppedRecords).toBeGreaterThanOrEqual(stats.droppedRecords);
  });

  it('counts only unacknowledged records of a partly acknowledged segment it drops', () => {
    const spool = open({ maxBytes: 4096, segmentBytes: 1024 });
    let n = 0;
    while (segmentFiles().length < 4) spool.append(sample(++n));
    const lastOfFirst = Number(segmentFiles()[1]!.slice(0, 16)) - 1;
    spool.ack(lastOfFirst - 2); // two records of the first segment stay pending
    while (segmentFiles()[0] === '0000000000000001.seg') spool.append(sample(++n));
    expect(spool.stats().droppedRecords).toBe(2);
  });

  it('drops the oldest segments at open when maxBytes shrank', () => {
    const spool = open({ maxBytes: 16384, segmentBytes: 1024 });
    for (let n = 1; n <= 200; n++) spool.append(sample(n));
    spool.close();
    const smaller = open({ maxBytes: 4096, segmentBytes: 1024 });
    const stats = smaller.stats();
    expect(segmentDiskBytes()).toBeLessThanOrEqual(4096);
    expect(stats.droppedRecords).toBeGreaterThan(0);
    expect(stats.pendingRecords + stats.droppedRecords).toBe(200);
  });

  it('puts a record larger than segmentBytes in a segment of its own', () => {
    const spool = open({ maxBytes: 8192, segmentBytes: 1024 });
    spool.append(sample(1));
    const big = { n: 2, text: 'b'.repeat(3000) };
    expect(spool.append(big)).toBe(2);
    spool.append(sample(3));
    expect(segmentFiles()).toHaveLength(3);
    expect(spool.readFrom(2, 1)[0]?.record).toEqual(big);
  });
});

describe('Spool crash recovery', () => {
  function lastSegmentPath(): string {
    return join(dir, segmentFiles().at(-1)!);
  }

  it('truncates a torn last record, keeps every whole one, and appends afterwards', () => {
    const spool = open();
    for (let n = 1; n <= 10; n++) spool.append(sample(n));
    spool.close();
    const path = lastSegmentPath();
    const size = statSync(path).size;
    truncateSync(path, size - 7); // cut record 10 in the middle
    const reopened = open();
    expect(reopened.recoveryNotes.join()).toMatch(/truncated .*after seq 9/);
    expect(statSync(path).size).toBeLessThan(size - 7);
    expect(seqs(reopened)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(reopened.append(sample(10))).toBe(10);
    expect(reopened.append(sample(11))).toBe(11);
    reopened.close();
    const again = open();
    expect(again.recoveryNotes).toEqual([]);
    expect(again.readFrom(1, 100).map((entry) => entry.record)).toEqual(
      Array.from({ length: 11 }, (_, i) => sample(i + 1)),
    );
  });

  it('cuts garbage written after the last record', () => {
    const spool = open();
    for (let n = 1; n <= 5; n++) spool.append(sample(n));
    spool.close();
    const path = lastSegmentPath();
    const size = statSync(path).size;
    appendFileSync(path, Buffer.from('this is not a spool record, just noise written by a crash'));
    const reopened = open();
    expect(statSync(path).size).toBe(size);
    expect(reopened.recoveryNotes).toHaveLength(1);
    expect(seqs(reopened)).toEqual([1, 2, 3, 4, 5]);
    expect(reopened.append(sample(6))).toBe(6);
  });

  it('counts records lost to damage inside an older segment as dropped and keeps later segments', () => {
    const spool = open();
    for (let n = 1; n <= 100; n++) spool.append(sample(n));
    spool.close();
    const [firstName, secondName] = segmentFiles();
    const path = join(dir, firstName!);
    const data = readFileSync(path);
    const middle = Math.floor(data.length / 2);
    data.writeUInt8(data.readUInt8(middle) ^ 0xff, middle); // flip one byte in the first segment
    writeFileSync(path, data);
    const reopened = open();
    const kept = seqs(reopened);
    const secondFirst = Number(secondName!.slice(0, 16));
    const lost = reopened.stats().droppedRecords;
    expect(lost).toBeGreaterThan(0);
    expect(kept).toHaveLength(100 - lost);
    expect(kept.slice(kept.indexOf(secondFirst))).toEqual(
      Array.from({ length: 101 - secondFirst }, (_, i) => secondFirst + i),
    );
    expect(reopened.recoveryNotes.join()).toMatch(/checksum mismatch/);
  });

  it('loses no record that append() returned for when the writer is killed with SIGKILL', async () => {
    const killedAfter = [200, 500, 800];
    for (const [round, count] of killedAfter.entries()) {
      const printed = await runWriterAndKill(count);
      const spool = open<SpoolWriterRecord>({ maxBytes: 64 << 20, segmentBytes: 16384 });
      const entries = spool.readFrom(0, 1_000_000);
      const lastPrinted = printed.at(-1)!;
      expect(printed.length, `round ${round}`).toBeGreaterThanOrEqual(count);
      expect(entries.map((entry) => entry.seq)).toEqual(
        Array.from({ length: entries.length }, (_, i) => i + 1),
      );
      expect(entries.length).toBeGreaterThanOrEqual(lastPrinted);
      expect(entries.length).toBeLessThanOrEqual(lastPrinted + 1); // one append may finish before its print
      for (const entry of entries) expect(entry.record.expectSeq).toBe(entry.seq);
      spool.close();
      opened.splice(0);
    }
  }, 60_000);
});

/** Runs test/support/spoolWriter.ts on `dir` and SIGKILLs it once it has printed `count` more seqs. */
async function runWriterAndKill(count: number): Promise<number[]> {
  const root = resolve(import.meta.dirname, '../..');
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(root, 'test/support/spoolWriter.ts'), dir, '16384', '300', '1000000'],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<NodeJS.Signals | number | null>((done) =>
    child.on('exit', (code, signal) => done(signal ?? code)),
  );
  const printed: number[] = [];
  try {
    await new Promise<void>((done, fail) => {
      const timer = setTimeout(
        () => fail(new Error(`spoolWriter printed only ${printed.length} seqs in 30 s: ${stderr}`)),
        30_000,
      );
      child.on('exit', () => fail(new Error(`spoolWriter exited early: ${stderr}`)));
      createInterface({ input: child.stdout }).on('line', (line) => {
        if (line === 'ready') return;
        printed.push(Number(line));
        if (printed.length === count) {
          child.kill('SIGKILL');
          clearTimeout(timer);
          done();
        }
      });
    });
  } finally {
    child.kill('SIGKILL');
  }
  expect(await exited).toBe('SIGKILL');
  return printed;
}

describe('Spool bad input', () => {
  it('refuses segmentBytes above maxBytes', () => {
    expect(() => Spool.open({ dir, maxBytes: 1000, segmentBytes: 4096 })).toThrow(
      /segmentBytes \(4096\) is larger than maxBytes \(1000\)/,
    );
  });

  it('refuses nonsense sizes and fsync modes', () => {
    expect(() => Spool.open({ dir, maxBytes: 0 })).toThrow(/maxBytes must be an integer/);
    expect(() => Spool.open({ dir, maxBytes: 4096, segmentBytes: 1.5 })).toThrow(
      /segmentBytes must be an integer/,
    );
    expect(() => Spool.open({ dir, maxBytes: 4096, fsync: 'sometimes' as 'always' })).toThrow(
      /fsync must be/,
    );
  });

  it('refuses a directory it cannot create or write, naming it', () => {
    const file = join(dir, 'plain-file');
    writeFileSync(file, 'x');
    const error = thrown(() => Spool.open({ dir: join(file, 'spool'), maxBytes: 4096 }));
    expect(error).toBeInstanceOf(SpoolConfigError);
    expect(error).toMatchObject({ code: 'SWAS-SPOOL-003' });
    expect(errorMessage(error)).toContain(join(file, 'spool'));
    expect(() => Spool.open({ dir: file, maxBytes: 4096 })).toThrow(/not a directory/);
  });

  it('refuses a record larger than maxBytes and stays usable', () => {
    const spool = open({ maxBytes: 2048, segmentBytes: 512 });
    spool.append(sample(1));
    const error = thrown(() => spool.append({ n: 2, text: 'y'.repeat(4000) }));
    expect(error).toMatchObject({ code: 'SWAS-SPOOL-021' });
    expect(errorMessage(error)).toMatch(/record of 4\d{3} bytes does not fit .*maxBytes 2048/);
    expect(() => spool.append(undefined as unknown as Sample)).toThrow(/JSON-serialisable/);
    expect(spool.append(sample(2))).toBe(2);
    expect(seqs(spool)).toEqual([1, 2]);
  });

  it('fails clearly when used after close', () => {
    const spool = open();
    spool.close();
    expect(() => spool.append(sample(1))).toThrow(/is closed/);
  });
});
