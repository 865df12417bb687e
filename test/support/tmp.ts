import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Makes a fresh temporary directory; the returned function removes it. */
export async function makeTempDir(prefix: string): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `swas-${prefix}-`));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}
