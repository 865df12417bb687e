import { createHash } from 'node:crypto';
import { runDnsProbe, type DnsProbeConfig } from './dnsProbe.js';
import { runHttpProbe, type HttpProbeConfig } from './httpProbe.js';
import { runHttpScenario, type HttpScenarioConfig } from './httpScenario.js';
import type { ScheduledProbe } from './ProbeScheduler.js';
import { runTcpProbe, type TcpProbeConfig } from './tcpProbe.js';
import { runTlsProbe, type TlsProbeConfig } from './tlsProbe.js';

/** What every probe definition carries besides its kind's fields. */
interface ProbeCommon {
  readonly name: string;
  readonly interval: number;
  readonly timeout: number;
  readonly labels: Readonly<Record<string, string>>;
}

/** A validated probe definition (swas.yaml `probes:`, or pushed to an agent). */
export type ProbeDefinition = ProbeCommon &
  (HttpProbeConfig | HttpScenarioConfig | TcpProbeConfig | DnsProbeConfig | TlsProbeConfig);

/** Binds a probe definition to the runner of its kind, for the {@link ProbeScheduler}. */
export function scheduledProbe(definition: ProbeDefinition): ScheduledProbe {
  const fingerprint = createHash('sha256').update(JSON.stringify(definition)).digest('hex');
  const base = {
    name: definition.name,
    kind: definition.kind,
    intervalMs: definition.interval,
    timeoutMs: definition.timeout,
    labels: definition.labels,
    fingerprint,
  };
  switch (definition.kind) {
    case 'http':
      return { ...base, run: (ctx) => runHttpProbe(definition, ctx) };
    case 'http_scenario':
      return { ...base, run: (ctx) => runHttpScenario(definition, ctx) };
    case 'tcp':
      return { ...base, run: (ctx) => runTcpProbe(definition, ctx) };
    case 'dns':
      return { ...base, run: (ctx) => runDnsProbe(definition, ctx) };
    case 'tls':
      return { ...base, run: (ctx) => runTlsProbe(definition, ctx) };
  }
}
