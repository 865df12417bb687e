import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runPromqlTestScript } from './promqlTestRunner.js';
import type { CaseResult } from './promqlTestRunner.js';

// Prometheus's own engine test scripts (see DESIGN §9), next to the repository.
const dir = fileURLToPath(new URL('../../../shared/conformance/promql/', import.meta.url));

describe('Prometheus PromQL conformance scripts', () => {
  it('are present next to the repository', () => {
    expect(
      existsSync(dir),
      `missing ${dir}: check out the shared conformance data next to the repository`,
    ).toBe(true);
  });

  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.test')) : [];
  const all: CaseResult[] = [];

  // Every eval in scope either gives Prometheus's answer or is refused as "not supported yet": never a wrong answer.
  it.each(files)('%s: no wrong answers', async (file) => {
    const results = await runPromqlTestScript(readFileSync(`${dir}${file}`, 'utf8'));
    all.push(...results);
    const wrong = results
      .filter((r) => r.verdict === 'fail')
      .map((r) => `${file}:${r.line} ${r.expr}: ${r.detail ?? ''}`);
    expect(wrong).toEqual([]);
  });

  it('pass a substantial share of the in-scope evals', () => {
    const passed = all.filter((r) => r.verdict === 'pass').length;
    expect(passed).toBeGreaterThanOrEqual(800);
  });
});
