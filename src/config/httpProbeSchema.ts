import { z } from 'zod';
import { compileProbeRegex, parseJsonPath, parseStatusPattern, scenarioVarsUsed } from '../probes/index.js';
import { duration, name } from './schemaParts.js';

/** HTTP methods a probe or scenario step may send. */
export const HTTP_PROBE_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

/** An RE2 pattern (Prometheus syntax), matched unanchored, checked when the config loads. */
const regexPattern = z
  .string()
  .min(1, { message: 'must not be empty' })
  .superRefine((pattern, ctx) => {
    const compiled = compileProbeRegex(pattern);
    if (!compiled.ok)
      ctx.addIssue({
        code: 'custom',
        message: `${compiled.error}; write it in RE2 syntax, e.g. "status":\\s*"ok"`,
      });
  });

const jsonPath = z.string().superRefine((path, ctx) => {
  const parsed = parseJsonPath(path);
  if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.error });
});

/** `http://` or `https://` URL; `{{ vars.NAME }}` is allowed only when `templates` is true (scenario steps). */
function httpUrl(templates: boolean) {
  return z.string().superRefine((text, ctx) => {
    const used = scenarioVarsUsed(text);
    if (!templates && used.length > 0) {
      ctx.addIssue({ code: 'custom', message: '{{ vars.… }} only works in http_scenario steps' });
      return;
    }
    let url: URL | null = null;
    try {
      url = new URL(text.replace(/\{\{[^}]*\}\}/g, 'x'));
    } catch {
      // reported below
    }
    if (url === null || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '')
      ctx.addIssue({
        code: 'custom',
        message: `"${text}" is not an http(s) URL; write it like https://example.com/healthz`,
      });
  });
}

/**
 * A map whose keys must match `pattern`. Keys are checked here rather than with a key schema because
 * zod reports a bad record key only as "Invalid key in record".
 */
function keyedRecord<V extends z.ZodType>(pattern: RegExp, keyProblem: string, value: V) {
  return z.record(z.string(), value).superRefine((record, ctx) => {
    for (const key of Object.keys(record))
      if (!pattern.test(key)) ctx.addIssue({ code: 'custom', path: [key], message: keyProblem });
  });
}

const HEADER_NAME = /^[A-Za-z0-9-]+$/;

const statusPattern = z.union([z.number().int(), z.string()]).transform((value, ctx) => {
  const text = String(value);
  const parsed = parseStatusPattern(text);
  if (!parsed.ok) {
    ctx.addIssue({ code: 'custom', message: parsed.error });
    return z.NEVER;
  }
  return text;
});

const jsonExpectation = z
  .strictObject({
    path: jsonPath.describe("where the value is: $, .key, [n] and ['key'], e.g. $.checks[0].status"),
    equals: z
      .unknown()
      .optional()
      .describe('the JSON value expected there (string, number, bool, null, list, map)'),
    matches: regexPattern
      .optional()
      .describe('RE2 pattern the value must match (non-strings as JSON), unanchored'),
    exists: z.boolean().optional().describe('true: must be there (the default); false: must not be there'),
  })
  .superRefine((entry, ctx) => {
    if (entry.exists === false && (entry.equals !== undefined || entry.matches !== undefined))
      ctx.addIssue({
        code: 'custom',
        path: ['exists'],
        message: 'exists: false cannot be combined with equals or matches; drop one of them',
      });
  });

const httpExpect = z
  .strictObject({
    status: z
      .array(statusPattern)
      .min(1, { message: 'list at least one status, e.g. [2xx]' })
      .default(['2xx'])
      .describe('accepted statuses: codes (200), classes (2xx) or ranges (200-299)'),
    body_contains: z.string().min(1).optional().describe('text the body must contain'),
    body_matches: regexPattern.optional().describe('RE2 pattern the body must match, unanchored'),
    json: z.array(jsonExpectation).default([]).describe('assertions on values of a JSON body'),
    headers: keyedRecord(HEADER_NAME, 'must be a header name like Content-Type', regexPattern)
      .default({})
      .describe('response header name → RE2 pattern its value must match, unanchored'),
    max_latency: duration({ min: 1 })
      .optional()
      .describe('fail when the request (with redirects) takes longer'),
    cert_expires_after: duration({ min: 1000 })
      .optional()
      .describe('fail when the TLS certificate expires sooner than this, e.g. 14d'),
  })
  .describe('what the response must look like; the first failed assertion is the probe error');

const httpTls = z
  .strictObject({
    ca_file: z
      .string()
      .min(1)
      .optional()
      .describe('PEM file of the CA(s) to trust instead of the system store'),
    insecure_skip_verify: z
      .boolean()
      .default(false)
      .describe('accept any certificate (untrusted, wrong name); expiry is still measured'),
    server_name: z
      .string()
      .min(1)
      .optional()
      .describe('name sent as SNI and checked against the certificate; default the URL host'),
  })
  .describe('TLS settings for https URLs');

/** Fields of one HTTP request, shared by probes and scenario steps. */
function requestFields(templates: boolean) {
  const where = templates ? '; may use {{ vars.NAME }}' : '';
  return {
    url: httpUrl(templates).describe(`http:// or https:// URL to request${where}`),
    method: z
      .enum(HTTP_PROBE_METHODS, { message: `must be one of ${HTTP_PROBE_METHODS.join(', ')} (upper case)` })
      .default('GET')
      .describe('HTTP method'),
    headers: keyedRecord(HEADER_NAME, 'must be a header name like Authorization', z.string())
      .default({})
      .describe(`request headers${where}`),
    body: z.string().optional().describe(`request body; set Content-Type in headers${where}`),
    follow_redirects: z
      .boolean()
      .default(true)
      .describe('follow up to 10 redirects (cookies and method handled like a browser)'),
    tls: httpTls.prefault({}),
    expect: httpExpect.prefault({}),
  };
}

/** An HTTP(S) probe: one request, with assertions on status, body, JSON, headers, latency and certificate. */
export const httpProbeSchema = z.strictObject({
  kind: z.literal('http').describe('HTTP(S) probe'),
  ...requestFields(false),
  timeout: duration({ min: 100, max: 600_000 })
    .prefault('10s')
    .describe('how long the probe (with redirects) may take before it counts as failed'),
});

const scenarioExtract = z
  .strictObject({
    json: jsonPath.optional().describe('JSON path of the value in the body, e.g. $.token'),
    header: z.string().min(1).optional().describe('response header to read, e.g. Location'),
    regex: regexPattern.optional().describe('RE2 pattern over the body; its first group is the value'),
  })
  .superRefine((source, ctx) => {
    const given = [source.json, source.header, source.regex].filter((v) => v !== undefined).length;
    if (given !== 1)
      ctx.addIssue({
        code: 'custom',
        message: 'give exactly one of json: $.path, header: Name or regex: pattern',
      });
  })
  .transform((source) => {
    if (source.json !== undefined) return { json: source.json };
    if (source.header !== undefined) return { header: source.header };
    return { regex: source.regex ?? '' };
  });

const scenarioStep = z.strictObject({
  name: name.describe('step name, shown in errors as "step 2 (login): …"'),
  ...requestFields(true),
  extract: keyedRecord(
    /^[A-Za-z_][A-Za-z0-9_]*$/,
    'a variable name is letters, digits and _ (not first)',
    scenarioExtract,
  )
    .default({})
    .describe('variables to keep from the response for later steps, used as {{ vars.NAME }}'),
});

/** A multi-step HTTP scenario: steps share cookies and pass values on as `{{ vars.NAME }}`. */
export const httpScenarioSchema = z
  .strictObject({
    kind: z
      .literal('http_scenario')
      .describe('multi-step HTTP scenario (log in, use a cookie or token, check a page)'),
    timeout: duration({ min: 100, max: 600_000 })
      .prefault('30s')
      .describe('how long all steps together may take before the scenario counts as failed'),
    steps: z
      .array(scenarioStep)
      .min(1, { message: 'a scenario needs at least one step' })
      .describe('requests made in order, sharing cookies; the first failing step fails the scenario'),
  })
  .superRefine((scenario, ctx) => {
    const known = new Set<string>();
    const names = new Set<string>();
    for (const [index, step] of scenario.steps.entries()) {
      if (names.has(step.name))
        ctx.addIssue({
          code: 'custom',
          path: ['steps', index, 'name'],
          message: `step name "${step.name}" is used twice`,
        });
      names.add(step.name);
      const texts = [step.url, step.body ?? '', ...Object.values(step.headers)];
      for (const used of texts.flatMap(scenarioVarsUsed))
        if (!known.has(used))
          ctx.addIssue({
            code: 'custom',
            path: ['steps', index],
            message: `{{ vars.${used} }} is not extracted by an earlier step; add extract: { ${used}: … } to one`,
          });
      for (const variable of Object.keys(step.extract)) known.add(variable);
    }
  });
