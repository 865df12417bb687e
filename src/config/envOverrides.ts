import { readFileSync } from 'node:fs';
import { parse as parseYamlScalar } from 'yaml';
import type { z } from 'zod';
import { errorMessage } from '../core/index.js';
import type { ConfigIssue } from './ConfigError.js';
import type { EnvOverride } from './validate.js';

const PREFIX = 'SWAS_';

/**
 * Reads config overrides from the environment: `SWAS_SERVER__LISTEN=0.0.0.0:7927` sets `server.listen`;
 * `__` separates levels, a number is a list index; `SWAS_STORE__URL_FILE=/run/secrets/db` reads the value from a
 * file (for secrets), except where the schema has a key ending in `_file` itself:
 * `SWAS_SERVER__TLS__CERT_FILE=/etc/swas/tls.pem` sets `server.tls.cert_file` (write `…__CERT_FILE_FILE` to read
 * that path from a file). Only variables whose first segment is a top-level key of `schema` are read, so
 * `SWAS_TOKEN` and the like stay the CLI's.
 */
export function readEnvOverrides(
  env: NodeJS.ProcessEnv,
  schema: z.ZodObject,
): { overrides: EnvOverride[]; issues: ConfigIssue[] } {
  const topLevelKeys = Object.keys(schema.shape);
  const overrides: EnvOverride[] = [];
  const issues: ConfigIssue[] = [];
  for (const [variable, raw] of Object.entries(env).sort(([a], [b]) => a.localeCompare(b))) {
    if (!variable.startsWith(PREFIX) || raw === undefined) continue;
    const name = variable.slice(PREFIX.length).toLowerCase();
    const asKey = pathOf(name);
    const fromFile = name.endsWith('_file') && !declares(schema, asKey);
    const path = fromFile ? pathOf(name.slice(0, -'_file'.length)) : asKey;
    if (!topLevelKeys.includes(String(path[0]))) continue;
    if (fromFile) {
      try {
        overrides.push({ variable, path, value: readFileSync(raw, 'utf8').replace(/\r?\n$/, '') });
      } catch (error) {
        issues.push({
          file: `environment variable ${variable}`,
          line: null,
          column: null,
          field: path.join('.'),
          message: `cannot read secret file: ${errorMessage(error)}`,
        });
      }
      continue;
    }
    overrides.push({ variable, path, value: scalarOf(raw) });
  }
  return { overrides, issues };
}

function pathOf(name: string): (string | number)[] {
  return name.split('__').map((seg) => (/^\d+$/.test(seg) ? Number(seg) : seg));
}

/**
 * Whether `path` names a field the schema declares by name (list indexes included). A record's keys are free,
 * so they do not count: `…__HEADERS__AUTHORIZATION_FILE` still reads the header's value from a file.
 */
function declares(schema: z.ZodType, path: readonly (string | number)[]): boolean {
  const [head, ...rest] = path;
  if (head === undefined) return true;
  // Zod's definitions, walked generically: wrappers have innerType, pipes in/out, unions options.
  const def = schema._zod.def as unknown as Record<string, unknown> & { type: string };
  const child = (key: string): z.ZodType => def[key] as z.ZodType;
  switch (def.type) {
    case 'object': {
      const shape = def['shape'] as Record<string, z.ZodType>;
      const field = typeof head === 'string' && Object.hasOwn(shape, head) ? shape[head] : undefined;
      return field !== undefined && declares(field, rest);
    }
    case 'array':
      return typeof head === 'number' && declares(child('element'), rest);
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'nonoptional':
    case 'readonly':
    case 'catch':
      return declares(child('innerType'), path);
    case 'pipe':
      return declares(child('in'), path);
    case 'union':
      return (def['options'] as z.ZodType[]).some((option) => declares(option, path));
    case 'intersection':
      return declares(child('left'), path) || declares(child('right'), path);
    case 'lazy':
      return declares((def['getter'] as () => z.ZodType)(), path);
    default:
      return false;
  }
}

// Environment values are text; read them as YAML scalars so `SWAS_X__ENABLED=false` is a boolean.
function scalarOf(raw: string): unknown {
  try {
    const value: unknown = parseYamlScalar(raw);
    return typeof value === 'object' && value !== null ? raw : value;
  } catch {
    return raw;
  }
}
