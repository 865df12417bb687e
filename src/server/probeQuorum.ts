import type { Logger } from 'pino';
import type { SwasConfig } from '../config/index.js';
import { errorMessage, type SampleAppender } from '../core/index.js';
import type { MetricsQuery } from '../promql/index.js';

/** A probe as the quorum sees it: how many vantage points must agree, and how often they report. */
export interface QuorumProbe {
  readonly name: string;
  readonly quorum: number;
  readonly intervalMs: number;
}

/** What the vantage points of one probe report now. */
export interface QuorumVerdict {
  readonly probe: string;
  /** Vantage points whose latest probe_success (within 3 intervals) is 0. */
  readonly failingVantages: string[];
  /** Vantage points with a recent probe_success at all. */
  readonly reportingVantages: number;
  /** 1 when at least `quorum` vantage points see the probe fail, else 0. */
  readonly failing: 0 | 1;
}

/**
 * Every probe name in the config (`probes:` run by the server, `agents.push[].probes` run by agents).
 * One name run from several places is one probe; if the definitions differ, the largest quorum and
 * interval count.
 */
export function quorumProbes(config: SwasConfig): QuorumProbe[] {
  const byName = new Map<string, QuorumProbe>();
  const definitions = [
    ...config.probes,
    ...config.agents.push.flatMap((e) => e.probes ?? []).map((p) => p.definition),
  ];
  for (const { name, quorum, interval } of definitions) {
    const seen = byName.get(name);
    byName.set(name, {
      name,
      quorum: Math.max(quorum, seen?.quorum ?? 0),
      intervalMs: Math.max(interval, seen?.intervalMs ?? 0),
    });
  }
  return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
}

/** Reads the latest probe_success of every vantage point of a probe and applies its quorum. */
export async function probeQuorumVerdict(
  query: MetricsQuery,
  probe: QuorumProbe,
  atMs: number,
): Promise<QuorumVerdict> {
  const windowS = Math.max(1, Math.ceil((3 * probe.intervalMs) / 1000));
  const expr = `last_over_time(probe_success{probe=${JSON.stringify(probe.name)}}[${windowS}s])`;
  const outcome = await query.instant(expr, atMs);
  if (!outcome.ok) throw new Error(`query ${expr} failed: ${outcome.error.message}`);
  if (outcome.value.resultType !== 'vector') throw new Error(`query ${expr} did not return a vector`);
  // One vantage point may have several series (its labels changed); it fails only if none succeeds.
  const succeeding = new Map<string, boolean>();
  for (const sample of outcome.value.result) {
    const vantage = sample.labels.vantage ?? '';
    succeeding.set(vantage, (succeeding.get(vantage) ?? false) || sample.value !== 0);
  }
  const failingVantages = [...succeeding]
    .filter(([, ok]) => !ok)
    .map(([vantage]) => vantage)
    .sort();
  return {
    probe: probe.name,
    failingVantages,
    reportingVantages: succeeding.size,
    failing: failingVantages.length >= probe.quorum ? 1 : 0,
  };
}

/** Options for {@link ProbeQuorumWatch}. */
export interface ProbeQuorumWatchOptions {
  readonly query: MetricsQuery;
  readonly appender: SampleAppender;
  /** The probes of the config in force (changes on reload). */
  readonly probes: () => readonly QuorumProbe[];
  readonly logger: Logger;
  readonly now: () => number;
  /** @default 5000 */
  readonly intervalMs?: number;
}

/**
 * Every few seconds, records `probe_quorum_failing{probe}`: 1 while at least `quorum` vantage points see
 * the probe fail, so one vantage point's network trouble pages nobody. Rules alert on this series.
 */
export class ProbeQuorumWatch {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> = Promise.resolve();

  constructor(private readonly options: ProbeQuorumWatchOptions) {}

  /** Starts evaluating on the interval. */
  start(): void {
    this.timer = setInterval(() => {
      this.running = this.running.then(async () => void (await this.evaluate()));
    }, this.options.intervalMs ?? 5000);
    this.timer.unref();
  }

  /** Stops evaluating and waits for an evaluation in flight. */
  async stop(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /** Evaluates every probe once and appends its verdict; a probe whose query fails is logged and skipped. */
  async evaluate(): Promise<QuorumVerdict[]> {
    const { query, appender, logger, now } = this.options;
    const at = now();
    const verdicts: QuorumVerdict[] = [];
    for (const probe of this.options.probes()) {
      try {
        const verdict = await probeQuorumVerdict(query, probe, at);
        appender.append({ __name__: 'probe_quorum_failing', probe: probe.name }, at, verdict.failing);
        verdicts.push(verdict);
      } catch (error) {
        logger.warn({ probe: probe.name, error: errorMessage(error) }, 'probe quorum not evaluated');
      }
    }
    return verdicts;
  }
}
