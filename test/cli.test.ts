import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../examples/demo/demo.js';
import { freePort } from './support/ports.js';
import { eventually } from './support/swasServer.js';
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
