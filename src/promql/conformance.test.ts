import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { failingEvals, runConformanceDir, summarizeConformance } from './conformanceSuite.js';
import type { ConformanceFile } from './conformanceSuite.js';

// Prometheus's own engine test scripts (see DESIGN §9), next to the repository. The numbers below are the
// committed result of `npm run conformance`: a regression, a new wrong answer and an improvement all fail
// here, so docs/promql-compatibility.md and these constants move together.
const dir = fileURLToPath(new URL('../../../shared/conformance/promql/', import.meta.url));

const expected = { suite: 'promql', passed: 939, failed: 0, skipped: 342 } as const;

/** Every eval that does not pass today, as file:line (none: keep it that way or list each one here). */
const notSupported: string[] = [];

describe('Prometheus PromQL conformance scripts', () => {
  let files: ConformanceFile[] = [];

  beforeAll(async () => {
    // Throws (and fails every test below) when the shared data is missing: an empty run is not a pass.
    files = await runConformanceDir(dir);
  }, 60_000);

  it('give no wrong answers', () => {
    const wrong = failingEvals(files)
      .filter((r) => r.verdict === 'fail')
      .map((r) => `${r.at} ${r.expr}: ${r.detail ?? ''}`);
    expect(wrong).toEqual([]);
  });

  it('refuse exactly the committed list of evals as not supported yet', () => {
    expect(failingEvals(files).map((r) => r.at)).toEqual(notSupported);
  });

  it('have the committed pass, fail and skip counts', () => {
    expect(summarizeConformance(files)).toEqual(expected);
  });

  it('pass at least 95 % of the evals that do not need native histograms', () => {
    const { passed, failed } = summarizeConformance(files);
    expect(passed / (passed + failed)).toBeGreaterThanOrEqual(0.95);
  });
});

describe('runConformanceDir', () => {
  it('fails loudly on a directory without scripts', async () => {
    await expect(runConformanceDir(fileURLToPath(new URL('./', import.meta.url)))).rejects.toThrow(
      /no PromQL conformance scripts/,
    );
  });
});
