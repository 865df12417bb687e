import { isIP } from 'node:net';
import { z } from 'zod';
import { translateRe2 } from '../core/index.js';
import { duration, hostPort } from './schemaParts.js';

/** DNS record types a `dns` probe can ask for. */
export const DNS_PROBE_RECORD_TYPES = ['A', 'AAAA', 'CNAME', 'MX', 'TXT', 'NS', 'SRV'] as const;

/** An RE2 pattern (Prometheus and blackbox-exporter syntax), checked when the config loads. */
function regexPattern() {
  return z
    .string()
    .min(1, { message: 'must not be empty' })
    .superRefine((pattern, ctx) => {
      const translated = translateRe2(pattern);
      let reason = translated.ok ? null : translated.error;
      if (translated.ok) {
        try {
          new RegExp(translated.source);
        } catch (error) {
          reason = error instanceof Error ? error.message : String(error);
        }
      }
      if (reason !== null) {
        ctx.addIssue({
          code: 'custom',
          message: `/${pattern}/ is not a valid regular expression (${reason}); write it in RE2 syntax, e.g. ^SSH-2\\.0`,
        });
      }
    });
}

const timeout = duration({ min: 100, max: 600_000 })
  .prefault('5s')
  .describe('how long the whole probe may take before it counts as failed');

/** Client-side TLS settings shared by `tcp` (with `tls: {...}`) and `tls` probes. */
const tlsClientFields = {
  server_name: z
    .string()
    .regex(/^[A-Za-z0-9*]([A-Za-z0-9.*-]*[A-Za-z0-9])?$/, {
      message: 'must be a DNS name like db.internal (sent as SNI and checked against the certificate)',
    })
    .optional()
    .describe('name sent as SNI and checked against the certificate; default the target host'),
  ca_file: z
    .string()
    .min(1)
    .optional()
    .describe('PEM file of the CA(s) to trust instead of the system store, e.g. an internal CA'),
  insecure_skip_verify: z
    .boolean()
    .default(false)
    .describe('accept any certificate (untrusted, wrong name); expiry is still measured'),
  cert_expires_after: duration({ min: 1000 })
    .optional()
    .describe('fail when the certificate expires sooner than this, e.g. 14d'),
};

const tcpTls = z.strictObject(tlsClientFields).describe('TLS settings for a TLS-wrapped TCP service');

/** A TCP connect probe, optionally sending a line and checking the first bytes of the reply. */
export const tcpProbeSchema = z.strictObject({
  kind: z.literal('tcp').describe('TCP connect probe'),
  target: hostPort.describe('host:port to connect to, e.g. db.internal:5432'),
  timeout,
  send: z
    .string()
    .min(1, { message: 'must not be empty; leave send out to only connect (and read)' })
    .optional()
    .describe('text written right after connecting, e.g. "PING\\r\\n"'),
  expect: regexPattern()
    .optional()
    .describe('RE2 regex the reply must match by the end of its first line, e.g. ^SSH-2\\.0 or ^\\+PONG'),
  tls: z
    .union([z.literal(false), tcpTls], {
      error:
        'must be false (plain TCP) or TLS settings, e.g. { server_name: db.internal, ca_file: /etc/swas/ca.pem }',
    })
    .default(false)
    .describe('false (the default) for plain TCP, or TLS settings to wrap the connection in TLS'),
});

/** A DNS server address: an IP, optionally with a port (`10.0.0.2`, `10.0.0.2:5353`, `[::1]:53`). */
const dnsServer = z.string().superRefine((text, ctx) => {
  const bare = isIP(text) !== 0;
  const withPort =
    hostPort.safeParse(text).success && isIP(text.replace(/:\d+$/, '').replace(/^\[|\]$/g, ''));
  if (!bare && !withPort) {
    ctx.addIssue({
      code: 'custom',
      message: `"${text}" is not a DNS server address; write an IP with an optional port, e.g. 10.0.0.2 or 10.0.0.2:5353 or [::1]:53 (host names are not allowed here)`,
    });
  }
});

const dnsExpect = z
  .strictObject({
    answers: z
      .array(z.string().min(1))
      .min(1, { message: 'list at least one answer, or leave answers out' })
      .optional()
      .describe('values that must all be in the answer, written as the resolver prints them, e.g. 10.0.0.1'),
    matches: regexPattern().optional().describe('RE2 regex at least one answer must match, e.g. ^v=spf1'),
    min_answers: z
      .number()
      .int()
      .min(0)
      .max(1000)
      .default(1)
      .describe('fewest answers that count as success; 0 accepts an empty answer'),
  })
  .describe('what the answer must hold');

/** A DNS probe: query one name for one record type and check the answer. */
export const dnsProbeSchema = z.strictObject({
  kind: z.literal('dns').describe('DNS query probe'),
  query: z
    .string()
    .regex(/^[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_.])?$/, {
      message: 'must be a DNS name like api.example.com',
    })
    .describe('the name to query'),
  type: z.enum(DNS_PROBE_RECORD_TYPES).default('A').describe('record type to query'),
  server: dnsServer
    .optional()
    .describe('DNS server as IP[:port] (port 53 by default); default the servers in /etc/resolv.conf'),
  timeout,
  expect: dnsExpect.prefault({}),
});

/** A TLS probe: handshake with any TLS service and check trust, name and certificate expiry. */
export const tlsProbeSchema = z.strictObject({
  kind: z.literal('tls').describe('TLS handshake and certificate probe'),
  target: hostPort.describe('host:port of the TLS service, e.g. db.internal:5432'),
  timeout,
  ...tlsClientFields,
});

/** A `tcp` probe as configured (durations in milliseconds). */
export type TcpProbeSchemaOutput = z.output<typeof tcpProbeSchema>;
/** A `dns` probe as configured (durations in milliseconds). */
export type DnsProbeSchemaOutput = z.output<typeof dnsProbeSchema>;
/** A `tls` probe as configured (durations in milliseconds). */
export type TlsProbeSchemaOutput = z.output<typeof tlsProbeSchema>;
