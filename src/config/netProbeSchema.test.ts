import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import type { DnsProbeConfig, TcpProbeConfig, TlsProbeConfig } from '../probes/index.js';
import { dnsProbeSchema, tcpProbeSchema, tlsProbeSchema } from './netProbeSchema.js';

/** The issues of a failed parse as `path: message` lines. */
function problems(schema: z.ZodType, input: unknown): string[] {
  const parsed = schema.safeParse(input);
  if (parsed.success) return [];
  return parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
}

describe('tcpProbeSchema', () => {
  it('applies defaults and yields what runTcpProbe takes', () => {
    const config: TcpProbeConfig = tcpProbeSchema.parse({ kind: 'tcp', target: 'db.internal:5432' });
    expect(config).toEqual({ kind: 'tcp', target: 'db.internal:5432', timeout: 5000, tls: false });
  });

  it('takes send, expect and TLS settings', () => {
    const config: TcpProbeConfig = tcpProbeSchema.parse({
      kind: 'tcp',
      target: '127.0.0.1:6379',
      timeout: '2s',
      send: 'PING\r\n',
      expect: '^\\+PONG',
      tls: { server_name: 'redis.internal', cert_expires_after: '14d' },
    });
    expect(config.tls).toEqual({
      server_name: 'redis.internal',
      insecure_skip_verify: false,
      cert_expires_after: 14 * 86_400_000,
    });
    expect(config.timeout).toBe(2000);
  });

  it('rejects a target without a port, a bad regex, a bad timeout and unknown fields', () => {
    expect(problems(tcpProbeSchema, { kind: 'tcp', target: 'db.internal' })).toEqual([
      'target: must be host:port, e.g. 127.0.0.1:7927',
    ]);
    expect(problems(tcpProbeSchema, { kind: 'tcp', target: 'a:1', expect: '^(SSH' })[0]).toMatch(
      /^expect: \/\^\(SSH\/ is not a valid regular expression \(.+\); write it in RE2 syntax, e\.g\. \^SSH-2\\\.0$/,
    );
    expect(problems(tcpProbeSchema, { kind: 'tcp', target: 'a:1', timeout: 'soon' })).toEqual([
      'timeout: "soon" is not a duration; write it like 500ms, 15s, 5m or 1h30m',
    ]);
    expect(problems(tcpProbeSchema, { kind: 'tcp', target: 'a:1', timeout: '10ms' })).toEqual([
      'timeout: 10ms is too short; the minimum is 100 ms',
    ]);
    expect(problems(tcpProbeSchema, { kind: 'tcp', target: 'a:1', tls: true })).toEqual([
      'tls: must be false (plain TCP) or TLS settings, e.g. { server_name: db.internal, ca_file: /etc/swas/ca.pem }',
    ]);
    expect(
      problems(tcpProbeSchema, { kind: 'tcp', target: 'a:1', tls: { server_name: 'bad name' } }),
    ).toEqual([
      'tls.server_name: must be a DNS name like db.internal (sent as SNI and checked against the certificate)',
    ]);
    expect(problems(tcpProbeSchema, { kind: 'tcp', target: 'a:1', expected: 'x' })[0]).toMatch(/expected/);
  });
});

describe('dnsProbeSchema', () => {
  it('applies defaults and yields what runDnsProbe takes', () => {
    const config: DnsProbeConfig = dnsProbeSchema.parse({ kind: 'dns', query: 'api.example.com' });
    expect(config).toEqual({
      kind: 'dns',
      query: 'api.example.com',
      type: 'A',
      timeout: 5000,
      expect: { min_answers: 1 },
    });
  });

  it('accepts a server as ip, ip:port or [v6]:port', () => {
    for (const server of ['10.0.0.2', '10.0.0.2:5353', '[::1]:53', '::1']) {
      expect(problems(dnsProbeSchema, { kind: 'dns', query: 'a.example', server })).toEqual([]);
    }
  });

  it('rejects a host name as server, an unknown type, a bad regex and bad min_answers', () => {
    expect(problems(dnsProbeSchema, { kind: 'dns', query: 'a.example', server: 'ns1.example:53' })).toEqual([
      'server: "ns1.example:53" is not a DNS server address; write an IP with an optional port, e.g. 10.0.0.2 or 10.0.0.2:5353 or [::1]:53 (host names are not allowed here)',
    ]);
    expect(problems(dnsProbeSchema, { kind: 'dns', query: 'a.example', type: 'PTR' })[0]).toMatch(
      /^type: .*"A"/,
    );
    expect(
      problems(dnsProbeSchema, { kind: 'dns', query: 'a.example', expect: { matches: '[' } })[0],
    ).toMatch(/^expect\.matches: \/\[\/ is not a valid regular expression/);
    expect(
      problems(dnsProbeSchema, { kind: 'dns', query: 'a.example', expect: { min_answers: -1 } })[0],
    ).toMatch(/^expect\.min_answers: /);
    expect(problems(dnsProbeSchema, { kind: 'dns', query: 'a.example', expect: { answers: [] } })).toEqual([
      'expect.answers: list at least one answer, or leave answers out',
    ]);
    expect(problems(dnsProbeSchema, { kind: 'dns', query: 'bad name!' })).toEqual([
      'query: must be a DNS name like api.example.com',
    ]);
  });
});

describe('tlsProbeSchema', () => {
  it('applies defaults and yields what runTlsProbe takes', () => {
    const config: TlsProbeConfig = tlsProbeSchema.parse({
      kind: 'tls',
      target: '10.0.0.5:5432',
      server_name: 'db.internal',
      ca_file: '/etc/swas/ca.pem',
      cert_expires_after: '14d',
    });
    expect(config).toEqual({
      kind: 'tls',
      target: '10.0.0.5:5432',
      timeout: 5000,
      server_name: 'db.internal',
      ca_file: '/etc/swas/ca.pem',
      insecure_skip_verify: false,
      cert_expires_after: 14 * 86_400_000,
    });
  });

  it('rejects a bad server_name, a bad expiry duration and a port out of range', () => {
    expect(problems(tlsProbeSchema, { kind: 'tls', target: 'a:1', server_name: 'db internal' })).toEqual([
      'server_name: must be a DNS name like db.internal (sent as SNI and checked against the certificate)',
    ]);
    expect(problems(tlsProbeSchema, { kind: 'tls', target: 'a:1', cert_expires_after: '2 weeks' })).toEqual([
      'cert_expires_after: "2 weeks" is not a duration; write it like 500ms, 15s, 5m or 1h30m',
    ]);
    expect(problems(tlsProbeSchema, { kind: 'tls', target: 'a:70000' })).toEqual([
      'target: must be host:port, e.g. 127.0.0.1:7927',
    ]);
  });
});
