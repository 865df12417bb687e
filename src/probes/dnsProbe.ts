import { Resolver } from 'node:dns/promises';
import { performance } from 'node:perf_hooks';
import { formatDuration } from '../core/index.js';
import { probeResult, secondsSince, startDeadline, type ProbeDeadline } from './netConnect.js';
import { compileProbeRegex } from './httpExpect.js';
import type { ProbeRunner } from './types.js';

/** Record types a `dns` probe can query. */
export type DnsRecordType = 'A' | 'AAAA' | 'CNAME' | 'MX' | 'TXT' | 'NS' | 'SRV';

/** A `dns` probe: query one name for one record type and check the answer. */
export interface DnsProbeConfig {
  readonly kind: 'dns';
  /** The name to query. */
  readonly query: string;
  readonly type: DnsRecordType;
  /** DNS server as `ip` or `ip:port`; default the system's (`/etc/resolv.conf`). */
  readonly server?: string | undefined;
  /** Milliseconds the whole probe may take. */
  readonly timeout: number;
  readonly expect: {
    /** Values that must all be in the answer (names compare without case or trailing dot). */
    readonly answers?: readonly string[] | undefined;
    /** RE2 pattern at least one answer must match (unanchored). */
    readonly matches?: string | undefined;
    /** Fewest answers that count as success. */
    readonly min_answers: number;
  };
}

const dnsErrorText: Record<string, string> = {
  ESERVFAIL: 'the server failed to answer (SERVFAIL)',
  EREFUSED: 'the server refused the query (REFUSED)',
  ECONNREFUSED: 'connection refused',
  EFORMERR: 'the server says the query is malformed (FORMERR)',
  EBADRESP: 'the reply is malformed',
  ENOTIMP: 'the server does not implement this query (NOTIMP)',
};

/** Each answer as one line of text, the way `dig +short` would print it. */
function answerTexts(type: DnsRecordType, records: unknown[]): string[] {
  return records.map((record) => {
    if (type === 'TXT') return (record as string[]).join('');
    if (type === 'MX') {
      const mx = record as { priority: number; exchange: string };
      return `${mx.priority} ${mx.exchange}`;
    }
    if (type === 'SRV') {
      const srv = record as { priority: number; weight: number; port: number; name: string };
      return `${srv.priority} ${srv.weight} ${srv.port} ${srv.name}`;
    }
    return String(record);
  });
}

/** Answers compare like DNS does: names without case or trailing dot; TXT exactly. */
function sameAnswer(type: DnsRecordType, a: string, b: string): boolean {
  if (type === 'TXT') return a === b;
  const norm = (s: string) => s.toLowerCase().replace(/\.$/, '');
  return norm(a) === norm(b);
}

/** The answers as a short list for an error message. */
function listAnswers(answers: string[]): string {
  if (answers.length === 0) return 'no answers';
  const shown = answers.slice(0, 5).join(', ');
  return answers.length > 5 ? `${shown}, … ${answers.length - 5} more` : shown;
}

/** Queries; returns the answers (empty for NODATA) or the error as text. */
async function query(
  resolver: Resolver,
  config: DnsProbeConfig,
  deadline: ProbeDeadline,
): Promise<{ answers: string[] } | { error: string }> {
  const cancel = () => resolver.cancel();
  deadline.signal.addEventListener('abort', cancel, { once: true });
  try {
    const records = (await resolver.resolve(config.query, config.type)) as unknown[];
    return { answers: answerTexts(config.type, records) };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    if (code === 'ENODATA') return { answers: [] };
    if (code === 'ENOTFOUND') return { error: `${config.query} does not exist (NXDOMAIN)` };
    if (code === 'ETIMEOUT' || code === 'ECANCELLED' || deadline.signal.aborted)
      return {
        error: `no reply; ${deadline.signal.aborted ? deadline.reason() : `timed out after ${formatDuration(config.timeout)}`}`,
      };
    return { error: dnsErrorText[code] ?? (error instanceof Error ? error.message : String(error)) };
  } finally {
    deadline.signal.removeEventListener('abort', cancel);
  }
}

/** The first broken expectation about the answers, or null. */
function checkAnswers(config: DnsProbeConfig, answers: string[]): string | null {
  const { expect, type } = config;
  if (answers.length < expect.min_answers) {
    const count = answers.length === 1 ? '1 answer' : `${answers.length} answers`;
    return `${count}, want at least ${expect.min_answers} (got ${listAnswers(answers)})`;
  }
  for (const wanted of expect.answers ?? []) {
    if (!answers.some((answer) => sameAnswer(type, answer, wanted)))
      return `no answer is ${wanted} (got ${listAnswers(answers)})`;
  }
  if (expect.matches !== undefined) {
    const compiled = compileProbeRegex(expect.matches);
    if (!compiled.ok) return `${compiled.error}; fix expect.matches in the probe config`;
    const pattern = compiled.regex;
    if (!answers.some((answer) => pattern.test(answer)))
      return `no answer matches /${expect.matches}/ (got ${listAnswers(answers)})`;
  }
  return null;
}

/**
 * Queries a DNS server (or the system's) for one record and checks the answer. Gauges:
 * `probe_dns_lookup_time_seconds` (the query's round trip), `probe_dns_answer_rrs`, `probe_dns_query_succeeded`.
 */
export const runDnsProbe: ProbeRunner<DnsProbeConfig> = async (config, ctx) => {
  const start = performance.now();
  const resolver = new Resolver({ timeout: config.timeout, tries: 1 });
  try {
    if (config.server !== undefined) resolver.setServers([config.server]);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return probeResult(
      start,
      `DNS server "${config.server}" is not usable (${reason}); write it as ip or ip:port`,
      {},
    );
  }
  const where = `DNS ${config.type} ${config.query} @${config.server ?? `${resolver.getServers().join(',')} (system)`}`;
  const deadline = startDeadline(ctx, config.timeout);
  const outcome = await query(resolver, config, deadline);
  const metrics: Record<string, number> = { probe_dns_lookup_time_seconds: secondsSince(start) };
  if ('error' in outcome) {
    return probeResult(start, `${where}: ${outcome.error}`, { ...metrics, probe_dns_query_succeeded: 0 });
  }
  metrics.probe_dns_query_succeeded = 1;
  metrics.probe_dns_answer_rrs = outcome.answers.length;
  const problem = checkAnswers(config, outcome.answers);
  return probeResult(start, problem === null ? null : `${where}: ${problem}`, metrics);
};
