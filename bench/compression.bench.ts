/**
 * Compression: SWAS_BENCH_COMPRESSION_SERIES realistic series (lib/synthetic.ts: counters of very different
 * rates, CPU-seconds counters, histogram buckets, integer and float gauges, constants) scraped every 15 s for
 * SWAS_BENCH_COMPRESSION_HOURS, written into EmbeddedTsdb once with realistic scrape jitter and once without.
 * Jittered timestamps are stored as the scrape loop stores them, aligned to the interval grid within the scrape
 * timestamp tolerance (src/ingest alignedScrapeTime; Prometheus ≥ 2.44 does the same); a third run without
 * alignment (swas only) shows what it saves.
 * Every head chunk is then sealed, and bytes per sample is the encoded sample bytes of sealed chunks
 * (stats().sealedDataBytes, no per-chunk headers) over stats().sealedSamples — the figure Prometheus quotes
 * (~1.3 bytes/sample on real data). One store per kind of series, so the mix and each kind are reported.
 * Prometheus's figure is for the very same samples: written as OpenMetrics, imported by promtool into blocks,
 * and its chunk data lengths summed (lib/promtoolPeer.ts); SWAS_BENCH_COMPRESSION_PEER=0 skips it.
 * The jittered run also reports how fast select() decodes the sealed chunks back (CPU time).
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { BenchContext, Figure } from './lib/context.js';
import { round } from './lib/stats.js';
import {
  REALISTIC_JITTER,
  scrapeTime,
  seededRandom,
  SERIES_KINDS,
  SyntheticTarget,
  type JitterModel,
  type SeriesKind,
} from './lib/synthetic.js';
import { alignedScrapeTime, DEFAULT_TIMESTAMP_TOLERANCE_MS } from '../src/ingest/index.js';
import { EmbeddedTsdb } from '../src/tsdb/index.js';
import { OpenMetricsWriter, promtoolBytes, type PeerBytes } from './lib/promtoolPeer.js';

const INTERVAL_MS = 15_000;
const SERIES_PER_TARGET = 200;
/** Commit every this many scrape rounds, so the WAL buffer stays small without an fsync per round. */
const COMMIT_EVERY = 40;

function envNumber(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min)
    throw new Error(`${name}="${raw}" must be a number ≥ ${min}; unset it to use ${fallback}`);
  return value;
}

/** Sealed bytes, sealed samples and chunk-file bytes of one run, per kind. */
type KindTotals = Map<SeriesKind, { bytes: number; samples: number; fileBytes: number }>;

/** Samples returned and CPU seconds spent by select() over every series, whole range and a tenth of it. */
interface DecodeTotals {
  full: { samples: number; cpuSeconds: number };
  tenth: { samples: number; cpuSeconds: number };
}

const ALL_SERIES = [{ name: '__name__', type: '=~' as const, value: '.+' }];

/** Best of three select() passes over [minT, maxT] (the first warms the chunk block cache). */
function timeSelect(db: EmbeddedTsdb, minT: number, maxT: number): { samples: number; cpuSeconds: number } {
  let best = Infinity;
  let samples = 0;
  for (let pass = 0; pass < 3; pass++) {
    const start = process.cpuUsage();
    samples = db.select(ALL_SERIES, minT, maxT).reduce((n, s) => n + s.t.length, 0);
    const used = process.cpuUsage(start);
    best = Math.min(best, (used.user + used.system) / 1e6);
  }
  return { samples, cpuSeconds: best };
}

interface Plan {
  readonly series: number;
  readonly scrapes: number;
  readonly jitter: JitterModel | null;
  /** Align jittered timestamps to the grid as the scrape loop does. */
  readonly align: boolean;
  readonly dir: string;
  /** Where to write the same samples as OpenMetrics for promtool; none when the peer is skipped. */
  readonly openMetrics: OpenMetricsWriter | null;
}

async function openStores(dir: string): Promise<Map<SeriesKind, EmbeddedTsdb>> {
  const stores = new Map<SeriesKind, EmbeddedTsdb>();
  for (const kind of SERIES_KINDS) stores.set(kind, await EmbeddedTsdb.open({ dir: join(dir, kind) }));
  return stores;
}

/**
 * Writes one run into a store per kind, seals every head, and returns what the stores report and how fast
 * select() decodes the sealed chunks back.
 */
async function writeRun(plan: Plan): Promise<{ totals: KindTotals; decode: DecodeTotals }> {
  const stores = await openStores(plan.dir);
  const rand = seededRandom(7);
  const targets: {
    target: SyntheticTarget;
    refs: [EmbeddedTsdb, number][];
    names: string[];
    offsetMs: number;
  }[] = [];
  for (let left = plan.series, i = 0; left > 0; left -= SERIES_PER_TARGET, i++) {
    const target = new SyntheticTarget(`10.1.0.${i}:8080`, Math.min(left, SERIES_PER_TARGET), rand);
    const refs = target.labels.map((labels, s): [EmbeddedTsdb, number] => {
      const db = stores.get(target.kinds[s] ?? 'constant');
      if (db === undefined) throw new Error(`no store for series kind ${target.kinds[s]}`);
      return [db, db.getOrCreateRef(labels) ?? -1];
    });
    const names = plan.openMetrics === null ? [] : OpenMetricsWriter.names(target.labels);
    targets.push({ target, refs, names, offsetMs: Math.floor(rand() * INTERVAL_MS) });
  }
  const startMs = Date.UTC(2026, 0, 1);
  let lastT = startMs;
  for (let k = 0; k < plan.scrapes; k++) {
    for (const { target, refs, names, offsetMs } of targets) {
      const raw = scrapeTime(startMs, offsetMs, k, INTERVAL_MS, plan.jitter, rand);
      const tick = startMs + offsetMs + k * INTERVAL_MS;
      const t = plan.align ? alignedScrapeTime(raw, tick, INTERVAL_MS, DEFAULT_TIMESTAMP_TOLERANCE_MS) : raw;
      lastT = Math.max(lastT, t);
      const values = target.next(INTERVAL_MS / 1000);
      refs.forEach(([db, ref], s) => db.appendRef(ref, t, values[s] ?? 0));
      plan.openMetrics?.scrape(names, t, values);
    }
    if (k % COMMIT_EVERY === COMMIT_EVERY - 1)
      await Promise.all([...stores.values()].map((db) => db.commit()));
  }
  plan.openMetrics?.finish();
  const totals: KindTotals = new Map();
  const decode: DecodeTotals = { full: { samples: 0, cpuSeconds: 0 }, tenth: { samples: 0, cpuSeconds: 0 } };
  for (const [kind, db] of stores) {
    // Retention seals heads quiet for the chunk span (2 h by default); nothing is old enough to be deleted.
    await db.enforceRetention(lastT + 3 * 3_600_000);
    await db.commit();
    const s = db.stats();
    if (s.headChunks !== 0) throw new Error(`${s.headChunks} ${kind} head chunks were left unsealed`);
    totals.set(kind, { bytes: s.sealedDataBytes, samples: s.sealedSamples, fileBytes: s.chunkFileBytes });
    const span = lastT - startMs;
    for (const [part, from, to] of [
      ['full', startMs, lastT],
      ['tenth', startMs + 0.45 * span, startMs + 0.55 * span],
    ] as const) {
      const timed = timeSelect(db, from, to);
      decode[part].samples += timed.samples;
      decode[part].cpuSeconds += timed.cpuSeconds;
    }
    await db.close();
  }
  return { totals, decode };
}

function perSample(totals: KindTotals, kinds: readonly SeriesKind[], field: 'bytes' | 'fileBytes'): number {
  let bytes = 0;
  let samples = 0;
  for (const kind of kinds) {
    const t = totals.get(kind);
    bytes += t?.[field] ?? 0;
    samples += t?.samples ?? 0;
  }
  return round(bytes / samples, 3);
}

/** The overall figure of one run, with Prometheus's bytes per sample for the same samples beside it. */
function overall(totals: KindTotals, peer: PeerBytes | null, note: string): Figure {
  const value = perSample(totals, SERIES_KINDS, 'bytes');
  if (peer === null) return { value, unit: 'bytes/sample', goal: '≤ 1.4', note };
  const peerValue = round(peer.dataBytes / peer.samples, 3);
  return {
    value,
    unit: 'bytes/sample',
    peer: 'prometheus',
    peer_value: peerValue,
    ratio: round(value / peerValue, 3),
    goal: '≤ 1.4',
    note: `${note}; prometheus: chunk data of promtool-built blocks (${peer.samples} samples, ${peer.chunks} chunks)`,
  };
}

interface Run {
  readonly totals: KindTotals;
  readonly decode: DecodeTotals;
  readonly peer: PeerBytes | null;
}

async function measure(
  ctx: BenchContext,
  name: string,
  series: number,
  scrapes: number,
  jitter: JitterModel | null,
  options: { align: boolean; peer: boolean } = { align: true, peer: true },
): Promise<Run> {
  const withPeer = options.peer && process.env.SWAS_BENCH_COMPRESSION_PEER !== '0';
  const omFile = join(ctx.dir, `${name}.om`);
  const openMetrics = withPeer ? new OpenMetricsWriter(omFile) : null;
  const { totals, decode } = await writeRun({
    series,
    scrapes,
    jitter,
    align: options.align,
    dir: join(ctx.dir, name),
    openMetrics,
  });
  if (!withPeer) return { totals, decode, peer: null };
  ctx.log(`promtool imports the same samples (${name})`);
  const peer = await promtoolBytes(omFile, join(ctx.dir, `${name}-blocks`));
  await rm(omFile, { force: true });
  const sealed = [...totals.values()].reduce((n, t) => n + t.samples, 0);
  if (peer.samples !== sealed)
    throw new Error(
      `promtool stored ${peer.samples} samples but EmbeddedTsdb sealed ${sealed} (${name}); the two figures ` +
        `would not describe the same data — keep the files with SWAS_BENCH_KEEP=1 and compare them`,
    );
  return { totals, decode, peer };
}

/** Writes the mix with and without scrape jitter and reports sealed bytes per sample, overall and per kind. */
export async function run(ctx: BenchContext): Promise<void> {
  const series = Math.floor(envNumber('SWAS_BENCH_COMPRESSION_SERIES', 4000, 40));
  const hours = envNumber('SWAS_BENCH_COMPRESSION_HOURS', 3, 0.5);
  const scrapes = Math.round((hours * 3_600_000) / INTERVAL_MS);
  const size = `${series} series × ${scrapes} samples at 15 s`;
  ctx.log(`writing ${size}, with jitter`);
  const jittered = await measure(ctx, 'jitter', series, scrapes, REALISTIC_JITTER);
  ctx.log('writing the same without jitter');
  const exact = await measure(ctx, 'exact', series, scrapes, null);
  ctx.log('writing the same with jitter but no timestamp alignment (swas only)');
  const unaligned = await measure(ctx, 'unaligned', series, scrapes, REALISTIC_JITTER, {
    align: false,
    peer: false,
  });
  const jitterNote =
    `scrape timestamps ±${REALISTIC_JITTER.sdMs} ms (sd), ${REALISTIC_JITTER.lateShare * 100} % late by up to ` +
    `${REALISTIC_JITTER.lateMaxMs} ms, aligned within ${DEFAULT_TIMESTAMP_TOLERANCE_MS} ms of the grid`;
  const sealedSamples = [...jittered.totals.values()].reduce((n, t) => n + t.samples, 0);
  ctx.figure(
    'bytes_per_sample',
    overall(
      jittered.totals,
      jittered.peer,
      `sealed chunk data, all kinds, ${jitterNote}; ${size}, ${sealedSamples} sealed samples`,
    ),
  );
  ctx.figure(
    'bytes_per_sample_no_jitter',
    overall(exact.totals, exact.peer, 'the same series with scrape timestamps exactly 15 s apart'),
  );
  ctx.figure('bytes_per_sample_unaligned', {
    value: perSample(unaligned.totals, SERIES_KINDS, 'bytes'),
    unit: 'bytes/sample',
    note: 'the jittered run without scrape timestamp alignment, as swas stored it before alignment',
  });
  ctx.figure('chunk_file_bytes_per_sample', {
    value: perSample(jittered.totals, SERIES_KINDS, 'fileBytes'),
    unit: 'bytes/sample',
    ...(jittered.peer === null
      ? {}
      : { peer: 'prometheus', peer_value: round(jittered.peer.fileBytes / jittered.peer.samples, 3) }),
    note: 'whole chunk files (record headers included) over sealed samples, with jitter',
  });
  const rate = (part: { samples: number; cpuSeconds: number }): number =>
    round(part.samples / part.cpuSeconds / 1e6, 2);
  ctx.figure('select_decode_msamples_per_cpu_second', {
    value: rate(jittered.decode.full),
    unit: 'M samples/s',
    note:
      `select() of every series over the whole range from sealed chunks (chunk block cache warm), best of 3, ` +
      `CPU time; over the middle tenth of the range: ${rate(jittered.decode.tenth)}`,
  });
  for (const kind of SERIES_KINDS) {
    ctx.figure(`bytes_per_sample_${kind}`, {
      value: perSample(jittered.totals, [kind], 'bytes'),
      unit: 'bytes/sample',
      note: `with jitter; without: ${perSample(exact.totals, [kind], 'bytes')}`,
    });
  }
}
