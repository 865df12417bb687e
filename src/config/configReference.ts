import { z } from 'zod';
import { runbookSchema } from './runbookFile.js';
import { swasConfigSchema } from './swasConfig.js';

interface JsonSchema {
  type?: string | string[];
  description?: string;
  default?: unknown;
  enum?: unknown[];
  const?: unknown;
  format?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  additionalProperties?: JsonSchema | boolean;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  minimum?: number;
  maximum?: number;
}

interface Row {
  key: string;
  type: string;
  default: string;
  description: string;
}

function typeOf(schema: JsonSchema): string {
  if (schema.const !== undefined) return `\`${JSON.stringify(schema.const)}\``;
  if (schema.enum) return schema.enum.map((v) => `\`${String(v)}\``).join(' \\| ');
  const union = schema.anyOf ?? schema.oneOf;
  if (union) return union.map(typeOf).join(' \\| ');
  if (schema.format === 'duration') return 'duration';
  if (schema.type === 'array') return `list of ${schema.items ? typeOf(schema.items) : 'values'}`;
  if (
    schema.type === 'object' &&
    schema.additionalProperties &&
    typeof schema.additionalProperties === 'object' &&
    !schema.properties
  )
    return 'map';
  const max =
    schema.maximum !== undefined && schema.maximum < Number.MAX_SAFE_INTEGER ? schema.maximum : undefined;
  const range =
    max !== undefined
      ? ` (${schema.minimum ?? ''}..${max})`
      : schema.minimum !== undefined
        ? ` (≥ ${schema.minimum})`
        : '';
  return `${Array.isArray(schema.type) ? schema.type.join(' \\| ') : (schema.type ?? 'any')}${range}`;
}

function rows(schema: JsonSchema, prefix: string, out: Row[]): Row[] {
  for (const [name, child] of Object.entries(schema.properties ?? {})) {
    const key = `${prefix}${name}`;
    const required = schema.required?.includes(name) && child.default === undefined;
    const plain =
      child.default === undefined ||
      (typeof child.default === 'object' &&
        child.default !== null &&
        Object.keys(child.default).length === 0 &&
        !Array.isArray(child.default));
    out.push({
      key,
      type: typeOf(child),
      default: required ? '**required**' : plain ? '' : `\`${JSON.stringify(child.default)}\``,
      description: (child.description ?? '').replace(/\|/g, '\\|'),
    });
    if (child.properties) rows(child, `${key}.`, out);
    if (child.items?.properties) rows(child.items, `${key}[].`, out);
    if (child.items?.anyOf)
      for (const option of child.items.anyOf) if (option.properties) rows(option, `${key}[].`, out);
    if (child.items?.oneOf)
      for (const option of child.items.oneOf) if (option.properties) rows(option, `${key}[].`, out);
    const values = child.additionalProperties;
    if (typeof values === 'object' && values.properties) rows(values, `${key}.<name>.`, out);
  }
  return out;
}

function table(schema: z.ZodType): string {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  const lines = ['| key | type | default | description |', '| --- | --- | --- | --- |'];
  for (const row of rows(json, '', []))
    lines.push(`| \`${row.key}\` | ${row.type} | ${row.default} | ${row.description} |`);
  return lines.join('\n');
}

/** The configuration reference in Markdown, generated from the schemas so it cannot drift from them. */
export function renderConfigReference(): string {
  return `# Configuration reference

<!-- Generated from the config schema by \`npm run docs:config\`; a test fails when this file is out of date. -->

swas reads \`swas.yaml\` (\`swas up --config FILE\`), and the rule and runbook files it names. Every file
is validated at start-up and on reload; a problem names the file, line and field, and stops start-up with
exit code 2 (a reload keeps the old config running).

Durations are written like Prometheus's: \`500ms\`, \`15s\`, \`5m\`, \`1h30m\`.

**Environment overrides.** Any key can be set from the environment: \`SWAS_\` + the key path in upper case
with \`__\` between levels, e.g. \`SWAS_SERVER__LISTEN=0.0.0.0:7927\`, \`SWAS_NOTIFY__WEBHOOKS__0__URL=…\`.
A variable ending in \`_FILE\` reads the value from that file, for secrets:
\`SWAS_STORE__URL_FILE=/run/secrets/swas-db\`; but where the key itself ends in \`_file\` the variable sets
that key, so \`SWAS_SERVER__TLS__CERT_FILE=/etc/swas/tls.pem\` sets \`server.tls.cert_file\`.

**Secrets.** \`store.url\` and webhook \`headers\` are secrets: they never appear in logs or API answers.

## swas.yaml

${table(swasConfigSchema)}

## Runbook files

Listed under \`runbooks.files\`. See [runbooks.md](runbooks.md) for how runs execute.

${table(runbookSchema)}

## Rule files

Rule files are Prometheus rule files, unchanged: \`groups\` with \`name\`, \`interval\`, \`limit\` and \`rules\`
(alerting rules with \`alert\`, \`expr\`, \`for\`, \`keep_firing_for\`, \`labels\`, \`annotations\`; recording
rules with \`record\`, \`expr\`, \`labels\`). Templates support \`{{ $labels.NAME }}\` and \`{{ $value }}\`.
`;
}
