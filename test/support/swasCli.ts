import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../../examples/demo/demo.js';

/** The built CLI (`npm test` builds before the tests run). */
export const BUILT_CLI = join(REPO_ROOT, 'dist/cli/main.js');

/**
 * Runs the built `swas` CLI against a server. The test server runs in this process, so the CLI runs
 * without blocking the event loop (no spawnSync).
 */
export async function swasCli(
  args: string[],
  server: { url: string },
  token: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [BUILT_CLI, ...args], {
      env: { ...process.env, SWAS_URL: server.url, SWAS_TOKEN: token },
      timeout: 20_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}
