import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDnsServer, type TestDnsServer } from '../../test/support/dnsServer.js';
import { runDnsProbe, type DnsProbeConfig, type ProbeContext } from './index.js';

const ctx: ProbeContext = { signal: new AbortController().signal, now: () => Date.now() };

describe('runDnsProbe against a real UDP DNS server', () => {
  let dns: TestDnsServer;

  beforeAll(async () => {
    dns = await startDnsServer({
      records: {
        'example.test': [
          { type: 'A', value: '10.0.0.1' },
          { type: 'AAAA', value: 'fd00::1' },
          { type: 'MX', priority: 10, exchange: 'mail.example.test' },
          { type: 'TXT', value: 'v=spf1 ip4:10.0.0.0/24 -all' },
          { type: 'NS', value: 'ns1.example.test' },
        ],
        'pool.example.test': [
          { type: 'A', value: '10.0.1.1' },
          { type: 'A', value: '10.0.1.2' },
        ],
        'www.example.test': [{ type: 'CNAME', value: 'example.test' }],
        '_sip._tcp.example.test': [
          { type: 'SRV', priority: 0, weight: 5, port: 5060, target: 'sip.example.test' },
        ],
      },
      silent: ['slow.example.test'],
      servfail: ['broken.example.test'],
    });
  });
  afterAll(async () => {
    await dns.stop();
  });

  function probe(name: string, extra: Partial<DnsProbeConfig> = {}): DnsProbeConfig {
    return {
      kind: 'dns',
      query: name,
      type: 'A',
      server: dns.address,
      timeout: 2000,
      expect: { min_answers: 1 },
      ...extra,
    };
  }

  it('resolves A records and checks expected answers', async () => {
    const result = await runDnsProbe(
      probe('pool.example.test', { expect: { answers: ['10.0.1.2', '10.0.1.1'], min_answers: 2 } }),
      ctx,
    );
    expect(result).toMatchObject({ success: true, error: null });
    expect(result.metrics).toMatchObject({ probe_dns_answer_rrs: 2, probe_dns_query_succeeded: 1 });
    expect(result.metrics.probe_dns_lookup_time_seconds).toBeGreaterThan(0);
    expect(dns.queries).toContain('A pool.example.test');
  });

  it.each([
    ['AAAA', 'example.test', 'fd00::1'],
    ['CNAME', 'www.example.test', 'example.test'],
    ['MX', 'example.test', '10 mail.example.test'],
    ['NS', 'example.test', 'ns1.example.test.'],
    ['TXT', 'example.test', 'v=spf1 ip4:10.0.0.0/24 -all'],
    ['SRV', '_sip._tcp.example.test', '0 5 5060 sip.example.test'],
  ] as const)('resolves %s records as dig +short prints them', async (type, name, answer) => {
    const result = await runDnsProbe(
      probe(name, { type, expect: { answers: [answer], min_answers: 1 } }),
      ctx,
    );
    expect(result).toMatchObject({ success: true, error: null, metrics: { probe_dns_answer_rrs: 1 } });
  });

  it('names the missing answer and shows what came back', async () => {
    const result = await runDnsProbe(
      probe('example.test', { expect: { answers: ['10.0.0.9'], min_answers: 1 } }),
      ctx,
    );
    expect(result.success).toBe(false);
    expect(result.error).toBe(`DNS A example.test @${dns.address}: no answer is 10.0.0.9 (got 10.0.0.1)`);
  });

  it('checks a regex against the answers', async () => {
    const ok = await runDnsProbe(
      probe('example.test', { type: 'TXT', expect: { matches: '^v=spf1 ', min_answers: 1 } }),
      ctx,
    );
    expect(ok.success).toBe(true);
    const bad = await runDnsProbe(
      probe('example.test', { type: 'TXT', expect: { matches: 'include:', min_answers: 1 } }),
      ctx,
    );
    expect(bad.error).toBe(
      `DNS TXT example.test @${dns.address}: no answer matches /include:/ (got v=spf1 ip4:10.0.0.0/24 -all)`,
    );
  });

  it('fails when there are fewer answers than min_answers', async () => {
    const result = await runDnsProbe(probe('example.test', { expect: { min_answers: 2 } }), ctx);
    expect(result.error).toBe(`DNS A example.test @${dns.address}: 1 answer, want at least 2 (got 10.0.0.1)`);
    expect(result.metrics.probe_dns_answer_rrs).toBe(1);
  });

  it('treats an existing name without records of the type as an empty answer', async () => {
    const empty = await runDnsProbe(probe('www.example.test', { type: 'MX' }), ctx);
    expect(empty.error).toBe(
      `DNS MX www.example.test @${dns.address}: 0 answers, want at least 1 (got no answers)`,
    );
    const allowed = await runDnsProbe(
      probe('www.example.test', { type: 'MX', expect: { min_answers: 0 } }),
      ctx,
    );
    expect(allowed).toMatchObject({ success: true, metrics: { probe_dns_answer_rrs: 0 } });
  });

  it('reports NXDOMAIN', async () => {
    const result = await runDnsProbe(probe('nope.example.test'), ctx);
    expect(result.error).toBe(
      `DNS A nope.example.test @${dns.address}: nope.example.test does not exist (NXDOMAIN)`,
    );
    expect(result.metrics.probe_dns_query_succeeded).toBe(0);
  });

  it('reports SERVFAIL', async () => {
    const result = await runDnsProbe(probe('broken.example.test'), ctx);
    expect(result.error).toBe(
      `DNS A broken.example.test @${dns.address}: the server failed to answer (SERVFAIL)`,
    );
  });

  it('times out within its timeout when the server never answers', async () => {
    const result = await runDnsProbe(probe('slow.example.test', { timeout: 400 }), ctx);
    expect(result.error).toBe(`DNS A slow.example.test @${dns.address}: no reply; timed out after 400ms`);
    expect(result.durationSeconds).toBeLessThan(1.5);
  });

  it('explains an unusable server address', async () => {
    const result = await runDnsProbe(probe('example.test', { server: 'dns.example.test' }), ctx);
    expect(result.error).toMatch(
      /^DNS server "dns\.example\.test" is not usable \(.+\); write it as ip or ip:port$/,
    );
  });
});
