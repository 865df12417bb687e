import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../examples/demo/demo.js';
import { freePort } from './support/ports.js';
import { eventually, startTestServer, type TestServer } from './support/swasServer.js';
import { makeTempDir } from './support/tmp.js';

// The built CLI, as installed: `npm test` builds dist/ first.
const BUILT_CLI = join(REPO_ROOT, 'dist/cli/main.js');
const swasArgv = (args: string[]) => [BUILT_CLI, ...args];

function swas(args: string[], cwd = REPO_ROOT) {
  const result = spawnSync(process.execPath, swasArgv(args), {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, SWAS_TOKEN: '' },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('swas command line', { timeout: 90_000 }, () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  beforeAll(async () => {
    if (!existsSync(BUILT_CLI))
      throw new Error(`${BUILT_CLI} is missing: run \`npm run build\` (npm test does it)`);
    tmp = await makeTempDir('cli');
  });
  afterAll(() => tmp?.remove());

  it('prints its version, from dist and through the installed bin/swas.js', () => {
    const version = (
      JSON.parse(spawnSync('cat', [join(REPO_ROOT, 'package.json')], { encoding: 'utf8' }).stdout) as {
        version: string;
      }
    ).version;
    expect(swas(['--version'])).toMatchObject({ code: 0, stdout: `${version}\n` });
    const built = spawnSync(process.execPath, [join(REPO_ROOT, 'bin/swas.js'), '--version'], {
      encoding: 'utf8',
    });
    expect(built.stderr).toBe('');
    expect(built.stdout).toBe(`${version}\n`);
  });

  it('refuses an invalid config with exit code 2, naming file, line and field', async () => {
    const file = join(tmp.dir, 'bad.yaml');
    await writeFile(
      file,
      'server:\n  listen: 127.0.0.1:7999\nscrape_configs:\n  - job_name: web\n    scrape_interval: fast\n    static_configs: []\n',
    );
    const result = swas(['up', '--config', file]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      `${file}:5:5: scrape_configs[0].scrape_interval: "fast" is not a duration`,
    );
    expect(result.stderr).toContain(`${file}:6:5: scrape_configs[0].static_configs:`);
  });

  it('says how to proceed when there is no config, and on usage errors (exit 2)', () => {
    const none = swas(['up'], tmp.dir);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('no swas.yaml in this directory; pass --config FILE');
    expect(swas(['frobnicate']).code).toBe(2);
    expect(swas(['up', '--no-such-flag']).code).toBe(2);
    const role = swas(['token', 'create', '--role', 'root', '--data', tmp.dir]);
    expect(role.code).toBe(2);
    expect(role.stderr).toContain('--role must be one of viewer, operator, admin, not "root"');
  });

  it('creates, lists and revokes tokens; the secret is printed once and never listed', () => {
    const data = join(tmp.dir, 'tokens');
    const created = swas(['token', 'create', '--role', 'operator', '--name', 'ci', '--data', data, '--json']);
    expect(created.code).toBe(0);
    const { id, token } = JSON.parse(created.stdout) as { id: number; token: string };
    expect(token).toMatch(/^swas_[A-Za-z0-9_-]{40,}$/);
    const listed = swas(['token', 'list', '--data', data, '--json']);
    expect(listed.code).toBe(0);
    expect(listed.stdout).not.toContain(token);
    expect(JSON.parse(listed.stdout)).toEqual([
      expect.objectContaining({ id, name: 'ci', role: 'operator', revokedAt: null }),
    ]);
    expect(swas(['token', 'revoke', String(id), '--data', data]).code).toBe(0);
    const again = swas(['token', 'revoke', String(id), '--data', data]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`no active token with id ${id}`);
  });

  it('API commands explain a missing token (exit 2) and an unreachable server (exit 1)', async () => {
    const noToken = swas(['incident', 'list']);
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toContain('needs an API token: pass --token or set SWAS_TOKEN');
    const port = await freePort();
    const down = swas(['incident', 'list', '--server', `http://127.0.0.1:${port}`, '--token', 'swas_x']);
    expect(down.code).toBe(1);
    expect(down.stderr).toContain(`cannot reach swas at http://127.0.0.1:${port}`);
    expect(swas(['incident', 'show', 'abc', '--token', 'x']).code).toBe(2);
  });

  it('runs `swas up`, lists incidents with a token, and stops gracefully on SIGTERM with exit code 0', async () => {
    const port = await freePort();
    const file = join(tmp.dir, 'swas.yaml');
    await writeFile(file, `server:\n  listen: 127.0.0.1:${port}\ndata_dir: ./up-data\n`);
    const token = (
      JSON.parse(swas(['token', 'create', '--role', 'viewer', '--config', file, '--json']).stdout) as {
        token: string;
      }
    ).token;
    const child = spawn(process.execPath, swasArgv(['up', '--config', file, '--log-format', 'json']), {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    child.stdout.on('data', (chunk: Buffer) => (log += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (log += chunk.toString()));
    try {
      await eventually('swas to be ready', () =>
        fetch(`http://127.0.0.1:${port}/-/ready`).then(
          (r) => r.ok,
          () => false,
        ),
      );
      const listed = swas([
        'incident',
        'list',
        '--server',
        `http://127.0.0.1:${port}`,
        '--token',
        token,
        '--json',
      ]);
      expect(listed).toMatchObject({ code: 0, stdout: '[]\n' });
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(log).toContain('"msg":"swas stopped"');
      expect(log).not.toContain(token);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('explains a listen address that is already in use (exit 1)', async () => {
    const blocker = createServer().listen(0, '127.0.0.1');
    await new Promise((resolve) => blocker.once('listening', resolve));
    const address = blocker.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    const file = join(tmp.dir, 'busy.yaml');
    await writeFile(file, `server:\n  listen: 127.0.0.1:${port}\ndata_dir: ./busy-data\n`);
    const result = swas(['up', '--config', file]);
    blocker.close();
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `SWAS-SRV-001: cannot listen on 127.0.0.1:${port}: the address is in use (is another swas running?); change server.listen in ${file}`,
    );
  });
});

describe('swas incident silence and incident list filters', { timeout: 90_000 }, () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let server: TestServer;
  let operator: string;
  // The server runs in this process, so the CLI must run without blocking its event loop.
  const api = (args: string[], token = operator) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, swasArgv([...args, '--server', server.url, '--token', token]), {
        env: { ...process.env, SWAS_TOKEN: '' },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.once('close', (code) => resolve({ code, stdout, stderr }));
    });

  beforeAll(async () => {
    if (!existsSync(BUILT_CLI))
      throw new Error(`${BUILT_CLI} is missing: run \`npm run build\` (npm test does it)`);
    tmp = await makeTempDir('cli-silence');
    server = await startTestServer(tmp.dir, '');
    operator = await server.token('operator');
  });
  afterAll(async () => {
    await server?.stop();
    await tmp?.remove();
  });

  it('creates, lists and expires a silence', async () => {
    const created = await api([
      'incident',
      'silence',
      '--match',
      'alertname="HostDown"',
      '--match',
      'instance=~"web-.*"',
      '--for',
      '2h',
      '--comment',
      'planned upgrade',
      '--json',
    ]);
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    const silence = JSON.parse(created.stdout) as { id: number; state: string; matchersText: string };
    expect(silence).toMatchObject({
      state: 'active',
      matchersText: 'alertname="HostDown", instance=~"web-.*"',
      createdBy: 'test-operator',
      comment: 'planned upgrade',
    });

    const listed = await api(['incident', 'silence', 'list', '--active']);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/^ID\s+STATE\s+MATCHERS\s+STARTSAT/);
    const row = listed.stdout.split('\n').find((line) => line.startsWith(`${silence.id} `));
    expect(row).toMatch(
      /^\d+\s+active\s+alertname="HostDown", instance=~"web-\.\*"\s+\d{4}-.*test-operator\s+planned upgrade$/,
    );

    const expired = await api(['incident', 'silence', 'expire', String(silence.id)]);
    expect(expired).toMatchObject({ code: 0, stdout: `silence ${silence.id} is expired\n` });
    const active = await api(['incident', 'silence', 'list', '--active', '--json']);
    expect(JSON.parse(active.stdout)).toEqual([]);
    const inactive = JSON.parse(
      (await api(['incident', 'silence', 'list', '--inactive', '--json'])).stdout,
    ) as {
      id: number;
      state: string;
    }[];
    expect(inactive).toEqual([expect.objectContaining({ id: silence.id, state: 'expired' })]);

    const created2 = await api([
      'incident',
      'silence',
      'create',
      '--match',
      'job="db"',
      '--until',
      String(Date.now() + 60_000),
      '--comment',
      'c',
    ]);
    expect(created2.code).toBe(0);
    expect(created2.stdout).toMatch(/^silence \d+ \(active\) mutes job="db" until \d{4}-/);
  });

  it('refuses bad flags with a clear message and exit code 2', async () => {
    const silenceCases: [string[], string][] = [
      [
        ['--match', 'alertname="X', '--for', '2h', '--comment', 'c'],
        '--match "alertname=\\"X": at character 13: the value of "alertname" has no closing quote',
      ],
      [['--for', '2h', '--comment', 'c'], 'give at least one --match'],
      [['--match', 'alertname="X"', '--comment', 'c'], 'give --for (e.g. 2h) or --until (a time), not both'],
      [
        ['--match', 'alertname="X"', '--for', '2h', '--until', '2030-01-01T00:00:00Z', '--comment', 'c'],
        'not both',
      ],
      [
        ['--match', 'alertname="X"', '--for', 'soon', '--comment', 'c'],
        '--for must be a positive duration such as 2h',
      ],
      [
        ['--match', 'alertname="X"', '--until', 'tomorrow', '--comment', 'c'],
        '--until must be an RFC 3339 time',
      ],
      [['--match', 'alertname="X"', '--for', '2h'], "required option '--comment <text>' not specified"],
      [
        ['--match', 'alertname="X"', '--for', '2h', '--comment', 'c', '--colour', 'red'],
        "unknown option '--colour'",
      ],
      // Checked by the server: a 400 is a usage error too.
      [
        ['--match', 'instance=~"web-("', '--for', '2h', '--comment', 'c'],
        'matchers[0].value: error parsing regexp',
      ],
      [
        ['--match', 'alertname="X"', '--until', '2001-01-01T00:00:00Z', '--comment', 'c'],
        'endsAt: 2001-01-01T00:00:00.000Z is in the past',
      ],
    ];
    const cases: [string[], string][] = [
      ...silenceCases.map(([flags, message]): [string[], string] => [
        ['incident', 'silence', ...flags],
        message,
      ]),
      [['incident', 'silence', 'expire', 'abc'], 'silence id must be a number, not "abc"'],
      [['incident', 'silence', 'list', '--active', '--inactive'], 'give --active or --inactive, not both'],
      [['incident', 'list', '--status', 'closed'], 'status: "closed" is unknown'],
      [['incident', 'list', '--since', 'yesterday'], 'since: "yesterday" is not a time'],
      [['incident', 'list', '--match', 'alertname'], '--match "alertname": at character 10'],
      [['incident', 'list', '--limit', 'ten'], '--limit must be a whole number, not "ten"'],
      [['incident', 'list', '--before', 'x'], '--before must be an incident id, not "x"'],
    ];
    // Each CLI run starts Node; run them side by side.
    const results = await Promise.all(cases.map(([args]) => api(args)));
    for (const [i, [args, message]] of cases.entries()) {
      expect(results[i]?.stderr, args.join(' ')).toContain(message);
      expect(results[i]?.code, args.join(' ')).toBe(2);
    }
    const missing = await api(['incident', 'silence', 'expire', '999999']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('silence 999999 does not exist');
  });

  it('lists incidents filtered by status, severity, matchers and time, with a hint for the next page', async () => {
    const store = server.server.parts.store;
    const a = await store.incidents.open(
      {
        key: 'a',
        title: 'web down',
        severity: 'critical',
        labels: { alertname: 'HostDown', instance: 'web-1' },
      },
      Date.now() - 3_600_000,
    );
    const b = await store.incidents.open(
      {
        key: 'b',
        title: 'db down',
        severity: 'critical',
        labels: { alertname: 'HostDown', instance: 'db-1' },
      },
      Date.now(),
    );
    const c = await store.incidents.open(
      { key: 'c', title: 'disk', severity: 'warning', labels: { alertname: 'DiskFull', instance: 'db-1' } },
      Date.now(),
    );
    const ids = async (args: string[]) =>
      (JSON.parse((await api(['incident', 'list', ...args, '--json'])).stdout) as { id: number }[]).map(
        (i) => i.id,
      );
    // Each CLI run starts Node; run them side by side.
    const [byName, byTwo, bySeverity, since, until, page, secondPage] = await Promise.all([
      ids(['--match', 'alertname="HostDown"']),
      ids(['--match', 'alertname="HostDown"', '--match', 'instance=~"web-.*"']),
      ids(['--severity', 'warning', '--status', 'open']),
      ids(['--since', '30m']),
      ids(['--until', '30m']),
      api(['incident', 'list', '--limit', '2']),
      ids(['--limit', '2', '--before', String(b.id)]),
    ]);
    expect(byName).toEqual([b.id, a.id]);
    expect(byTwo).toEqual([a.id]);
    expect(bySeverity).toEqual([c.id]);
    expect(since).toEqual([c.id, b.id]);
    expect(until).toEqual([a.id]);
    expect(page.code).toBe(0);
    expect(page.stderr).toBe(`more: add --before ${b.id}\n`);
    expect(secondPage).toEqual([a.id]);
  });
});
