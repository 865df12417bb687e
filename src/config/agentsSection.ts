import { createHash } from 'node:crypto';
import { z } from 'zod';
import { agentScrapeTargetSchema, hostCollectorsSchema, type AgentCollectorsConfig } from './agentConfig.js';
import { probeConfig, type ProbeConfig } from './probeConfig.js';
import { duration, labelName, name } from './schemaParts.js';

/**
 * Re-reports the issues of an inner parse on the current value, so paths (and so file:line) stay right.
 * Used where the section keeps more than the inner schema's output (the raw probe, the keys given).
 */
function forwardIssues(issues: readonly z.core.$ZodIssue[], ctx: z.core.$RefinementCtx<unknown>): void {
  for (const issue of issues) ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path });
}

/**
 * Collector settings to push: checked like agent.yaml `collectors:`, keeping only the keys written so a
 * later entry (or the agent's own file) is overridden only where this one says something.
 */
const pushedCollectors = z
  .unknown()
  .transform((raw, ctx): Partial<AgentCollectorsConfig> => {
    const parsed = hostCollectorsSchema.safeParse(raw);
    if (!parsed.success) {
      forwardIssues(parsed.error.issues, ctx);
      return z.NEVER;
    }
    const given = new Set(Object.keys(raw as object));
    return Object.fromEntries(Object.entries(parsed.data).filter(([key]) => given.has(key)));
  })
  .meta({
    description:
      'collector settings as in agent.yaml `collectors:` (log_watches, services, …); each key given replaces the agent’s own',
  });

/** A probe to push: checked like `probes:`; the text as written is what the agent receives and re-checks. */
const pushedProbe = z
  .unknown()
  .transform((raw, ctx): PushedProbe => {
    const parsed = probeConfig.safeParse(raw);
    if (!parsed.success) {
      forwardIssues(parsed.error.issues, ctx);
      return z.NEVER;
    }
    return { source: raw, definition: parsed.data };
  })
  .meta({ description: 'a probe as under `probes:`; it runs on the agent with vantage="<agent name>"' });

/** A scrape target to push: checked like agent.yaml `scrape:`; the text as written is sent. */
const pushedScrape = z
  .unknown()
  .transform((raw, ctx): unknown => {
    const parsed = agentScrapeTargetSchema.safeParse(raw);
    if (!parsed.success) {
      forwardIssues(parsed.error.issues, ctx);
      return z.NEVER;
    }
    return raw;
  })
  .meta({ description: 'a local /metrics endpoint as under agent.yaml `scrape:`, added to the agent’s own' });

/** A pushed probe: as written in swas.yaml (sent to agents) and validated (for quorum). */
export interface PushedProbe {
  readonly source: unknown;
  readonly definition: ProbeConfig;
}

const pushEntry = z.strictObject({
  match: z
    .record(labelName, z.string())
    .default({})
    .describe('agent labels (and `agent`, its name) that must all be equal; empty: every agent'),
  collectors: pushedCollectors.optional(),
  probes: z
    .array(pushedProbe)
    .optional()
    .describe(
      'probes as under `probes:` (any kind); the matching agents run them with vantage="<agent name>"',
    ),
  scrape: z.array(pushedScrape).optional(),
});

type PushEntry = z.output<typeof pushEntry>;

/** Two entries may both apply to one agent unless they require different values of one label. */
function mayOverlap(a: PushEntry, b: PushEntry): boolean {
  return Object.entries(a.match).every(([label, value]) => (b.match[label] ?? value) === value);
}

/** Probe names must be unique per agent: within an entry, and across entries that may match one agent. */
function checkProbeNames(entries: readonly PushEntry[], ctx: z.core.$RefinementCtx<PushEntry[]>): void {
  entries.forEach((entry, i) => {
    const seen = new Set<string>();
    entry.probes?.forEach((probe, p) => {
      const name = probe.definition.name;
      const clash = seen.has(name)
        ? 'twice in this entry'
        : entries.slice(0, i).findIndex((e) => mayOverlap(e, entry) && hasProbe(e, name));
      seen.add(name);
      if (clash === -1) return;
      ctx.addIssue({
        code: 'custom',
        path: [i, 'probes', p, 'name'],
        message:
          typeof clash === 'string'
            ? `probe "${name}" is declared ${clash}; give each probe its own name`
            : `probe "${name}" is also pushed by agents.push[${clash}], which can match the same agent; rename one or make their match labels exclusive`,
      });
    });
  });
}

function hasProbe(entry: PushEntry, name: string): boolean {
  return entry.probes?.some((p) => p.definition.name === name) ?? false;
}

const registerEntry = z.strictObject({
  match: z
    .record(labelName, z.string())
    .default({})
    .describe('agent labels (and `agent`, its name) that must all be equal; empty: every agent'),
  pool: name.describe('the pool a matching agent joins, as a member named after the agent'),
  port: z.number().int().min(1).max(65535).describe('the port the service listens on, on the agent’s host'),
  weight: z.number().int().min(1).max(256).default(1).describe('the new member’s full weight'),
  slowstart: duration()
    .prefault('0s')
    .describe('the load balancer’s own ramp after the member turns ready (HAProxy slowstart)'),
  runbook: name.describe(
    'the runbook that checks the new member and brings it to ready with a ramp; it is started with labels pool, member and agent (and the agent’s labels)',
  ),
});

/** swas.yaml `agents:`: configuration the server pushes to connected agents. */
export const agentsSectionSchema = z
  .strictObject({
    push: z
      .array(pushEntry)
      .default([])
      .superRefine(checkProbeNames)
      .describe(
        'config pushed to agents whose labels match; an agent merges every matching entry in order and applies it without a restart',
      ),
    register: z
      .array(registerEntry)
      .default([])
      .describe(
        'pools a connecting agent joins: added in maint at the address it connects from, then the runbook brings it in; an agent that goes away is left to the runbooks, never removed silently',
      ),
  })
  .prefault({});

/** The validated `agents:` section. */
export type AgentsSection = z.output<typeof agentsSectionSchema>;

/** What one agent is sent: collector settings over its own, and probes as written in swas.yaml. */
export interface PushedAgentConfig {
  /** A short hash of `config`: the version the agent reports back. */
  readonly version: string;
  readonly config: {
    readonly collectors: Partial<AgentCollectorsConfig>;
    readonly probes: readonly unknown[];
    /** Scrape targets as written, added to the agent's own `scrape:`. */
    readonly scrape: readonly unknown[];
  };
  /** The validated probes in `config.probes`, in the same order. */
  readonly probes: readonly ProbeConfig[];
}

/**
 * The merge of every `agents.push` entry whose `match` labels the agent has (`agent` is its name): later
 * entries' collector keys win, probes are concatenated.
 */
export function pushedConfigFor(
  section: AgentsSection,
  agent: { readonly name: string; readonly labels: Readonly<Record<string, string>> },
): PushedAgentConfig {
  const labels: Record<string, string> = { ...agent.labels, agent: agent.name };
  const matching = section.push.filter((entry) =>
    Object.entries(entry.match).every(([label, value]) => labels[label] === value),
  );
  const collectors = Object.assign(
    {},
    ...matching.map((e) => e.collectors ?? {}),
  ) as Partial<AgentCollectorsConfig>;
  const probes = matching.flatMap((e) => e.probes ?? []);
  const scrape = matching.flatMap((e) => e.scrape ?? []);
  const config = { collectors, probes: probes.map((p) => p.source), scrape };
  const version = createHash('sha256').update(JSON.stringify(config)).digest('hex').slice(0, 12);
  return { version, config, probes: probes.map((p) => p.definition) };
}
