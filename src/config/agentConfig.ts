import { hostname } from 'node:os';
import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { translateRe2 } from '../core/index.js';
import { checkAgentTlsFiles } from './agentTls.js';
import { ConfigError, type ConfigIssue } from './ConfigError.js';
import { commandArgv, duration, labelSet, name } from './schemaParts.js';
import { loadYamlFile } from './validate.js';

/** An RE2 pattern (Prometheus syntax), checked to compile as the agent will compile it. */
const re2Pattern = z
  .string()
  .min(1, { message: 'must not be empty' })
  .superRefine((pattern, ctx) => {
    const translated = translateRe2(pattern);
    let reason = translated.ok ? null : translated.error;
    if (translated.ok) {
      try {
        new RegExp(translated.source);
      } catch (error) {
        reason = (error as Error).message;
      }
    }
    if (reason !== null)
      ctx.addIssue({
        code: 'custom',
        message: `/${pattern}/ is not a valid RE2 regular expression (${reason}); e.g. ERROR|FATAL`,
      });
  });

const positiveInt = z.number().int().positive();

const serviceWatch = z
  .strictObject({
    name: name.describe('the `service` label'),
    pidfile: z.string().min(1).optional().describe('file holding the main pid, e.g. /run/nginx.pid'),
    match: re2Pattern.optional().describe('RE2 pattern on the command line, e.g. ^nginx: master'),
  })
  .refine((s) => s.pidfile !== undefined || s.match !== undefined, {
    message: 'a service needs a pidfile or a match pattern, e.g. pidfile: /run/app.pid',
  });

const logWatch = z.strictObject({
  name: name.describe('the `log` label'),
  path: z.string().min(1).describe('path of the live log file'),
  max_bytes: positiveInt.optional().describe('size the log must stay under'),
  patterns: z
    .record(z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, { message: 'use a label-like name' }), re2Pattern)
    .optional()
    .describe('pattern name → RE2 pattern counted per line'),
  read_limit_bytes: positiveInt.optional(),
});

const uniqueNames =
  (what: string) =>
  (items: readonly { name: string }[], ctx: z.core.$RefinementCtx<readonly { name: string }[]>) => {
    const seen = new Set<string>();
    items.forEach((item, i) => {
      if (seen.has(item.name))
        ctx.addIssue({
          code: 'custom',
          path: [i, 'name'],
          message: `${what} "${item.name}" is declared twice; give each its own name`,
        });
      seen.add(item.name);
    });
  };

/** One local application endpoint the agent scrapes, so the server need not reach the host. */
export const agentScrapeTargetSchema = z
  .strictObject({
    name: name.describe('the `job` label of the scraped samples, unique among scrape targets'),
    url: z
      .url({
        protocol: /^https?$/,
        error: 'must be an http:// or https:// URL, e.g. http://127.0.0.1:9100/metrics',
      })
      .describe('the endpoint, usually on loopback, e.g. http://127.0.0.1:9100/metrics'),
    interval: duration({ min: 1000 }).optional().describe('how often to scrape; default: the agent interval'),
    timeout: duration({ min: 100 })
      .optional()
      .describe('a scrape is abandoned after this long; default: the interval, at most 10s'),
  })
  .refine((t) => t.interval === undefined || t.timeout === undefined || t.timeout <= t.interval, {
    message: 'timeout must not be longer than interval',
    path: ['timeout'],
  });

/** The agent's host collectors (the HostCollectorsConfig shape of src/agent/collectors), checked. */
export const hostCollectorsSchema = z.strictObject({
  disable: z
    .array(z.enum(['cpu', 'memory', 'load', 'filesystem', 'network']))
    .default([])
    .describe('system collectors to leave out'),
  filesystems: z
    .strictObject({
      include_fstypes: z.array(z.string().min(1)).optional(),
      exclude_mountpoints: re2Pattern.optional(),
      fill_rate_window_seconds: positiveInt.optional(),
      statfs_timeout_ms: positiveInt.optional(),
    })
    .optional(),
  network: z
    .strictObject({
      include_loopback: z.boolean().optional(),
      exclude_devices: re2Pattern.optional(),
    })
    .optional(),
  services: z.array(serviceWatch).default([]).superRefine(uniqueNames('service')),
  log_watches: z.array(logWatch).default([]).superRefine(uniqueNames('log watch')),
});

const action = z.strictObject({
  argv: commandArgv.describe('program and arguments, run without a shell, e.g. [systemctl, restart, app]'),
  timeout: duration({ min: 100, max: 24 * 3_600_000 })
    .prefault('60s')
    .describe('the action is killed after this long'),
});

/** agent.yaml: the host agent's own local config. */
export const agentConfigSchema = z
  .strictObject({
    server: z
      .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL of the swas server' })
      .describe('the swas server, e.g. https://swas.example.com'),
    name: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, {
        message: "use 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit",
      })
      .default(() => hostname())
      .describe('the agent’s name, unique among agents; default: the hostname'),
    labels: labelSet
      .refine((labels) => Object.values(labels).every((v) => v.length <= 1024), {
        message: 'label values are at most 1024 characters',
      })
      .default({})
      .describe('labels added to every sample the agent sends'),
    enrollment_token: z.string().min(1).optional().describe('one-time token from `swas agent token create`'),
    enrollment_token_file: z.string().min(1).optional().describe('file holding the enrollment token'),
    state_dir: z
      .string()
      .min(1)
      .default('/var/lib/swas-agent')
      .describe('holds the credential (mode 0600) and the spool'),
    interval: duration({ min: 1000 }).prefault('10s').describe('how often the collectors run'),
    spool: z
      .strictObject({
        max_bytes: z
          .number()
          .int()
          .min(64 * 1024, { message: 'the spool needs at least 65536 bytes' })
          .default(64 * 1024 * 1024),
        fsync: z.enum(['batch', 'always']).default('batch'),
      })
      .prefault({}),
    tls: z
      .strictObject({
        ca_file: z
          .string()
          .min(1)
          .optional()
          .describe('PEM CA bundle the server’s certificate is checked against'),
        cert_file: z
          .string()
          .min(1)
          .optional()
          .describe(
            'PEM client certificate the agent presents, for a server with server.tls.client_ca_file; needs key_file',
          ),
        key_file: z
          .string()
          .min(1)
          .optional()
          .describe('PEM private key of cert_file, unencrypted, readable by the agent’s user only'),
        insecure_skip_verify: z
          .boolean()
          .default(false)
          .describe('do not check the server certificate (tests only)'),
      })
      .refine((t) => (t.cert_file === undefined) === (t.key_file === undefined), {
        message: 'set tls.cert_file and tls.key_file together: the client certificate and its private key',
        path: ['key_file'],
      })
      .prefault({}),
    collectors: hostCollectorsSchema.prefault({}),
    scrape: z
      .array(agentScrapeTargetSchema)
      .default([])
      .superRefine(uniqueNames('scrape target'))
      .describe('local /metrics endpoints the agent scrapes and forwards with job=<name>'),
    actions: z
      .record(name, action)
      .default({})
      .describe('the ONLY commands the server may ask this agent to run, by name'),
  })
  .refine((c) => c.enrollment_token === undefined || c.enrollment_token_file === undefined, {
    message: 'set enrollment_token or enrollment_token_file, not both',
    path: ['enrollment_token_file'],
  });

/** A validated agent.yaml: durations in ms, relative paths resolved against the file's directory. */
export type AgentConfig = z.output<typeof agentConfigSchema>;

/** One validated `scrape:` entry of agent.yaml (durations in ms). */
export type AgentScrapeTarget = z.output<typeof agentScrapeTargetSchema>;

/** Pushed or local collector settings after validation. */
export type AgentCollectorsConfig = z.output<typeof hostCollectorsSchema>;

/**
 * Reads and validates agent.yaml; throws a ConfigError listing every problem with file:line. Paths
 * (state_dir, enrollment_token_file, tls.*_file) are resolved relative to the file; the TLS files are read
 * and checked (PEM, the key matches the certificate).
 */
export async function loadAgentConfig(file: string): Promise<AgentConfig> {
  const loaded = await loadYamlFile(file, agentConfigSchema);
  if (!loaded.ok) throw new ConfigError(loaded.issues);
  const base = dirname(resolve(file));
  const at = (path: string): string => (isAbsolute(path) ? path : resolve(base, path));
  const config = loaded.value;
  const tls = { ...config.tls };
  for (const field of ['ca_file', 'cert_file', 'key_file'] as const) {
    const path = tls[field];
    if (path !== undefined) tls[field] = at(path);
  }
  const issues: ConfigIssue[] = [];
  await checkAgentTlsFiles(tls, loaded.source, issues);
  if (issues.length > 0) throw new ConfigError(issues);
  return Object.freeze({
    ...config,
    state_dir: at(config.state_dir),
    ...(config.enrollment_token_file === undefined
      ? {}
      : { enrollment_token_file: at(config.enrollment_token_file) }),
    tls: Object.freeze(tls),
  });
}
