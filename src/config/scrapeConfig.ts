import { z } from 'zod';
import { RELABEL_ACTIONS, RELABEL_DEFAULTS, relabelConfigProblem } from './relabelConfig.js';
import { duration, hostPort, labelName, labelSet, name } from './schemaParts.js';

// Built on first use (z.lazy) like the rest of swas.yaml's schema, so the agent does not construct it (issue 6).
function buildScrapeConfig() {
  const staticConfig = z.strictObject({
    targets: z
      .array(z.string().min(1))
      .min(1)
      .describe('host:port of each target; any text when relabel_configs turn it into an address'),
    labels: labelSet.default({}).describe('labels added to every series of these targets'),
  });

  const relabelConfig = z
    .strictObject({
      source_labels: z
        .array(labelName)
        .default([])
        .describe('labels whose values are joined with separator and matched against regex'),
      separator: z.string().default(RELABEL_DEFAULTS.separator),
      target_label: z
        .string()
        .optional()
        .describe(
          'label to write (replace, hashmod, lowercase, uppercase) or compare (keepequal, dropequal)',
        ),
      regex: z
        .string()
        .default(RELABEL_DEFAULTS.regex)
        .describe('RE2 regular expression, fully anchored; quote values YAML would read as numbers'),
      modulus: z.number().int().min(1).optional().describe('for hashmod'),
      replacement: z
        .string()
        .default(RELABEL_DEFAULTS.replacement)
        .describe('value written by replace, with $1, ${1} and ${name} group references'),
      action: z.enum(RELABEL_ACTIONS).default(RELABEL_DEFAULTS.action),
    })
    .superRefine((config, ctx) => {
      const problem = relabelConfigProblem(config);
      if (problem !== null) ctx.addIssue({ code: 'custom', path: [problem.field], message: problem.message });
    });

  const fileSdConfig = z.strictObject({
    files: z
      .array(
        // Prometheus's rule for file SD names: `*` only in the last segment, a known extension.
        z.string().regex(/^[^*]*(\*[^/]*)?\.(json|yml|yaml|JSON|YML|YAML)$/, {
          message: 'must name .json, .yml or .yaml files, with * only in the last path segment',
        }),
      )
      .min(1)
      .describe('target files or globs (Prometheus file_sd format), relative to this file'),
    refresh_interval: duration({ min: 1000 })
      .prefault('5m')
      .describe('re-read the files this often, besides on every change'),
  });

  const scrapeConfigFields = z.strictObject({
    job_name: name.describe('the `job` label of the series scraped'),
    scrape_interval: duration({ min: 1000 })
      .optional()
      .describe('how often to scrape; defaults to scrape.interval'),
    scrape_timeout: duration({ min: 100 })
      .optional()
      .describe('per-scrape timeout; defaults to scrape.timeout, capped at the interval'),
    metrics_path: z.string().startsWith('/').default('/metrics'),
    scheme: z.enum(['http', 'https']).default('http'),
    honor_labels: z
      .boolean()
      .default(false)
      .describe('keep scraped labels that clash with target labels (else they become exported_*)'),
    sample_limit: z
      .number()
      .int()
      .min(0)
      .default(0)
      .describe('fail a scrape with more samples than this; 0 = no limit'),
    label_limit: z
      .number()
      .int()
      .min(0)
      .default(0)
      .describe(
        'fail a scrape with a series of more labels than this (counting __name__ and target labels); 0 = no limit',
      ),
    label_name_length_limit: z
      .number()
      .int()
      .min(0)
      .default(0)
      .describe('fail a scrape with a label name longer than this many bytes; 0 = no limit'),
    label_value_length_limit: z
      .number()
      .int()
      .min(0)
      .default(0)
      .describe('fail a scrape with a label value longer than this many bytes; 0 = no limit'),
    body_size_limit_bytes: z
      .number()
      .int()
      .min(0)
      .default(50 * 1024 * 1024),
    params: z
      .record(z.string(), z.array(z.string()))
      .default({})
      .describe('URL query parameters; relabelling sees each as `__param_<name>`'),
    static_configs: z.array(staticConfig).default([]).describe('fixed targets'),
    file_sd_configs: z
      .array(fileSdConfig)
      .default([])
      .describe('targets read from files, re-read when they change; a broken file keeps its last targets'),
    relabel_configs: z
      .array(relabelConfig)
      .default([])
      .describe('rewrite or drop targets before scraping (Prometheus semantics)'),
    metric_relabel_configs: z
      .array(relabelConfig)
      .default([])
      .describe('rewrite or drop scraped series before they are stored'),
  });

  // Runs even when other fields of the job are wrong, so every problem is reported in one go.
  const targetFields = new Set<PropertyKey>(['static_configs', 'file_sd_configs', 'relabel_configs']);
  const targetFieldsValid = (payload: z.core.ParsePayload): boolean =>
    !payload.issues.some((issue) => targetFields.has(issue.path?.[0] ?? ''));

  return scrapeConfigFields.check(z.superRefine(checkJobTargets, { when: targetFieldsValid }));
}

/** One `scrape_configs` job: how and what to scrape, with Prometheus's relabelling and file discovery. */
export const scrapeConfig = z.lazy(buildScrapeConfig);

// The fields of a job that checkJobTargets reads.
interface JobTargets {
  readonly static_configs: readonly { readonly targets: readonly string[] }[];
  readonly file_sd_configs: readonly unknown[];
  readonly relabel_configs: readonly unknown[];
}

function checkJobTargets(job: JobTargets, ctx: z.core.$RefinementCtx): void {
  if (job.static_configs.length === 0 && job.file_sd_configs.length === 0) {
    ctx.addIssue({
      code: 'custom',
      path: ['static_configs'],
      message: 'a job needs targets: add static_configs entries or file_sd_configs',
    });
  }
  // As Prometheus: without relabelling a static target is the address itself, so it must be one.
  if (job.relabel_configs.length > 0) return;
  job.static_configs.forEach((group, g) =>
    group.targets.forEach((target, t) => {
      if (hostPort.safeParse(target).success) return;
      ctx.addIssue({
        code: 'custom',
        path: ['static_configs', g, 'targets', t],
        message: 'must be host:port, e.g. 127.0.0.1:7927 (or use relabel_configs to set __address__)',
      });
    }),
  );
}
