/**
 * swas as the installed command runs it: src/ transpiled to `dir`/dist with esbuild (no type check, the same
 * ES modules `npm run build` emits) next to a copy of bin/swas.js, package.json and a link to node_modules.
 * Benchmarks measure this rather than the TypeScript source under a loader, which costs memory and start-up
 * time the installed command does not have.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, symlink } from 'node:fs/promises';
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
  await copyFile(join(REPO_ROOT, 'bin/swas.js'), join(dir, 'bin/swas.js'));
  return join(dir, 'bin/swas.js');
}

/** Creates an API token of `role` with the compiled `bin` for the swas of `config`. */
export function createToken(bin: string, config: string, role: 'viewer' | 'admin'): string {
  const args = ['token', 'create', '--role', role, '--name', 'bench', '--config', config, '--json'];
  const created = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 60_000 });
  if (created.status !== 0)
    throw new Error(`swas token create failed (exit ${created.status}):\n${created.stderr}`);
  return (JSON.parse(created.stdout) as { token: string }).token;
}
