import { readFile } from 'node:fs/promises';
import type { z } from 'zod';
import { errorMessage } from '../core/index.js';
import { formatFieldPath, type ConfigIssue } from './ConfigError.js';
import { parseYamlSource, type YamlSource } from './yamlSource.js';

/** The outcome of loading one file: a frozen, typed value or every issue found. */
export type LoadResult<T> = { ok: true; value: T } | { ok: false; issues: ConfigIssue[] };

/** A value set from the environment, overriding the file at `path`. */
export interface EnvOverride {
  readonly variable: string;
  readonly path: readonly (string | number)[];
  readonly value: unknown;
}

/** Validates a parsed YAML source against a schema; issues point at file:line of the offending field. */
export function validateSource<S extends z.ZodType>(
  source: YamlSource,
  schema: S,
  overrides: readonly EnvOverride[] = [],
): LoadResult<z.output<S>> {
  const raw = structuredClone(source.value);
  for (const override of overrides) setIn(raw, override.path, override.value);
  const parsed = schema.safeParse(raw);
  if (parsed.success) return { ok: true, value: deepFreeze(parsed.data) };
  const issues = parsed.error.issues.map((issue): ConfigIssue => {
    const path = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
    const fromEnv = overrides.find((o) => startsWith(path, o.path));
    const field = formatFieldPath(withUnknownKey(path, issue));
    const message = readableMessage(issue);
    if (fromEnv) {
      return { file: `environment variable ${fromEnv.variable}`, line: null, column: null, field, message };
    }
    const pos = source.locate(withUnknownKey(path, issue));
    return { file: source.file, line: pos?.line ?? null, column: pos?.column ?? null, field, message };
  });
  return { ok: false, issues };
}

/** Reads and validates one YAML file. */
export async function loadYamlFile<S extends z.ZodType>(
  file: string,
  schema: S,
  overrides: readonly EnvOverride[] = [],
): Promise<{ ok: true; value: z.output<S>; source: YamlSource } | { ok: false; issues: ConfigIssue[] }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    return {
      ok: false,
      issues: [
        { file, line: null, column: null, field: '', message: `cannot read file: ${errorMessage(error)}` },
      ],
    };
  }
  const parsed = parseYamlSource(file, text);
  if (!parsed.ok) return parsed;
  const validated = validateSource(parsed.source, schema, overrides);
  return validated.ok ? { ...validated, source: parsed.source } : validated;
}

function readableMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_type' && issue.message.endsWith('received undefined')) {
    return `is required (expected ${issue.expected})`;
  }
  if (issue.code === 'unrecognized_keys') {
    return `unknown field ${issue.keys.map((k) => `"${k}"`).join(', ')}; check the spelling against docs/configuration.md`;
  }
  return issue.message;
}

// For "unrecognized key" issues, point at the key itself rather than at its parent mapping.
function withUnknownKey(path: (string | number)[], issue: z.core.$ZodIssue): (string | number)[] {
  if (issue.code === 'unrecognized_keys' && issue.keys.length > 0) return [...path, issue.keys[0] ?? ''];
  return path;
}

function startsWith(path: readonly (string | number)[], prefix: readonly (string | number)[]): boolean {
  return prefix.every((p, i) => String(path[i]) === String(p));
}

function setIn(target: unknown, path: readonly (string | number)[], value: unknown): void {
  let node = target as Record<string | number, unknown>;
  path.forEach((key, i) => {
    if (i === path.length - 1) {
      node[key] = value;
      return;
    }
    const next = node[key];
    if (typeof next !== 'object' || next === null) node[key] = typeof path[i + 1] === 'number' ? [] : {};
    node = node[key] as Record<string | number, unknown>;
  });
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
