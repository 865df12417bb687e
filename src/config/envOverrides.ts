import { readFileSync } from 'node:fs';
import { parse as parseYamlScalar } from 'yaml';
import { errorMessage } from '../core/index.js';
import type { ConfigIssue } from './ConfigError.js';
import type { EnvOverride } from './validate.js';

const PREFIX = 'SWAS_';

/**
 * Reads config overrides from the environment: `SWAS_SERVER__LISTEN=0.0.0.0:7927` sets `server.listen`;
 * `__` separates levels, a number is a list index; `SWAS_STORE__URL_FILE=/run/secrets/db` reads the value from a
 * file (for secrets). Only variables whose first segment is a top-level config key are read, so `SWAS_TOKEN`
 * and the like stay the CLI's.
 */
export function readEnvOverrides(
  env: NodeJS.ProcessEnv,
  topLevelKeys: readonly string[],
): { overrides: EnvOverride[]; issues: ConfigIssue[] } {
  const overrides: EnvOverride[] = [];
  const issues: ConfigIssue[] = [];
  for (const [variable, raw] of Object.entries(env).sort(([a], [b]) => a.localeCompare(b))) {
    if (!variable.startsWith(PREFIX) || raw === undefined) continue;
    let name = variable.slice(PREFIX.length).toLowerCase();
    const fromFile = name.endsWith('_file');
    if (fromFile) name = name.slice(0, -'_file'.length);
    const path = name.split('__').map((seg) => (/^\d+$/.test(seg) ? Number(seg) : seg));
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

// Environment values are text; read them as YAML scalars so `SWAS_X__ENABLED=false` is a boolean.
function scalarOf(raw: string): unknown {
  try {
    const value: unknown = parseYamlScalar(raw);
    return typeof value === 'object' && value !== null ? raw : value;
  } catch {
    return raw;
  }
}
