import { describe, expect, it } from 'vitest';
import { runPromqlTestScript } from './promqlTestRunner.js';
import { parsePromqlTestScript } from './promqlTestScript.js';

// Small cases copied from Prometheus's promql/promqltest/testdata (Apache License 2.0).
const script = `
load 5m
  http_requests{job="api-server", instance="0", group="production"} 0+10x10
  http_requests{job="api-server", instance="1", group="production"} 0+20x10
  native{a="1"} {{schema:0 sum:1 count:1}}x2

eval instant at 50m sum by (group) (http_requests)
  {group="production"} 300

eval range from 0 to 10m step 5m http_requests{instance="0"} * 2
  {job="api-server", instance="0", group="production"} 0 20 40

eval instant at 50m 1 > 2
  expect fail msg: comparisons between scalars must use BOOL modifier

eval instant at 50m "Foo"
  expect string "Foo"

eval instant at 50m native
  {a="1"} {{schema:0 sum:1 count:1}}

eval instant at 50m info(http_requests)
  expect ordered

eval instant at 50m count({a="1"})

eval instant at 10m count({a="1"})
  {} 1

clear

load 1m
  wrong 1 2 3

eval instant at 2m wrong
  wrong 5

eval instant at 2m wrong
  expect warn
  wrong 3
`;

describe('promqltest scripts', () => {
  it('parse into load, eval and clear commands', () => {
    const commands = parsePromqlTestScript(script);
    expect(commands.map((c) => c.kind)).toEqual([
      'load',
      'eval',
      'eval',
      'eval',
      'eval',
      'eval',
      'eval',
      'eval',
      'eval',
      'clear',
      'load',
      'eval',
      'eval',
    ]);
    expect(commands[2]).toMatchObject({
      kind: 'eval',
      case: { instant: false, atMs: 0, endMs: 600_000, stepMs: 300_000 },
    });
    expect(commands[3]).toMatchObject({
      case: {
        expectFail: true,
        failMessage: { exact: 'comparisons between scalars must use BOOL modifier' },
      },
    });
  });

  it('run with a verdict per eval', async () => {
    const verdicts = (await runPromqlTestScript(script)).map((r) => `${r.line}:${r.verdict}`);
    expect(verdicts).toEqual([
      '7:pass',
      '10:pass',
      '13:pass',
      '16:pass',
      '19:skipped',
      '22:unsupported',
      // Only an eval that reads a native histogram sample is out of scope: at 50m none is in reach.
      '25:pass',
      '27:skipped',
      '35:fail',
      // Right values, but the warning the eval expects is not there.
      '38:fail',
    ]);
  });

  it('refuse malformed scripts with the line', () => {
    expect(() => parsePromqlTestScript('load 5m\n  x 1 two')).toThrow(/invalid series value "two"/);
    expect(() => parsePromqlTestScript('evaluate x')).toThrow(/line 1: invalid eval command/);
    expect(() => parsePromqlTestScript('run x')).toThrow(/line 1: unknown command/);
  });
});
