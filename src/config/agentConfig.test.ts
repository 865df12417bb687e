import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeCa, makeSignedCert } from '../../test/support/certs.js';
import { ConfigError } from './ConfigError.js';
import { loadAgentConfig } from './agentConfig.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'swas-agentcfg-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function load(yaml: string) {
  const file = join(dir, 'agent.yaml');
  await writeFile(file, yaml);
  return loadAgentConfig(file);
}

async function problems(yaml: string): Promise<string> {
  try {
    await load(yaml);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).message;
  }
  throw new Error('expected the config to be refused');
}

describe('loadAgentConfig', () => {
  it('applies defaults and resolves paths against the file', async () => {
    const config = await load(
      'server: https://swas.example.com\nstate_dir: state\nenrollment_token_file: tok\n',
    );
    expect(config.name).toBe(hostname());
    expect(config.interval).toBe(10_000);
    expect(config.spool).toEqual({ max_bytes: 64 * 1024 * 1024, fsync: 'batch' });
    expect(config.tls.insecure_skip_verify).toBe(false);
    expect(config.state_dir).toBe(join(dir, 'state'));
    expect(config.enrollment_token_file).toBe(join(dir, 'tok'));
    expect(config.actions).toEqual({});
    expect(config.collectors.disable).toEqual([]);
  });

  it('reads actions as argv with a timeout', async () => {
    const config = await load(
      [
        'server: http://127.0.0.1:7927',
        'actions:',
        '  restart_app: { argv: [systemctl, restart, app], timeout: 30s }',
        '  hello: { argv: [/bin/echo, hi] }',
      ].join('\n'),
    );
    expect(config.actions['restart_app']).toEqual({ argv: ['systemctl', 'restart', 'app'], timeout: 30_000 });
    expect(config.actions['hello']?.timeout).toBe(60_000);
  });

  it('refuses a non-http server URL with file:line', async () => {
    const message = await problems('name: web-1\nserver: ftp://swas\n');
    expect(message).toMatch(/agent\.yaml:2:\d+: server: must be an http:\/\/ or https:\/\/ URL/);
  });

  it('refuses an interval under 1s and a shell-string action', async () => {
    const message = await problems(
      'server: http://x\ninterval: 200ms\nactions:\n  reboot: { argv: "systemctl reboot" }\n',
    );
    expect(message).toMatch(/:2:\d+: interval: 200ms is too short/);
    expect(message).toMatch(/:4:\d+: actions\.reboot\.argv/);
  });

  it('refuses bad RE2 patterns in collectors', async () => {
    const message = await problems(
      [
        'server: http://x',
        'collectors:',
        '  services:',
        '    - { name: app, match: "(unclosed" }',
        '  log_watches:',
        '    - { name: app, path: /var/log/app.log, patterns: { error: "a(?=b)" } }',
        '  network: { exclude_devices: "[" }',
      ].join('\n'),
    );
    expect(message).toMatch(/:4:\d+: collectors\.services\[0\]\.match: .*not a valid RE2/);
    expect(message).toMatch(/:6:\d+: collectors\.log_watches\[0\]\.patterns\.error: .*not a valid RE2/);
    expect(message).toMatch(/:7:\d+: collectors\.network\.exclude_devices: .*not a valid RE2/);
  });

  it('refuses a service without pidfile or match, duplicate names and unknown collectors', async () => {
    const message = await problems(
      [
        'server: http://x',
        'collectors:',
        '  disable: [cpu, gpu]',
        '  services:',
        '    - { name: app }',
        '    - { name: app, pidfile: /run/app.pid }',
      ].join('\n'),
    );
    expect(message).toMatch(/collectors\.disable\[1\]/);
    expect(message).toMatch(/needs a pidfile or a match pattern/);
    expect(message).toMatch(/collectors\.services\[1\]\.name: service "app" is declared twice/);
  });

  it('refuses both token forms, unknown fields and a tiny spool', async () => {
    const message = await problems(
      'server: http://x\nenrollment_token: a\nenrollment_token_file: b\nspool: { max_bytes: 10 }\nintervall: 5s\n',
    );
    expect(message).toMatch(/enrollment_token_file: set enrollment_token or enrollment_token_file, not both/);
    expect(message).toMatch(/spool\.max_bytes: the spool needs at least 65536 bytes/);
    expect(message).toMatch(/:5:\d+: intervall: unknown field/);
  });

  it('reads scrape targets with optional interval and timeout', async () => {
    const config = await load(
      [
        'server: http://x',
        'scrape:',
        '  - { name: app, url: "http://127.0.0.1:9100/metrics", interval: 30s, timeout: 5s }',
        '  - { name: node, url: "http://127.0.0.1:9101/metrics" }',
      ].join('\n'),
    );
    expect(config.scrape).toEqual([
      { name: 'app', url: 'http://127.0.0.1:9100/metrics', interval: 30_000, timeout: 5_000 },
      { name: 'node', url: 'http://127.0.0.1:9101/metrics' },
    ]);
    expect((await load('server: http://x\n')).scrape).toEqual([]);
  });

  it('refuses bad scrape targets with file:line', async () => {
    const message = await problems(
      [
        'server: http://x',
        'scrape:',
        '  - { name: app, url: "file:///etc/passwd" }',
        '  - { name: app, url: "http://127.0.0.1:1/metrics", interval: 5s, timeout: 10s }',
      ].join('\n'),
    );
    expect(message).toMatch(/:3:\d+: scrape\[0\]\.url: must be an http:\/\/ or https:\/\/ URL/);
    expect(message).toMatch(/scrape\[1\]\.timeout: timeout must not be longer than interval/);
    expect(message).toMatch(/scrape\[1\]\.name: scrape target "app" is declared twice/);
  });

  it('reads a client certificate and key, resolved against the file, and checks they belong together', async () => {
    const ca = makeCa(dir, 'ca');
    makeSignedCert(dir, ca, 'agent', { usage: 'client' });
    makeSignedCert(dir, ca, 'other', { usage: 'client' });
    const config = await load(
      'server: https://x\ntls:\n  ca_file: ca.pem\n  cert_file: agent.pem\n  key_file: agent-key.pem\n',
    );
    expect(config.tls).toEqual({
      ca_file: join(dir, 'ca.pem'),
      cert_file: join(dir, 'agent.pem'),
      key_file: join(dir, 'agent-key.pem'),
      insecure_skip_verify: false,
    });

    const file = join(dir, 'agent.yaml');
    expect(
      await problems('server: https://x\ntls:\n  cert_file: agent.pem\n  key_file: other-key.pem\n'),
    ).toMatch(
      new RegExp(
        `${file}:4:3: tls\\.key_file: ${dir}/other-key\\.pem is not the private key of the certificate in ${dir}/agent\\.pem \\(CN=agent\\)`,
      ),
    );
    expect(await problems('server: https://x\ntls:\n  cert_file: agent.pem\n')).toMatch(
      /agent\.yaml:2:\d+: tls\.key_file: set tls\.cert_file and tls\.key_file together/,
    );
  });

  it('refuses unreadable and non-PEM client certificate files with file:line', async () => {
    await writeFile(join(dir, 'junk.pem'), 'not PEM\n');
    const file = join(dir, 'agent.yaml');
    const missing = await problems(
      'server: https://x\ntls:\n  cert_file: nope.pem\n  key_file: /nonexistent/key.pem\n',
    );
    expect(missing).toContain(
      `${file}:3:3: tls.cert_file: cannot read ${join(dir, 'nope.pem')}: no such file; paths are relative to agent.yaml`,
    );
    expect(missing).toContain(
      `${file}:4:3: tls.key_file: cannot read /nonexistent/key.pem: no such file; paths are relative to agent.yaml`,
    );
    const junk = await problems('server: https://x\ntls:\n  cert_file: junk.pem\n  key_file: junk.pem\n');
    expect(junk).toMatch(/:3:3: tls\.cert_file: .*junk\.pem holds no PEM certificate .*BEGIN CERTIFICATE/);
    expect(junk).toMatch(/:4:3: tls\.key_file: .*junk\.pem holds no PEM private key .*BEGIN PRIVATE KEY/);
  });

  it('accepts the shipped example examples/agent/agent.yaml', async () => {
    const config = await loadAgentConfig(join(import.meta.dirname, '../../examples/agent/agent.yaml'));
    expect(Object.keys(config.actions)).toEqual(['restart_app', 'reload_nginx']);
    expect(config.collectors.services.map((s) => s.name)).toEqual(['nginx', 'app']);
  });
});
