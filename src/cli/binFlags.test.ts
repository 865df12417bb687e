import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The installed `swas` command runs with V8 GC flags from its interpreter line (ADR 0004): they cannot be set
// at run time, so if the line loses them every swas silently uses more CPU and memory. These tests read the
// line, check that this node accepts the flags, and run bin/swas.js as an executable, as installed.

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(REPO_ROOT, 'bin/swas.js');
const BUILT_CLI = join(REPO_ROOT, 'dist/cli/main.js');
const GC_FLAGS = ['--single-threaded-gc', '--max-semi-space-size=2'];

/** The interpreter line's words after `node`, or undefined when it does not run node through `env -S`. */
function interpreterFlags(): string[] | undefined {
  const first = readFileSync(BIN, 'utf8').split('\n', 1)[0] ?? '';
  const match = /^#!\/usr\/bin\/env -S node(?<flags>( +\S+)*) *$/.exec(first);
  return match?.groups?.flags?.split(' ').filter((w) => w !== '');
}

/** The environment without NODE_OPTIONS, so the flags can only come from the interpreter line. */
function envWithoutNodeOptions(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  return env;
}

describe('the installed swas command', () => {
  it('puts the GC flags on its interpreter line, through env -S', () => {
    expect(interpreterFlags()).toEqual(GC_FLAGS);
  });

  it('has flags this node accepts', () => {
    const result = spawnSync(
      process.execPath,
      [...GC_FLAGS, '-e', 'process.stdout.write(JSON.stringify(process.execArgv))'],
      { encoding: 'utf8', env: envWithoutNodeOptions() },
    );
    // A flag V8 does not know makes node exit 9 with "bad option".
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual(expect.arrayContaining(GC_FLAGS));
  });

  it('runs as an executable: the kernel and env on this system read the interpreter line', () => {
    if (!existsSync(BUILT_CLI))
      throw new Error(`${BUILT_CLI} is missing: run \`npm run build\` (npm test does it)`);
    expect(statSync(BIN).mode & 0o111, 'bin/swas.js must be executable').toBe(0o111);
    const { version } = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
      version: string;
    };
    const result = spawnSync(BIN, ['--version'], { encoding: 'utf8', env: envWithoutNodeOptions() });
    expect(result.error).toBeUndefined();
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toBe(`${version}\n`);
  });
});
