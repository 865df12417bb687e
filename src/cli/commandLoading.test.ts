import { spawn, spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../test/support/ports.js';
import { eventually } from '../../test/support/swasServer.js';
import { makeTempDir } from '../../test/support/tmp.js';

// The CLI loads a command's implementation only when that command runs (ADR 0003): a long-running
// `swas agent run` must not carry the server (fastify, the state store, PromQL) in its memory. These tests run
// the CLI from source with a module hook that writes down every module Node loads.

const HEAVY = [
  '/src/server/',
  '/src/store/',
  '/src/promql/',
  '/src/tsdb/',
  '/node_modules/fastify/',
  '/node_modules/kysely/',
];

const heavyIn = (modules: readonly string[]) =>
  modules.filter((url) => HEAVY.some((part) => url.includes(part)));

describe('which modules a command loads', { timeout: 120_000 }, () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let hookArgs: string[];
  let loadedFile: string;

  beforeAll(async () => {
    tmp = await makeTempDir('cli-loading');
    loadedFile = join(tmp.dir, 'loaded.txt');
    const hooks = join(tmp.dir, 'hooks.mjs');
    await writeFile(
      hooks,
      "import { appendFileSync } from 'node:fs';\n" +
        'export async function load(url, context, next) {\n' +
        `  appendFileSync(${JSON.stringify(loadedFile)}, url + '\\n');\n` +
        '  return next(url, context);\n' +
        '}\n',
    );
    const register = join(tmp.dir, 'register.mjs');
    await writeFile(
      register,
      "import { register } from 'node:module';\n" +
        `register(${JSON.stringify(pathToFileURL(hooks).href)});\n`,
    );
    hookArgs = ['--import', 'tsx', '--import', pathToFileURL(register).href, 'src/cli/main.ts'];
  });
  afterAll(() => tmp?.remove());

  const loaded = async () => (await readFile(loadedFile, 'utf8').catch(() => '')).split('\n');

  it('`swas agent run` loads the agent but not the server', async () => {
    await writeFile(loadedFile, '');
    const config = join(tmp.dir, 'agent.yaml');
    // Nothing listens on the port, so the agent keeps retrying its enrollment, logging each attempt.
    await writeFile(
      config,
      `server: http://127.0.0.1:${await freePort()}\nname: loading\nenrollment_token: swas_enroll_x\n` +
        `state_dir: ${JSON.stringify(join(tmp.dir, 'state'))}\n`,
    );
    const child = spawn(
      process.execPath,
      [...hookArgs, 'agent', 'run', '--config', config, '--log-format', 'json'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    try {
      await eventually(
        'the agent to log (it is running)',
        () => child.exitCode === null && output.includes('"level":'),
        90_000,
      );
    } finally {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
    }
    const modules = await loaded();
    expect(
      modules.some((url) => url.endsWith('/src/agent/Agent.ts')),
      output,
    ).toBe(true);
    expect(heavyIn(modules).slice(0, 10)).toEqual([]);
  });

  it('`swas --version` loads neither the server nor the agent', async () => {
    await writeFile(loadedFile, '');
    const result = spawnSync(process.execPath, [...hookArgs, '--version'], {
      encoding: 'utf8',
      timeout: 90_000,
    });
    expect(result.status, result.stderr).toBe(0);
    const modules = await loaded();
    expect(modules.some((url) => url.endsWith('/src/cli/main.ts'))).toBe(true);
    expect(heavyIn(modules).slice(0, 10)).toEqual([]);
    expect(modules.filter((url) => url.includes('/src/agent/') || url.includes('/src/config/'))).toEqual([]);
  });
});
