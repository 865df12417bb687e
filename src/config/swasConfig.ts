import { z } from 'zod';
import { compileAnchoredRe2, parseMatchers } from '../core/index.js';
import { agentsSectionSchema } from './agentsSection.js';
import { allowedCommand, hostCommands, service } from './operationsConfig.js';
import { poolGuards } from './poolGuards.js';
import { probeConfig } from './probeConfig.js';
import { scrapeConfig } from './scrapeConfig.js';
import { serverTlsSchema } from './serverTls.js';
import { duration, hostPort, labelName, labelSet, name, recurringWindowFields } from './schemaParts.js';

// The server's schemas are built on first use (z.lazy), not when src/config is imported: the host agent imports
// src/config for agent.yaml and should not carry them (issue 6, ADR 0003).
function buildSwasConfigSchema() {
  const webhook = z.strictObject({
    name: name,
    url: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }),
    headers: z
      .record(z.string(), z.string())
      .default({})
      .describe('extra headers; values are secrets and never logged'),
    timeout: duration({ min: 100 }).prefault('5s'),
    retries: z
      .number()
      .int()
      .min(0)
      .max(20)
      .default(3)
      .describe('attempts after the first, with exponential backoff'),
    events: z
      .array(z.enum(['incident.opened', 'incident.escalated', 'incident.resolved', 'incident.acknowledged']))
      .default(['incident.opened', 'incident.escalated', 'incident.resolved'])
      .describe('which incident events this webhook receives'),
  });

  const haproxy = z.strictObject({
    name: name,
    type: z.literal('haproxy'),
    socket: z
      .string()
      .min(1)
      .describe('HAProxy runtime API: a unix socket path or host:port (`stats socket … level admin`)'),
    timeout: duration({ min: 100 }).prefault('2s'),
    pools: z.array(name).min(1).describe('the HAProxy backends swas may act on'),
  });

  const bigip = z.strictObject({
    name: name,
    type: z.literal('bigip'),
    url: z
      .url()
      .describe(
        'F5 BIG-IP management address, e.g. https://bigip.example.com (its CA via NODE_EXTRA_CA_CERTS)',
      ),
    username: z.string().min(1).describe('a BIG-IP user with the Operator role in the partition'),
    password: z.string().min(1).describe('secret: set it with SWAS_LOAD_BALANCERS__<i>__PASSWORD_FILE'),
    partition: z
      .string()
      .regex(/^[A-Za-z0-9._-]+$/, { message: 'a BIG-IP partition name, e.g. Common' })
      .default('Common'),
    auth: z
      .enum(['token', 'basic'])
      .default('token')
      .describe('token login (default) or basic auth per request'),
    timeout: duration({ min: 100 }).prefault('5s'),
    pools: z.array(name).min(1).describe('the BIG-IP pools swas may act on'),
  });

  // One matcher string as Alertmanager writes it (`severity="critical"`, `alertname=~"Host.*"`).
  const matcherText = z.string().superRefine((text, ctx) => {
    const parsed = parseMatchers(text);
    if (!parsed.ok) {
      ctx.addIssue({ code: 'custom', message: `invalid matcher ${JSON.stringify(text)}: ${parsed.error}` });
      return;
    }
    for (const m of parsed.matchers) {
      if (m.type !== '=~' && m.type !== '!~') continue;
      const compiled = compileAnchoredRe2(m.value);
      if (!compiled.ok)
        ctx.addIssue({
          code: 'custom',
          message: `invalid regular expression in ${JSON.stringify(text)}: ${compiled.error}; fix the pattern (RE2 syntax)`,
        });
    }
  });

  const inhibitRule = z.strictObject({
    source_matchers: z
      .array(matcherText)
      .min(1, { message: 'name the alerts that inhibit, e.g. [alertname="HostDown"]' })
      .describe('matchers of the alerts that inhibit, e.g. alertname="HostDown"'),
    target_matchers: z
      .array(matcherText)
      .min(1, { message: 'name the alerts that are inhibited, e.g. [severity=~"warning|page"]' })
      .describe('matchers of the alerts that are inhibited'),
    equal: z
      .array(labelName)
      .default([])
      .describe('labels source and target must have in common, e.g. [instance]'),
  });

  const maintenanceWindow = z.strictObject({
    name: name,
    ...recurringWindowFields,
    matchers: z
      .array(matcherText)
      .min(1, { message: 'name the alerts the window silences, e.g. [service="db"]' })
      .describe('matchers of the alerts the window silences'),
  });

  return z.strictObject({
    server: z
      .strictObject({
        listen: hostPort.default('127.0.0.1:7927').describe('address the HTTP API and UI bind to'),
        external_url: z
          .url()
          .optional()
          .describe(
            'URL people use to reach swas; used in notification links (default: http:// or, with server.tls, https:// and server.listen)',
          ),
        tls: serverTlsSchema
          .optional()
          .describe('serve HTTPS and WSS only on server.listen (API, UI, agent link); unset: plain HTTP'),
        shutdown_timeout: duration()
          .prefault('30s')
          .describe('how long SIGTERM waits for in-flight steps before parking runs'),
      })
      .prefault({}),
    data_dir: z
      .string()
      .min(1)
      .default('./data')
      .describe('where the state database lives (relative to the config file)'),
    log: z
      .strictObject({
        level: z.enum(['trace', 'debug', 'info', 'warn', 'error']).default('info'),
        format: z
          .enum(['auto', 'json', 'pretty'])
          .default('auto')
          .describe('auto: pretty on a terminal, JSON lines otherwise'),
      })
      .prefault({}),
    store: z
      .strictObject({
        url: z
          .string()
          .optional()
          .describe('sqlite:<path> (default <data_dir>/swas.db) or postgres://…; a secret'),
      })
      .prefault({}),
    metrics: z
      .strictObject({
        retention: duration({ min: 60_000 })
          .prefault('15d')
          .describe('how long the embedded TSDB keeps samples'),
        retention_size_bytes: z
          .number()
          .int()
          .min(0)
          .default(0)
          .describe('delete the oldest data when the TSDB grows past this many bytes; 0 = no size limit'),
        query: z
          .enum(['embedded', 'remote'])
          .default('embedded')
          .describe('which engine answers PromQL for rules, runbooks and the API: embedded, or remote_query'),
        remote_query: z
          .strictObject({
            url: z
              .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })
              .describe('base URL of a Prometheus-compatible API, without /api/v1'),
            headers: z
              .record(z.string(), z.string())
              .default({})
              .describe('extra headers, e.g. Authorization; secrets'),
            timeout: duration({ min: 100 }).prefault('30s'),
          })
          .optional(),
        remote_write: z
          .array(
            z.strictObject({
              url: z
                .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })
                .describe('remote-write endpoint, e.g. http://vm:8428/api/v1/write'),
              headers: z
                .record(z.string(), z.string())
                .default({})
                .describe('extra headers, e.g. Authorization; secrets'),
              queue_dir: z
                .string()
                .optional()
                .describe('on-disk queue, relative to data_dir; default <data_dir>/remote-write/<index>'),
              max_queue_bytes: z
                .number()
                .int()
                .min(1024 * 1024)
                .default(256 * 1024 * 1024)
                .describe('past this the oldest queued batches are dropped and counted'),
              timeout: duration({ min: 100 }).prefault('30s'),
            }),
          )
          .default([])
          .describe('send every scraped and recorded sample to these remote-write receivers'),
      })
      .prefault({})
      .superRefine((metrics, ctx) => {
        if (metrics.query === 'remote' && metrics.remote_query === undefined) {
          ctx.addIssue({
            code: 'custom',
            path: ['query'],
            message: 'query is remote, so metrics.remote_query.url is required',
          });
        }
      }),
    scrape: z
      .strictObject({
        interval: duration({ min: 1000 }).prefault('15s'),
        timeout: duration({ min: 100 }).prefault('10s'),
        timestamp_tolerance: duration({ max: 1000 })
          .prefault('2ms')
          .describe(
            'a scrape this close to its scheduled time (at most 1% of the interval) is stored at that time, so timestamps compress; 0s = off',
          ),
      })
      .prefault({}),
    remote_write_receiver: z
      .strictObject({
        max_body_bytes: z
          .number()
          .int()
          .min(1024)
          .default(10 * 1024 * 1024)
          .describe('compressed request size; larger gets 413'),
        max_decompressed_bytes: z
          .number()
          .int()
          .min(1024)
          .default(64 * 1024 * 1024),
        max_labels_per_series: z.number().int().min(1).default(64),
        max_label_name_length: z.number().int().min(1).default(256),
        max_label_value_length: z.number().int().min(1).default(4096),
      })
      .prefault({})
      .describe('limits of POST /api/v1/write (read at start-up)'),
    scrape_configs: z.array(scrapeConfig).default([]),
    rules: z
      .strictObject({
        evaluation_interval: duration({ min: 1000 }).prefault('15s'),
        query_offset: duration()
          .prefault('0s')
          .describe('evaluate rules this far in the past, for groups without their own query_offset'),
        external_labels: labelSet
          .default({})
          .describe('labels that name this swas (e.g. cluster, region); $externalLabels in alert templates'),
        files: z
          .array(z.string())
          .default([])
          .describe('rule files or globs (Prometheus format), relative to this file'),
      })
      .prefault({}),
    runbooks: z
      .strictObject({
        files: z.array(z.string()).default([]).describe('runbook files or globs, relative to this file'),
        reconcile_interval: duration({ min: 1000 })
          .prefault('30s')
          .describe(
            'how often swas compares load-balancer members with what its runs hold, re-applies lost state and reports drift',
          ),
      })
      .prefault({}),
    incidents: z
      .strictObject({
        group_by: z.array(z.string()).default(['alertname']).describe('alert labels that make one incident'),
        group_wait: duration({ max: 3_600_000 })
          .prefault('0s')
          .describe(
            'wait this long after the first alert of a new group before opening its incident, paging and starting runbooks; 0s acts at once',
          ),
        still_firing_after_run: duration({ min: 1000 })
          .prefault('2m')
          .describe('escalate when a run succeeded but its alerts still fire this long after'),
        inhibit_rules: z
          .array(inhibitRule)
          .default([])
          .describe(
            'while a source alert fires, matching target alerts open no incident, page nobody, start no runbook',
          ),
        maintenance_windows: z
          .array(maintenanceWindow)
          .default([])
          .describe('recurring silences: matching alerts open no incident, page nobody, start no runbook'),
      })
      .prefault({}),
    load_balancers: z
      .array(
        z.discriminatedUnion('type', [haproxy, bigip], {
          error: 'a load balancer has `type: haproxy` (runtime API socket) or `type: bigip` (iControl REST)',
        }),
      )
      .default([]),
    probes: z
      .array(probeConfig)
      .default([])
      .describe(
        'black-box checks the server runs from its own vantage point; results are probe_* series labelled probe, kind and vantage="server"',
      ),
    agents: agentsSectionSchema.describe('configuration pushed to connected agents (collectors, probes)'),
    pools: z
      .record(name, poolGuards)
      .default({})
      .describe(
        'safety limits per load-balancer pool, enforced for runbooks and `swas lb` alike; a pool not listed gets the defaults',
      ),
    services: z.record(name, service).default({}).describe('how to restart, start and stop services by name'),
    commands: z
      .record(name, allowedCommand)
      .default({})
      .describe('the only commands a runbook `run` step may execute, by name (argv, no shell)'),
    hosts: z
      .record(name, hostCommands)
      .default({})
      .describe('how to reboot hosts by name (`host.reboot` steps)'),
    notify: z
      .strictObject({
        webhooks: z.array(webhook).default([]),
      })
      .prefault({}),
  });
}

/** The schema of swas.yaml, the server's configuration file. */
export const swasConfigSchema = z.lazy(buildSwasConfigSchema);

/** swas.yaml after validation and defaults: durations in ms. */
export type SwasConfig = z.output<typeof swasConfigSchema>;

/** Paths of config values that are secrets: redacted in logs, API responses and bundles. */
export const SECRET_FIELDS: readonly string[] = [
  'store.url',
  'load_balancers[].password',
  'notify.webhooks[].headers',
  'metrics.remote_query.headers',
  'metrics.remote_write[].headers',
];
