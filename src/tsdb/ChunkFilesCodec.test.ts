import { readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { makeTempDir } from '../../test/support/tmp.js';
import { STALE_NAN } from '../core/index.js';
import { ChunkFiles } from './ChunkFiles.js';
import type { StoredChunk } from './ChunkFiles.js';
import { EmbeddedTsdb } from './EmbeddedTsdb.js';
import { decodeColumnarRange } from './sealedColumnDecode.js';
import { TsdbCorruptionError } from './tsdbErrors.js';
import { XorEncoder } from './HeadChunks.js';
import { decodeXorRange } from './XorChunk.js';

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups) await cleanup();
});

async function tempDir(): Promise<string> {
  const { dir, remove } = await makeTempDir('chunk-codec');
  cleanups.push(remove);
  return dir;
}

const limits = { fileBytes: 1 << 26, fileSpanMs: 2 * 3_600_000, cacheBytes: 1 << 20 };

interface Located {
  ref: number;
  seq: number;
  offset: number;
  length: number;
  count: number;
}

function openFiles(dir: string, warnings: string[] = []): { files: ChunkFiles; found: Located[] } {
  const found: Located[] = [];
  const files = ChunkFiles.open(
    dir,
    limits,
    (ref, seq, offset, length, _minT, _maxT, count) => found.push({ ref, seq, offset, length, count }),
    (message) => warnings.push(message),
  );
  return { files, found };
}

function chunkOf(t: readonly number[], v: Float64Array | readonly number[]): XorEncoder {
  const encoder = new XorEncoder();
  t.forEach((time, i) => encoder.append(time, v[i] ?? 0));
  return encoder;
}

/** Every sample of a stored chunk, values as raw bits (hex) so NaN payloads compare exactly. */
function samples(chunk: StoredChunk): { t: number[]; v: string[] } {
  const v = new Float64Array(chunk.count);
  const out = { t: new Float64Array(chunk.count), v, bits: new Int32Array(v.buffer) };
  const n =
    chunk.codec === 'xor'
      ? decodeXorRange(chunk.data, chunk.count, chunk.minT, -Infinity, Infinity, out, 0)
      : decodeColumnarRange(chunk.times, chunk.values, chunk.count, -Infinity, Infinity, out, 0);
  expect(n).toBe(chunk.count);
  return { t: Array.from(out.t), v: Array.from(new BigUint64Array(v.buffer), (b) => b.toString(16)) };
}

const expected = (
  t: readonly number[],
  v: readonly number[] | Float64Array,
): { t: number[]; v: string[] } => {
  const values = Float64Array.from(v);
  return { t: [...t], v: Array.from(new BigUint64Array(values.buffer), (b) => b.toString(16)) };
};

/** A chunk record as swas wrote it before the columnar codec (file format 1). */
function legacyRecord(ref: number, chunk: XorEncoder): Buffer {
  const data = chunk.view();
  const record = Buffer.alloc(32 + data.length);
  record.writeUInt32LE(ref, 8);
  record.writeDoubleLE(chunk.minT, 12);
  record.writeDoubleLE(chunk.maxT, 20);
  record.writeUInt32LE(chunk.count, 28);
  record.set(data, 32);
  record.writeUInt32LE(record.length - 8, 0);
  record.writeUInt32LE(crc32(record.subarray(8)), 4);
  return record;
}

const grid = (n: number, start = 1_700_000_000_000): number[] =>
  Array.from({ length: n }, (_, i) => start + i * 15_000 + (i % 7 === 3 ? 3 : 0));

describe('ChunkFiles with the columnar codec', () => {
  it('stores a timestamp column once per file for chunks that share it, and reads every chunk back exactly', async () => {
    const dir = await tempDir();
    const { files } = openFiles(dir);
    const t = grid(120);
    const other = grid(120, 1_700_000_000_007);
    const values = Array.from({ length: 40 }, (_, s) => t.map((_, i) => 1000 * s + i * (s + 1)));
    const written = values.map((v, s) => files.write(s + 1, chunkOf(s === 20 ? other : t, v)));
    const lengths = written.map(([, , length]) => length);
    // The first chunk and the one with other timestamps carry a column; the rest refer to the first.
    expect(lengths[1] ?? 0).toBeLessThan((lengths[0] ?? 0) - 10);
    expect(lengths[20] ?? 0).toBeGreaterThan((lengths[19] ?? 0) + 10);
    written.forEach(([seq, offset, length], s) =>
      expect(samples(files.read(seq, offset, length))).toEqual(
        expected(s === 20 ? other : t, values[s] ?? []),
      ),
    );
    await files.close();
    const reopened = openFiles(dir);
    expect(reopened.found.map((f) => f.ref)).toEqual(values.map((_, s) => s + 1));
    for (const f of reopened.found) {
      const chunk = reopened.files.read(f.seq, f.offset, f.length);
      expect(samples(chunk)).toEqual(expected(f.ref === 21 ? other : t, values[f.ref - 1] ?? []));
    }
    await reopened.files.close();
  });

  it('keeps chunks whose timestamps do not fit a column as Gorilla streams', async () => {
    const dir = await tempDir();
    const { files } = openFiles(dir);
    const t = [1, 2, 2 ** 50];
    const [seq, offset, length] = files.write(1, chunkOf(t, [1, STALE_NAN, 3]));
    const chunk = files.read(seq, offset, length);
    expect(chunk.codec).toBe('xor');
    expect(samples(chunk)).toEqual(expected(t, Float64Array.from([1, STALE_NAN, 3])));
    await files.close();
  });

  it('detects a torn record at open, and chunks before it still read their shared timestamps', async () => {
    const dir = await tempDir();
    const { files } = openFiles(dir);
    const t = grid(30);
    for (let s = 1; s <= 5; s++)
      files.write(
        s,
        chunkOf(
          t,
          t.map((_, i) => s * i),
        ),
      );
    await files.close();
    const path = join(dir, '00000001');
    truncateSync(path, statSync(path).size - 3);
    const warnings: string[] = [];
    const reopened = openFiles(dir, warnings);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(path);
    expect(reopened.found.map((f) => f.ref)).toEqual([1, 2, 3, 4]);
    for (const f of reopened.found) {
      const chunk = reopened.files.read(f.seq, f.offset, f.length);
      expect(samples(chunk)).toEqual(
        expected(
          t,
          t.map((_, i) => f.ref * i),
        ),
      );
    }
    await reopened.files.close();
  });

  it('reports damage to a shared timestamp column when a chunk referring to it is read', async () => {
    const dir = await tempDir();
    const { files } = openFiles(dir);
    const t = grid(60);
    const first = files.write(
      1,
      chunkOf(
        t,
        t.map((_, i) => i),
      ),
    );
    const second = files.write(
      2,
      chunkOf(
        t,
        t.map((_, i) => 2 * i),
      ),
    );
    await files.sync();
    const path = join(dir, '00000001');
    const bytes = readFileSync(path);
    bytes[first[1] + 40] = (bytes[first[1] + 40] ?? 0) ^ 0xff; // inside the first record's column
    writeFileSync(path, bytes);
    expect(() => files.read(...second)).toThrow(TsdbCorruptionError);
    expect(() => files.read(...second)).toThrow(`corrupt chunk in ${path} at offset ${first[1]}`);
    await files.close();
  });

  it('forgets shared columns of a deleted file, even when a new file takes its number', async () => {
    const dir = await tempDir();
    const { files } = openFiles(dir);
    const write = (t: number[]): [number, number, number][] =>
      [1, 2, 3].map((s) =>
        files.write(
          s,
          chunkOf(
            t,
            t.map((_, i) => s + i),
          ),
        ),
      );
    const old = grid(40);
    const before = write(old);
    for (const [seq, offset, length] of before) files.read(seq, offset, length); // caches the column
    files.remove(1);
    const fresh = grid(40, 1_800_000_000_000);
    const after = write(fresh);
    expect(after.map(([seq, offset]) => [seq, offset])).toEqual(before.map(([seq, offset]) => [seq, offset]));
    after.forEach(([seq, offset, length], s) =>
      expect(samples(files.read(seq, offset, length))).toEqual(
        expected(
          fresh,
          fresh.map((_, i) => s + 1 + i),
        ),
      ),
    );
    await files.close();
  });

  it('reads chunk files written before the columnar codec, and writes new chunks to a new file', async () => {
    const dir = await tempDir();
    const t = grid(50);
    const v = Float64Array.from(t, (_, i) => (i === 7 ? STALE_NAN : i * 0.5));
    writeFileSync(
      join(dir, '00000001'),
      Buffer.concat([
        Buffer.from('SWASCHK1'),
        legacyRecord(9, chunkOf(t, v)),
        legacyRecord(10, chunkOf(t.slice(0, 1), [4])),
      ]),
    );
    const warnings: string[] = [];
    const { files, found } = openFiles(dir, warnings);
    expect(warnings).toEqual([]);
    expect(found.map((f) => [f.ref, f.count])).toEqual([
      [9, 50],
      [10, 1],
    ]);
    const [a, b] = found.map((f) => files.read(f.seq, f.offset, f.length));
    expect(a?.codec).toBe('xor');
    expect(samples(a as StoredChunk)).toEqual(expected(t, v));
    expect(samples(b as StoredChunk)).toEqual(expected(t.slice(0, 1), [4]));
    const [seq] = files.write(11, chunkOf(t, v));
    expect(seq).toBe(2);
    await files.close();
    expect(readFileSync(join(dir, '00000002')).subarray(0, 8).toString()).toBe('SWASCHK2');
  });

  it('opens a store whose chunk files are in the old format and returns the same samples', async () => {
    const dir = await tempDir();
    let db = await EmbeddedTsdb.open({ dir, chunkSamples: 20 });
    for (let i = 0; i < 100; i++) {
      for (let s = 0; s < 5; s++)
        db.append({ __name__: 'm', s: String(s) }, 1_000_000 + i * 15_000 + s, s * i + 0.25);
    }
    await db.commit();
    const all = [{ name: '__name__', type: '=' as const, value: 'm' }];
    const before = db
      .select(all, -Infinity, Infinity)
      .map((s) => ({ ...s, t: Array.from(s.t), v: Array.from(s.v) }));
    await db.close();
    // Rewrite every chunk file as the previous version of swas wrote it.
    const chunkDir = join(dir, 'chunks');
    const { files, found } = openFiles(chunkDir);
    const rewritten = new Map<number, Buffer[]>();
    for (const f of found) {
      const decoded = samples(files.read(f.seq, f.offset, f.length));
      const bits = BigUint64Array.from(decoded.v, (h) => BigInt(`0x${h}`));
      const records = rewritten.get(f.seq) ?? [Buffer.from('SWASCHK1')];
      records.push(legacyRecord(f.ref, chunkOf(decoded.t, new Float64Array(bits.buffer))));
      rewritten.set(f.seq, records);
    }
    await files.close();
    expect(found.length).toBeGreaterThan(10);
    for (const [seq, records] of rewritten)
      writeFileSync(join(chunkDir, String(seq).padStart(8, '0')), Buffer.concat(records));
    db = await EmbeddedTsdb.open({ dir, chunkSamples: 20 });
    expect(db.openWarnings()).toEqual([]);
    const after = db
      .select(all, -Infinity, Infinity)
      .map((s) => ({ ...s, t: Array.from(s.t), v: Array.from(s.v) }));
    expect(after).toEqual(before);
    await db.close();
    expect(readdirSync(chunkDir).length).toBeGreaterThanOrEqual(1);
  });
});
