/**
 * Prometheus's side of the compression figure: the same samples written as OpenMetrics text, turned into TSDB
 * blocks by `promtool tsdb create-blocks-from openmetrics` (Debian package), and Prometheus's chunk data bytes
 * read back from the blocks' chunk files, so both engines encode exactly the same series.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, writeSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Labels } from '../../src/core/index.js';

/** The Debian package's binary. */
export const PROMTOOL_BIN = '/usr/bin/promtool';

/** Chunk data bytes and samples Prometheus stored. */
export interface PeerBytes {
  readonly dataBytes: number;
  readonly fileBytes: number;
  readonly samples: number;
  readonly chunks: number;
}

function seriesText(labels: Labels): string {
  const { __name__: name = 'unnamed', ...rest } = labels;
  const pairs = Object.keys(rest)
    .sort()
    .map((k) => `${k}="${(rest[k] ?? '').replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`);
  return `${name}{${pairs.join(',')}}`;
}

/** Appends samples to an OpenMetrics file, one scrape at a time; finish() writes the `# EOF` line. */
export class OpenMetricsWriter {
  private readonly fd: number;

  constructor(readonly path: string) {
    this.fd = openSync(path, 'w');
  }

  /** The series names of a target, formatted once. */
  static names(labels: readonly Labels[]): string[] {
    return labels.map(seriesText);
  }

  /** One scrape: every series of `names` with its value at time `t` (ms). */
  scrape(names: readonly string[], t: number, values: Float64Array): void {
    const ts = (t / 1000).toFixed(3);
    let text = '';
    for (let s = 0; s < names.length; s++) text += `${names[s]} ${values[s] ?? 0} ${ts}\n`;
    writeSync(this.fd, text);
  }

  finish(): void {
    writeSync(this.fd, '# EOF\n');
    closeSync(this.fd);
  }
}

function uvarint(buf: Buffer, offset: number): [number, number] {
  let value = 0;
  let shift = 0;
  for (let i = offset; i < buf.length; i++) {
    const byte = buf[i] ?? 0;
    value += (byte & 0x7f) * 2 ** shift;
    shift += 7;
    if (byte < 0x80) return [value, i + 1];
  }
  throw new Error(`truncated uvarint at byte ${offset} of a Prometheus chunk file`);
}

/** Sums chunk data lengths of one block chunk file: 8-byte header, then (uvarint len, encoding, data, crc32)*. */
function chunkDataBytes(buf: Buffer): { data: number; chunks: number } {
  let data = 0;
  let chunks = 0;
  for (let offset = 8; offset < buf.length;) {
    const [length, at] = uvarint(buf, offset);
    data += length;
    chunks++;
    offset = at + 1 + length + 4;
  }
  return { data, chunks };
}

/** Runs promtool on `input` into `outDir` and measures the blocks it wrote. */
export async function promtoolBytes(input: string, outDir: string): Promise<PeerBytes> {
  if (!existsSync(PROMTOOL_BIN))
    throw new Error(`${PROMTOOL_BIN} is missing; install it with: apt-get install prometheus`);
  const done = spawnSync(
    PROMTOOL_BIN,
    ['tsdb', 'create-blocks-from', 'openmetrics', '--quiet', input, outDir],
    {
      encoding: 'utf8',
      timeout: 600_000,
    },
  );
  if (done.status !== 0)
    throw new Error(`promtool could not import ${input} (exit ${done.status}): ${done.stderr.slice(0, 400)}`);
  let dataBytes = 0;
  let fileBytes = 0;
  let samples = 0;
  let chunks = 0;
  for (const block of await readdir(outDir)) {
    const meta = JSON.parse(await readFile(join(outDir, block, 'meta.json'), 'utf8')) as {
      stats?: { numSamples?: number };
    };
    samples += meta.stats?.numSamples ?? 0;
    for (const file of await readdir(join(outDir, block, 'chunks'))) {
      const buf = await readFile(join(outDir, block, 'chunks', file));
      const counted = chunkDataBytes(buf);
      dataBytes += counted.data;
      chunks += counted.chunks;
      fileBytes += buf.length;
    }
  }
  return { dataBytes, fileBytes, samples, chunks };
}
