/**
 * swas as the installed command runs it: src/ transpiled to `dir`/dist with esbuild (no type check, the same
 * ES modules `npm run build` emits) next to a copy of bin/swas.js, package.json and a link to node_modules.
 * Benchmarks measure this rather than the TypeScript source under a loader, which costs memory and start-up
 * time the installed command does not have. The copied bin is executed directly, so the kernel reads its
 * interpreter line and swas runs with the V8 flags written there, as installed (ADR 0004).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, copyFile, mkdir, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Builds the compiled swas into `dir` and returns its bin/swas.js. */
export async function buildCompiledSwas(dir: string): Promise<string> {
  const sources = spawnSync('git', ['ls-files', '-co', '--exclude-standard', 'src'], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
  })
    .stdout.split('\n')
    // A file deleted but not yet committed is still listed; esbuild would fail on it.
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && existsSync(join(REPO_ROOT, f)));
  const esbuild = join(REPO_ROOT, 'node_modules/.bin/esbuild');
  const built = spawnSync(
    esbuild,
    [
      ...sources,
      `--outdir=${join(dir, 'dist')}`,
      '--outbase=src',
      '--format=esm',
      '--platform=node',
      '--log-level=error',
    ],
    { cwd: REPO_ROOT, encoding: 'utf8' },
  );
  if (built.status !== 0) throw new Error(`esbuild of src/ failed:\n${built.stderr}`);
  await copyFile(join(REPO_ROOT, 'package.json'), join(dir, 'package.json'));
  await symlink(join(REPO_ROOT, 'node_modules'), join(dir, 'node_modules'));
  await mkdir(join(dir, 'bin'), { recursive: true });
  const bin = join(dir, 'bin/swas.js');
  await copyFile(join(REPO_ROOT, 'bin/swas.js'), bin);
  // copyFile keeps the mode only where the platform does; the bin must be executable to be run directly.
  await chmod(bin, 0o755);
  return bin;
}

/** The node flags on `bin`'s interpreter line (`#!/usr/bin/env -S node <flags>`), e.g. the GC flags. */
export function binNodeFlags(bin: string): string[] {
  const first = readFileSync(bin, 'utf8').split('\n', 1)[0] ?? '';
  const words = first.replace(/^#!/, '').trim().split(/\s+/);
  const node = words.indexOf('node');
  if (node < 0) throw new Error(`${bin}: the first line does not run node: ${first}`);
  return words.slice(node + 1);
}

/**
 * The command and arguments that run swas `args` as installed: the executable `bin` itself. With
 * `extraNodeArgs` (e.g. `--cpu-prof`) it runs `node <the bin's flags> <extraNodeArgs> bin`, since extra
 * flags cannot go through the interpreter line.
 */
export function swasCommand(
  bin: string,
  args: readonly string[],
  extraNodeArgs: readonly string[] = [],
): [command: string, args: string[]] {
  // `env` finds node on PATH, as for the installed command, and execs it: the child's pid is node's.
  if (extraNodeArgs.length === 0) return [bin, [...args]];
  return [process.execPath, [...binNodeFlags(bin), ...extraNodeArgs, bin, ...args]];
}

/** Creates an API token of `role` with the compiled `bin` for the swas of `config`. */
export function createToken(bin: string, config: string, role: 'viewer' | 'admin'): string {
  const args = ['token', 'create', '--role', role, '--name', 'bench', '--config', config, '--json'];
  const created = spawnSync(...swasCommand(bin, args), { encoding: 'utf8', timeout: 60_000 });
  if (created.status !== 0)
    throw new Error(`swas token create failed (exit ${created.status}):\n${created.stderr}`);
  return (JSON.parse(created.stdout) as { token: string }).token;
}
