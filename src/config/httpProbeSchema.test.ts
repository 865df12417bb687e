import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import type { HttpProbeConfig, HttpScenarioConfig } from '../probes/index.js';
import { httpProbeSchema, httpScenarioSchema } from './httpProbeSchema.js';

/** The issues of a failed parse as `path: message` lines. */
function problems(schema: z.ZodType, input: unknown): string[] {
  const parsed = schema.safeParse(input);
  if (parsed.success) return [];
  return parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
}

const http = (fields: Record<string, unknown>) => ({
  kind: 'http',
  url: 'https://example.com/healthz',
  ...fields,
});

describe('httpProbeSchema', () => {
  it('applies defaults and yields what runHttpProbe takes', () => {
    const config: HttpProbeConfig = httpProbeSchema.parse(http({}));
    expect(config).toEqual({
      kind: 'http',
      url: 'https://example.com/healthz',
      method: 'GET',
      headers: {},
      follow_redirects: true,
      tls: { insecure_skip_verify: false },
      expect: { status: ['2xx'], json: [], headers: {} },
      timeout: 10_000,
    });
  });

  it('takes every assertion, normalising statuses and durations', () => {
    const config = httpProbeSchema.parse(
      http({
        method: 'POST',
        body: '{}',
        headers: { 'Content-Type': 'application/json' },
        timeout: '3s',
        tls: { ca_file: '/etc/ca.pem', server_name: 'api.internal' },
        expect: {
          status: [200, '3xx', '400-404'],
          body_contains: 'ok',
          body_matches: '"status":\\s*"ok"',
          json: [
            { path: '$.a[0]', equals: { b: 1 } },
            { path: "$['x y']", matches: '^v' },
            { path: '$.z', exists: false },
          ],
          headers: { 'Content-Type': '^application/json' },
          max_latency: '500ms',
          cert_expires_after: '14d',
        },
      }),
    );
    expect(config.expect).toMatchObject({
      status: ['200', '3xx', '400-404'],
      max_latency: 500,
      cert_expires_after: 14 * 86_400_000,
    });
    expect(config.timeout).toBe(3000);
  });

  it.each([
    [
      'a bad URL',
      http({ url: 'example.com/health' }),
      'url: "example.com/health" is not an http(s) URL; write it like https://example.com/healthz',
    ],
    [
      'a non-http URL',
      http({ url: 'ftp://example.com/' }),
      'url: "ftp://example.com/" is not an http(s) URL; write it like https://example.com/healthz',
    ],
    [
      'vars outside a scenario',
      http({ url: 'https://x/{{ vars.id }}' }),
      'url: {{ vars.… }} only works in http_scenario steps',
    ],
    [
      'a bad method',
      http({ method: 'get' }),
      'method: must be one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS (upper case)',
    ],
    [
      'a bad status',
      http({ expect: { status: ['2x'] } }),
      'expect.status.0: "2x" is not a status; write a code (200), a class (2xx) or a range (200-299)',
    ],
    [
      'an inverted range',
      http({ expect: { status: ['299-200'] } }),
      'expect.status.0: "299-200" is not a status; write a code (200), a class (2xx) or a range (200-299)',
    ],
    [
      'an empty status list',
      http({ expect: { status: [] } }),
      'expect.status: list at least one status, e.g. [2xx]',
    ],
    [
      'a bad duration',
      http({ timeout: '10 seconds' }),
      'timeout: "10 seconds" is not a duration; write it like 500ms, 15s, 5m or 1h30m',
    ],
    [
      'a bad JSON path',
      http({ expect: { json: [{ path: 'status' }] } }),
      `expect.json.0.path: JSON path "status" must start with $; write it like $.status, $.items[0].name or $['key with spaces']`,
    ],
    [
      'a wildcard JSON path',
      http({ expect: { json: [{ path: '$.items[*]' }] } }),
      `expect.json.0.path: JSON path "$.items[*]" is not understood at position 7 ("[*]"); write it like $.status, $.items[0].name or $['key with spaces']`,
    ],
    [
      'exists: false with equals',
      http({ expect: { json: [{ path: '$.a', exists: false, equals: 1 }] } }),
      'expect.json.0.exists: exists: false cannot be combined with equals or matches; drop one of them',
    ],
    [
      'a bad header name',
      http({ expect: { headers: { 'Content Type': 'x' } } }),
      'expect.headers.Content Type: must be a header name like Content-Type',
    ],
    ['an unknown field', http({ expect: { body_contain: 'x' } }), 'expect: Unrecognized key: "body_contain"'],
  ])('rejects %s with a message that says what to write', (_what, input, message) => {
    expect(problems(httpProbeSchema, input)).toEqual([message]);
  });

  it.each([
    ['body_matches', http({ expect: { body_matches: '"status": ("ok"' } }), 'expect.body_matches'],
    ['json matches', http({ expect: { json: [{ path: '$.a', matches: '[a-' }] } }), 'expect.json.0.matches'],
    ['a header pattern', http({ expect: { headers: { Server: '(?<' } } }), 'expect.headers.Server'],
  ])('rejects a bad regex in %s at load', (_what, input, field) => {
    const found = problems(httpProbeSchema, input);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(
      new RegExp(
        `^${field.replace(/\./g, '\\.')}: /.*/ is not a valid regular expression: .+; write it in RE2 syntax`,
      ),
    );
  });
});

const step = (fields: Record<string, unknown>) => ({ name: 'home', url: 'https://example.com/', ...fields });

describe('httpScenarioSchema', () => {
  it('applies defaults and yields what runHttpScenario takes', () => {
    const config: HttpScenarioConfig = httpScenarioSchema.parse({
      kind: 'http_scenario',
      steps: [
        step({
          name: 'login',
          method: 'POST',
          body: 'u=a',
          extract: { token: { json: '$.token' }, id: { header: 'X-Id' }, csrf: { regex: 'csrf=(\\w+)' } },
        }),
        step({
          name: 'page',
          url: 'https://example.com/u/{{ vars.id }}',
          headers: { Authorization: 'Bearer {{vars.token}}' },
        }),
      ],
    });
    expect(config.timeout).toBe(30_000);
    expect(config.steps[0]?.extract).toEqual({
      token: { json: '$.token' },
      id: { header: 'X-Id' },
      csrf: { regex: 'csrf=(\\w+)' },
    });
    expect(config.steps[1]?.expect.status).toEqual(['2xx']);
  });

  it.each([
    ['no steps', { steps: [] }, ['steps: a scenario needs at least one step']],
    [
      'a variable nobody extracts',
      { steps: [step({ url: 'https://x/{{ vars.token }}' })] },
      ['steps.0: {{ vars.token }} is not extracted by an earlier step; add extract: { token: … } to one'],
    ],
    [
      'a variable extracted only later',
      {
        steps: [
          step({ name: 'a', body: '{{ vars.t }}' }),
          step({ name: 'b', extract: { t: { header: 'X' } } }),
        ],
      },
      ['steps.0: {{ vars.t }} is not extracted by an earlier step; add extract: { t: … } to one'],
    ],
    [
      'a duplicate step name',
      { steps: [step({}), step({})] },
      ['steps.1.name: step name "home" is used twice'],
    ],
    [
      'an extract with two sources',
      { steps: [step({ extract: { t: { json: '$.t', header: 'X' } } })] },
      ['steps.0.extract.t: give exactly one of json: $.path, header: Name or regex: pattern'],
    ],
    [
      'an extract with a bad JSON path',
      { steps: [step({ extract: { t: { json: 'token' } } })] },
      [
        `steps.0.extract.t.json: JSON path "token" must start with $; write it like $.status, $.items[0].name or $['key with spaces']`,
      ],
    ],
    [
      'a bad variable name',
      { steps: [step({ extract: { 'my-token': { json: '$.t' } } })] },
      ['steps.0.extract.my-token: a variable name is letters, digits and _ (not first)'],
    ],
    [
      'a bad step URL',
      { steps: [step({ url: '/login' })] },
      ['steps.0.url: "/login" is not an http(s) URL; write it like https://example.com/healthz'],
    ],
  ])('rejects %s', (_what, fields, messages) => {
    expect(problems(httpScenarioSchema, { kind: 'http_scenario', ...fields })).toEqual(messages);
  });
});
