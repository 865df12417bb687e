import { readdir, readFile } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { z } from 'zod';
import { formatConfigIssue, parseYamlSource, validateSource } from '../config/index.js';
import { errorMessage } from '../core/index.js';
import type { TargetGroup } from './relabelTargets.js';

/** The label file service discovery puts on every group: the file it was read from. */
export const FILE_SD_PATH_LABEL = '__meta_filepath';

const labelNamePattern = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
// Keys are checked here rather than by a record key schema, whose error does not say what is wrong.
const labelSet = z
  .record(z.string(), z.string())
  .default({})
  .superRefine((labels, ctx) => {
    for (const name of Object.keys(labels)) {
      if (labelNamePattern.test(name)) continue;
      ctx.addIssue({
        code: 'custom',
        path: [name],
        message: 'a label name starts with a letter or _ and holds only letters, digits and _',
      });
    }
  });
const groupFields = {
  targets: z.array(z.string()).default([]),
  labels: labelSet,
};
// Like Prometheus: YAML files are read strictly, JSON files ignore unknown fields.
const notAList = { error: 'expected a list of target groups: [{targets: [host:port, …], labels: {…}}]' };
const yamlGroups = z.array(z.strictObject(groupFields), notAList);
const jsonGroups = z.array(z.object(groupFields), notAList);

/** The groups of one file, or every problem as `file:line:column: field: message`. */
export type FileSdRead = { ok: true; groups: TargetGroup[] } | { ok: false; errors: string[] };

/** Parses a file in Prometheus's file SD format: a list of `{targets: [...], labels: {...}}`. */
export function parseTargetGroups(file: string, text: string): FileSdRead {
  const json = /\.json$/i.test(file);
  if (!json && text.trim() === '') return { ok: true, groups: [] };
  const parsed = parseYamlSource(file, text);
  if (!parsed.ok) return { ok: false, errors: parsed.issues.map(formatConfigIssue) };
  const validated = validateSource(parsed.source, json ? jsonGroups : yamlGroups);
  if (!validated.ok) return { ok: false, errors: validated.issues.map(formatConfigIssue) };
  const groups = validated.value.map((group, index): TargetGroup => ({
    source: `${file}:${index}`,
    targets: group.targets,
    labels: { ...group.labels, [FILE_SD_PATH_LABEL]: file },
  }));
  return { ok: true, groups };
}

/** Reads and parses one file SD file. */
export async function readTargetGroups(file: string): Promise<FileSdRead> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    return { ok: false, errors: [`${file}: cannot read file: ${errorMessage(error)}`] };
  }
  return parseTargetGroups(file, text);
}

/** The existing files matching absolute patterns (`*`, `?` in the last segment), sorted, without duplicates. */
export async function listFileSdFiles(patterns: readonly string[]): Promise<string[]> {
  const files = new Set<string>();
  for (const pattern of patterns) {
    const name = basename(pattern);
    // Like Go's filepath.Glob, a plain name that does not exist matches nothing rather than failing.
    const matcher = new RegExp(
      `^${name
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '[^/]*')
        .replace(/\?/g, '[^/]')}$`,
    );
    let entries: string[];
    try {
      entries = await readdir(dirname(pattern));
    } catch {
      // A directory that does not exist yet simply has no files; it is watched for when it appears.
      entries = [];
    }
    for (const entry of entries) {
      if (matcher.test(entry) && extname(entry) !== '') files.add(join(dirname(pattern), entry));
    }
  }
  return [...files].sort();
}
