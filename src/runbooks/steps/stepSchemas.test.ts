import { describe, expect, it } from 'vitest';
import { runbookSchema, swasConfigSchema } from '../../config/index.js';

function problems(steps: unknown[]): string[] {
  const parsed = runbookSchema.safeParse({ name: 'r', trigger: { alert: 'A' }, steps });
  return parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

function stepOf(step: Record<string, unknown>) {
  const parsed = runbookSchema.parse({ name: 'r', trigger: { alert: 'A' }, steps: [step] });
  return parsed.steps[0];
}

describe('schemas of the newer steps', () => {
  it('fills defaults', () => {
    expect(stepOf({ action: 'verify', with: { expr: 'up == 1', for: '1m' } })).toMatchObject({
      timeout: 300_000,
      with: { for: 60_000, interval: 1000 },
    });
    expect(stepOf({ action: 'http', with: { url: 'https://example.test/x' } })).toMatchObject({
      timeout: 10_000,
      with: { method: 'GET', expect_status: ['2xx'], headers: {}, headers_from_env: {} },
    });
    expect(stepOf({ action: 'approve' })).toMatchObject({
      timeout: 1_800_000,
      with: { on_timeout: 'fail', prompt: 'approve this run to continue' },
    });
    expect(stepOf({ action: 'page', with: { message: 'help' } })).toMatchObject({ with: { then: 'stop' } });
    expect(stepOf({ action: 'host.reboot', with: { host: 'h', up: 'up == 1' } })).toMatchObject({
      timeout: 600_000,
      with: { expect_down: true },
    });
    expect(stepOf({ action: 'run', with: { command: 'purge' } })).toMatchObject({ with: { args: {} } });
  });

  it('rejects bad steps, naming the field', () => {
    expect(problems([{ action: 'verify', with: { expr: 'up' } }])).toEqual([
      expect.stringMatching(/^steps\.0\.with\.for: /),
    ]);
    expect(problems([{ action: 'verify', timeout: '10s', with: { expr: 'up', for: '1m' } }])).toEqual([
      'steps.0.timeout: must be at least with.for, or the condition can never hold long enough',
    ]);
    expect(problems([{ action: 'http', with: { url: 'ftp://x/' } }])).toEqual([
      'steps.0.with.url: must start with http:// or https://',
    ]);
    expect(problems([{ action: 'http', with: { url: 'http://x/', expect_status: ['2xxx'] } }])).toEqual([
      expect.stringMatching(/^steps\.0\.with\.expect_status\.0: /),
    ]);
    expect(problems([{ action: 'http', with: { url: 'http://x/', method: 'TRACE' } }])).toHaveLength(1);
    expect(problems([{ action: 'run', with: { command: 'x', argv: ['rm'] } }])).toEqual([
      expect.stringMatching(/^steps\.0\.with: .*argv/),
    ]);
    expect(problems([{ action: 'page', with: { message: 'm', then: 'retry' } }])).toEqual([
      expect.stringMatching(/^steps\.0\.with\.then: /),
    ]);
    expect(problems([{ action: 'host.reboot', with: { host: 'h' } }])).toEqual([
      expect.stringMatching(/^steps\.0\.with\.up: /),
    ]);
    expect(problems([{ action: 'approve', timeout: '10ms' }])).toEqual([
      expect.stringMatching(/^steps\.0\.timeout: /),
    ]);
  });
});

describe('swas.yaml commands and hosts', () => {
  const config = (extra: Record<string, unknown>) => swasConfigSchema.safeParse(extra);

  it('accepts an allow-listed command whose placeholders are declared', () => {
    const parsed = config({
      commands: { purge: { argv: ['/usr/bin/purge', '--host', '{host}'], args: ['host'] } },
      hosts: { 'web-1': { reboot: ['ssh', 'web-1', 'sudo', 'reboot'] } },
    });
    expect(parsed.success && parsed.data.commands.purge).toEqual({
      argv: ['/usr/bin/purge', '--host', '{host}'],
      args: ['host'],
      timeout: 60_000,
    });
    expect(parsed.success && parsed.data.hosts['web-1']?.timeout).toBe(60_000);
  });

  it('rejects undeclared placeholders, unused args and a placeholder program', () => {
    const issues = (extra: Record<string, unknown>) => {
      const parsed = config(extra);
      return parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    };
    expect(issues({ commands: { p: { argv: ['/bin/x', '{host}'] } } })).toEqual([
      'commands.p.argv: {host} is not declared; add "host" to args',
    ]);
    expect(issues({ commands: { p: { argv: ['/bin/x'], args: ['host'] } } })).toEqual([
      'commands.p.args: arg "host" is not used as {host} in argv',
    ]);
    expect(issues({ commands: { p: { argv: ['{prog}'], args: ['prog'] } } })).toEqual([
      'commands.p.argv.0: the program itself cannot be a placeholder',
    ]);
    expect(issues({ hosts: { h: {} } })).toEqual([expect.stringMatching(/^hosts\.h\.reboot: /)]);
  });
});
