import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NotFoundError } from '../core/index.js';
import { runPromqlTestScript } from './promqlTestRunner.js';
import type { CaseResult } from './promqlTestRunner.js';

/** The results of one promqltest script. */
export interface ConformanceFile {
  readonly file: string;
  readonly results: readonly CaseResult[];
}

/** The suite's numbers: "failed" counts wrong answers and evals refused as not supported yet. */
export interface ConformanceSummary {
  readonly suite: 'promql';
  readonly passed: number;
  readonly failed: number;
  readonly skipped: number;
}

/**
 * Runs every `*.test` script in dir (Prometheus's promqltest files), in name order. A missing directory or
 * one without scripts is a NotFoundError: an empty run must never read as a result.
 */
export async function runConformanceDir(dir: string): Promise<ConformanceFile[]> {
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.test')) : [];
  if (files.length === 0) {
    throw new NotFoundError(
      'SWAS-PROMQL-030',
      `no PromQL conformance scripts (*.test) in ${dir}: check out the shared conformance data next to the repository`,
    );
  }
  const out: ConformanceFile[] = [];
  for (const file of files.sort()) {
    out.push({ file, results: await runPromqlTestScript(readFileSync(join(dir, file), 'utf8')) });
  }
  return out;
}

/** Totals over all files; an eval refused as not supported yet counts as failed. */
export function summarizeConformance(files: readonly ConformanceFile[]): ConformanceSummary {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  for (const { results } of files) {
    for (const r of results) {
      if (r.verdict === 'pass') passed++;
      else if (r.verdict === 'skipped') skipped++;
      else failed++;
    }
  }
  return { suite: 'promql', passed, failed, skipped };
}

/** Every eval that did not pass or get skipped, as `file:line`, in file and line order. */
export function failingEvals(files: readonly ConformanceFile[]): Array<CaseResult & { readonly at: string }> {
  return files.flatMap(({ file, results }) =>
    results
      .filter((r) => r.verdict === 'fail' || r.verdict === 'unsupported')
      .map((r) => ({ ...r, at: `${file}:${r.line}` })),
  );
}
