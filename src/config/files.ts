import { readdir } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';

/**
 * Expands file patterns relative to `baseDir`. A `*` or `?` may appear in the last path segment
 * (`rules/*.yml`); a pattern that matches nothing is reported by the caller, not ignored.
 */
export async function expandFilePatterns(
  baseDir: string,
  patterns: readonly string[],
): Promise<{ pattern: string; files: string[] }[]> {
  const out: { pattern: string; files: string[] }[] = [];
  for (const pattern of patterns) {
    const absolute = isAbsolute(pattern) ? pattern : resolve(baseDir, pattern);
    const name = basename(absolute);
    if (!/[*?]/.test(name)) {
      out.push({ pattern, files: [absolute] });
      continue;
    }
    const dir = dirname(absolute);
    const matcher = new RegExp(
      `^${name
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '[^/]*')
        .replace(/\?/g, '[^/]')}$`,
    );
    let entries: string[] = [];
    try {
      entries = await readdir(dir);
    } catch {
      entries = [];
    }
    out.push({
      pattern,
      files: entries
        .filter((e) => matcher.test(e))
        .sort()
        .map((e) => join(dir, e)),
    });
  }
  return out;
}
