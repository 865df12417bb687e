/**
 * The load generator of the agent scale benchmark, run as its own process so its CPU is not the server's:
 * `node --import tsx bench/lib/agentLoad.ts CONFIG_JSON` opens one WebSocket per enrolled agent, says hello,
 * then has each agent send a `samples` frame every interval (phases spread evenly over the interval) with
 * `series` samples plus `probes` probe results (probe_success and probe_duration_seconds each), all stamped
 * with the send time. Tracked agents carry `swas_bench_marker` (value = seq) so the parent can see when a
 * batch became queryable. Prints JSON lines: `{type:'connected'}` once every agent is welcomed, then
 * `{type:'done', …}` with send and ack figures after `durationMs` of sending.
 */
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { WebSocket } from 'ws';
import { median } from './stats.js';

/** What the parent passes in (a JSON file). */
export interface AgentLoadConfig {
  /** ws://host:port/api/v1/agents/connect */
  readonly url: string;
  readonly agents: readonly { readonly name: string; readonly credential: string }[];
  readonly intervalMs: number;
  readonly series: number;
  readonly probes: number;
  /** Every agent whose index is a multiple of this carries the marker series. */
  readonly trackEvery: number;
  readonly durationMs: number;
  /** Connections opened at once while connecting. */
  readonly connectConcurrency: number;
}

/** The last line the child prints. */
export interface AgentLoadReport {
  readonly type: 'done';
  readonly agents: number;
  readonly batches: number;
  readonly samples: number;
  readonly acked: number;
  readonly unacked: number;
  /** Send → ack, ms. */
  readonly ackMsMedian: number;
  readonly ackMsP99: number;
  readonly ackMsMax: number;
  readonly closedByServer: number;
  readonly sendSeconds: number;
}

class SimulatedAgent {
  seq = 0;
  readonly sentAt = new Map<number, number>();
  closed = false;
  private readonly prefixes: string[];

  constructor(
    readonly name: string,
    private readonly ws: WebSocket,
    config: AgentLoadConfig,
    tracked: boolean,
  ) {
    this.prefixes = seriesPrefixes(config, name, tracked);
  }

  /** Sends one batch stamped now. */
  send(): void {
    if (this.closed) return;
    const t = Date.now();
    const seq = ++this.seq;
    const parts = this.prefixes.map(
      (prefix, i) => `${prefix}${t},"v":${i === 0 ? seq : (seq * 7 + i) % 1000}}`,
    );
    this.sentAt.set(seq, t);
    this.ws.send(`{"type":"samples","seq":${seq},"samples":[${parts.join(',')}]}`);
  }
}

/** The fixed start of each sample's JSON, up to `"t":`; the first is the marker on tracked agents. */
function seriesPrefixes(config: AgentLoadConfig, name: string, tracked: boolean): string[] {
  const prefixes: string[] = [];
  for (let i = 0; i < config.series; i++) {
    const metric = i === 0 && tracked ? 'swas_bench_marker' : `bench_metric_${i % 20}`;
    prefixes.push(`{"name":"${metric}","labels":{"idx":"${Math.floor(i / 20)}"},"t":`);
  }
  for (let p = 0; p < config.probes; p++) {
    const labels = `"labels":{"probe":"p${p}","vantage":"${name}"}`;
    prefixes.push(`{"name":"probe_success",${labels},"t":`);
    prefixes.push(`{"name":"probe_duration_seconds",${labels},"t":`);
  }
  return prefixes;
}

function connect(config: AgentLoadConfig, index: number, acks: number[]): Promise<SimulatedAgent> {
  const { name, credential } = config.agents[index] ?? { name: '', credential: '' };
  const ws = new WebSocket(config.url, { headers: { authorization: `Bearer ${credential}` } });
  const agent = new SimulatedAgent(name, ws, config, index % config.trackEvery === 0);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`agent ${name}: no welcome within 60 s`)), 60_000);
    ws.on('open', () =>
      ws.send(
        JSON.stringify({
          type: 'hello',
          protocol: 1,
          hostname: name,
          version: 'bench',
          labels: {},
          configVersion: null,
        }),
      ),
    );
    ws.on('message', (data: Buffer) => {
      const frame = JSON.parse(data.toString('utf8')) as { type: string; seq?: number };
      if (frame.type === 'welcome') {
        clearTimeout(timer);
        resolve(agent);
      } else if (frame.type === 'ack' && frame.seq !== undefined) {
        const sent = agent.sentAt.get(frame.seq);
        if (sent !== undefined) {
          acks.push(Date.now() - sent);
          agent.sentAt.delete(frame.seq);
        }
      }
    });
    ws.on('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`agent ${name}: ${error.message}`));
    });
    ws.on('close', () => {
      agent.closed = true;
    });
  });
}

async function connectAll(config: AgentLoadConfig, acks: number[]): Promise<SimulatedAgent[]> {
  const agents: SimulatedAgent[] = [];
  for (let start = 0; start < config.agents.length; start += config.connectConcurrency) {
    const end = Math.min(config.agents.length, start + config.connectConcurrency);
    const batch = [];
    for (let i = start; i < end; i++) batch.push(connect(config, i, acks));
    agents.push(...(await Promise.all(batch)));
  }
  return agents;
}

function percentile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

async function main(): Promise<void> {
  const file = process.argv[2];
  if (file === undefined) throw new Error('usage: agentLoad.ts CONFIG_JSON');
  const config = JSON.parse(await readFile(file, 'utf8')) as AgentLoadConfig;
  const acks: number[] = [];
  const agents = await connectAll(config, acks);
  process.stdout.write(`${JSON.stringify({ type: 'connected', agents: agents.length })}\n`);
  const started = Date.now();
  const timers: NodeJS.Timeout[] = [];
  agents.forEach((agent, i) => {
    const phase = Math.floor((i * config.intervalMs) / agents.length);
    timers.push(
      setTimeout(() => {
        agent.send();
        timers.push(setInterval(() => agent.send(), config.intervalMs));
      }, phase),
    );
  });
  await sleep(config.durationMs);
  for (const timer of timers) clearTimeout(timer);
  const sendSeconds = (Date.now() - started) / 1000;
  // Give the last batches time to be acknowledged.
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline && agents.some((a) => !a.closed && a.sentAt.size > 0)) await sleep(100);
  const batches = agents.reduce((n, a) => n + a.seq, 0);
  const report: AgentLoadReport = {
    type: 'done',
    agents: agents.length,
    batches,
    samples: batches * (config.series + 2 * config.probes),
    acked: acks.length,
    unacked: agents.reduce((n, a) => n + a.sentAt.size, 0),
    ackMsMedian: median(acks),
    ackMsP99: percentile(acks, 0.99),
    ackMsMax: acks.reduce((m, v) => Math.max(m, v), 0),
    closedByServer: agents.filter((a) => a.closed).length,
    sendSeconds,
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
  for (const agent of agents) agent.closed = true;
  await sleep(100);
  process.exit(0);
}

main().catch((error: unknown) => {
  process.stderr.write(`agentLoad failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
