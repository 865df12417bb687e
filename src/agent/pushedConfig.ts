import type { z } from 'zod';
import {
  agentScrapeTargetSchema,
  hostCollectorsSchema,
  probeConfig,
  type AgentCollectorsConfig,
  type AgentScrapeTarget,
  type ProbeConfig,
} from '../config/index.js';
import type { AppendResult, Labels, SampleAppender } from '../core/index.js';
import { scheduledProbe, type ScheduledProbe } from '../probes/index.js';
import { toWireValue, type WireSample } from './protocol.js';

/** A pushed config that passed every check, ready to apply; or why it is refused. */
export type PushedConfigCheck =
  | { ok: true; collectors: AgentCollectorsConfig; probes: ScheduledProbe[]; scrape: AgentScrapeTarget[] }
  | { ok: false; error: string };

/**
 * Checks a pushed `{collectors, probes}` the way agent.yaml and swas.yaml are checked. Pushed collector
 * keys replace the agent's own (`local`); probes are validated with the server's probe schema. Nothing is
 * applied here, so a refusal leaves the running config untouched.
 */
export function checkPushedConfig(
  pushed: unknown,
  local: AgentCollectorsConfig,
  localScrape: readonly AgentScrapeTarget[] = [],
): PushedConfigCheck {
  if (!isObject(pushed))
    return { ok: false, error: 'the pushed config is not an object {collectors, probes}' };
  const unknownKeys = Object.keys(pushed).filter((k) => !['collectors', 'probes', 'scrape'].includes(k));
  if (unknownKeys.length > 0)
    return {
      ok: false,
      error: `the pushed config has unknown keys ${unknownKeys.join(', ')}; is the agent older than the server?`,
    };
  const pushedCollectors = pushed.collectors ?? {};
  if (!isObject(pushedCollectors)) return { ok: false, error: 'collectors: must be an object' };
  const collectors = hostCollectorsSchema.safeParse({ ...local, ...pushedCollectors });
  if (!collectors.success) return { ok: false, error: firstIssue('collectors', collectors.error) };
  const rawProbes = pushed.probes ?? [];
  if (!Array.isArray(rawProbes)) return { ok: false, error: 'probes: must be a list' };
  const probes: ProbeConfig[] = [];
  const names = new Set<string>();
  for (const [i, raw] of rawProbes.entries()) {
    const parsed = probeConfig.safeParse(raw);
    if (!parsed.success) return { ok: false, error: firstIssue(`probes.${i}`, parsed.error) };
    if (names.has(parsed.data.name))
      return { ok: false, error: `probes.${i}.name: probe "${parsed.data.name}" is pushed twice` };
    names.add(parsed.data.name);
    probes.push(parsed.data);
  }
  const rawScrape = pushed.scrape ?? [];
  if (!Array.isArray(rawScrape)) return { ok: false, error: 'scrape: must be a list' };
  const scrape: AgentScrapeTarget[] = [...localScrape];
  for (const [i, raw] of rawScrape.entries()) {
    const parsed = agentScrapeTargetSchema.safeParse(raw);
    if (!parsed.success) return { ok: false, error: firstIssue(`scrape.${i}`, parsed.error) };
    if (scrape.some((t) => t.name === parsed.data.name))
      return {
        ok: false,
        error: `scrape.${i}.name: target "${parsed.data.name}" is already scraped (agent.yaml or pushed twice)`,
      };
    scrape.push(parsed.data);
  }
  return { ok: true, collectors: collectors.data, probes: probes.map(scheduledProbe), scrape };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function firstIssue(prefix: string, error: z.ZodError): string {
  const issue = error.issues[0];
  const path = [prefix, ...(issue?.path ?? [])].join('.');
  return `${path}: ${issue?.message ?? 'invalid'}`;
}

/**
 * The appender agent-run probes write through: samples of one probe run (appended together, in one
 * tick) become one spool batch, so probe results spool and replay like collector samples.
 */
export class SpoolBatchAppender implements SampleAppender {
  private pending: WireSample[] = [];

  /**
   * @param labels the agent's own labels, under the probe's (as for collector samples)
   * @param write stores one batch in the spool and wakes the link
   */
  constructor(
    private readonly labels: Readonly<Record<string, string>>,
    private readonly write: (samples: WireSample[]) => void,
  ) {}

  append(labels: Labels, t: number, v: number): AppendResult {
    const { __name__: name, ...rest } = labels;
    if (name === undefined) return { ok: false, reason: 'invalid_labels' };
    if (this.pending.length === 0) queueMicrotask(() => this.flush());
    this.pending.push({ name, labels: { ...this.labels, ...rest }, t, v: toWireValue(v) });
    return { ok: true };
  }

  private flush(): void {
    const samples = this.pending;
    this.pending = [];
    if (samples.length > 0) this.write(samples);
  }
}
