// Runs Prometheus's PromQL engine test scripts against swas: `npm run conformance -- [--json] [--verbose]`.
// The data lives in <repo>/../shared/conformance/promql/ (CI clones the repository with shared/ beside it).
// The exit code is 0 whatever the numbers are: they are the result. Missing data or a bad flag exits 2.
import { fileURLToPath } from 'node:url';
import { errorMessage } from '../src/core/index.js';
import { failingEvals, runConformanceDir, summarizeConformance } from '../src/promql/index.js';

const usage = 'usage: npm run conformance -- [--json] [--verbose]';
const flags = new Set(process.argv.slice(2));
const unknown = [...flags].filter((f) => f !== '--json' && f !== '--verbose');
if (unknown.length > 0) {
  process.stderr.write(`conformance: unknown option ${unknown.join(', ')}; ${usage}\n`);
  process.exit(2);
}

const dir = fileURLToPath(new URL('../../shared/conformance/promql/', import.meta.url));
try {
  const files = await runConformanceDir(dir);
  const lines: string[] = [`PromQL conformance (${dir})`];
  for (const { file, results } of files) {
    const s = summarizeConformance([{ file, results }]);
    lines.push(
      `  ${file.padEnd(26)} ${String(s.passed).padStart(4)} passed ${String(s.failed).padStart(4)} failed ${String(s.skipped).padStart(4)} skipped`,
    );
  }
  const total = summarizeConformance(files);
  const ratio = total.passed + total.failed === 0 ? 0 : total.passed / (total.passed + total.failed);
  lines.push(
    `  ${'total'.padEnd(26)} ${String(total.passed).padStart(4)} passed ${String(total.failed).padStart(4)} failed ${String(total.skipped).padStart(4)} skipped (${(ratio * 100).toFixed(1)} % of non-skipped pass)`,
  );
  if (flags.has('--verbose')) {
    lines.push('', 'Failing evals (file:line, expression, why):');
    for (const r of failingEvals(files)) lines.push(`  ${r.at}  ${r.expr}  -- ${r.detail ?? r.verdict}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  if (flags.has('--json')) process.stdout.write(`${JSON.stringify(total)}\n`);
} catch (error) {
  process.stderr.write(`conformance: ${errorMessage(error)}\n`);
  process.exit(2);
}
