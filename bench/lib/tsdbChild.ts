/**
 * The process the restart benchmark kills: `node --import tsx bench/lib/tsdbChild.ts write DIR SERIES SCRAPES
 * INTERVAL_MS` fills an EmbeddedTsdb the way scrapes would (a commit per scrape round) and prints one JSON
 * line when done; `… open DIR` times EmbeddedTsdb.open plus a select of every series and prints one JSON
 * line. Either then waits, so the parent can kill it with SIGKILL like a crash would.
 */
import { performance } from 'node:perf_hooks';
import { EmbeddedTsdb } from '../../src/tsdb/index.js';
import { REALISTIC_JITTER, scrapeTime, seededRandom, SyntheticTarget } from './synthetic.js';

/** Series per synthetic target, as in the ingest benchmark's default. */
const SERIES_PER_TARGET = 2000;

/** What `write` prints when its data is committed. */
export interface WriteReport {
  readonly ready: true;
  readonly series: number;
  readonly samples: number;
  readonly seconds: number;
}

/** What `open` prints once every series was read back. */
export interface OpenReport {
  readonly openSeconds: number;
  readonly selectSeconds: number;
  readonly series: number;
  readonly samples: number;
  readonly rssBytes: number;
  readonly warnings: number;
}

async function write(dir: string, seriesCount: number, scrapes: number, intervalMs: number): Promise<void> {
  const started = performance.now();
  const db = await EmbeddedTsdb.open({ dir });
  const rand = seededRandom(42);
  const targets: { target: SyntheticTarget; refs: number[]; offsetMs: number }[] = [];
  for (let left = seriesCount, i = 0; left > 0; left -= SERIES_PER_TARGET, i++) {
    const target = new SyntheticTarget(
      `10.0.${i >> 8}.${i & 255}:9100`,
      Math.min(left, SERIES_PER_TARGET),
      rand,
    );
    const refs = target.labels.map((labels) => db.getOrCreateRef(labels) ?? -1);
    targets.push({ target, refs, offsetMs: Math.floor(rand() * intervalMs) });
  }
  // The data ends now, so it reads like the last hour before a crash.
  const startMs = Date.now() - scrapes * intervalMs;
  let samples = 0;
  for (let k = 0; k < scrapes; k++) {
    for (const { target, refs, offsetMs } of targets) {
      const t = scrapeTime(startMs, offsetMs, k, intervalMs, REALISTIC_JITTER, rand);
      const values = target.next(intervalMs / 1000);
      for (let s = 0; s < refs.length; s++) {
        if (db.appendRef(refs[s] ?? -1, t, values[s] ?? 0)?.ok) samples++;
      }
    }
    await db.commit();
  }
  const report: WriteReport = {
    ready: true,
    series: db.seriesCount(),
    samples,
    seconds: (performance.now() - started) / 1000,
  };
  console.log(JSON.stringify(report));
}

async function open(dir: string): Promise<void> {
  const started = performance.now();
  const db = await EmbeddedTsdb.open({ dir });
  const opened = performance.now();
  const data = db.select([{ name: '__name__', type: '=~', value: '.+' }], 0, Number.MAX_SAFE_INTEGER);
  let samples = 0;
  for (const series of data) samples += series.t.length;
  const selected = performance.now();
  const report: OpenReport = {
    openSeconds: (opened - started) / 1000,
    selectSeconds: (selected - opened) / 1000,
    series: data.length,
    samples,
    rssBytes: process.memoryUsage().rss,
    warnings: db.openWarnings().length,
  };
  console.log(JSON.stringify(report));
}

function positiveInt(raw: string | undefined, what: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`tsdbChild: ${what} must be a positive integer, got "${raw}"`);
  return n;
}

async function main(argv: readonly string[]): Promise<void> {
  const [mode, dir] = argv;
  if (dir === undefined || (mode !== 'write' && mode !== 'open'))
    throw new Error('usage: tsdbChild.ts write DIR SERIES SCRAPES INTERVAL_MS | tsdbChild.ts open DIR');
  if (mode === 'write')
    await write(
      dir,
      positiveInt(argv[2], 'SERIES'),
      positiveInt(argv[3], 'SCRAPES'),
      positiveInt(argv[4], 'INTERVAL_MS'),
    );
  else await open(dir);
  // Stay up with the store open, so the parent's SIGKILL is what ends it; bounded in case the parent dies.
  setTimeout(() => process.exit(0), 600_000);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exit(2);
});
