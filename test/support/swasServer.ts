import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/index.js';
import { checkExpression, SwasServer } from '../../src/server/index.js';
import { freePort } from './ports.js';

/** A swas server running in this process on a free port, with its data in `dir`. */
export interface TestServer {
  readonly server: SwasServer;
  readonly url: string;
  /** Creates a token with the role and returns its secret. */
  token(role: 'viewer' | 'operator' | 'admin'): Promise<string>;
  get(path: string, token: string | null): Promise<{ status: number; body: unknown }>;
  post(path: string, token: string | null): Promise<{ status: number; body: unknown }>;
  /** Any method, with an optional JSON body; the reply body parsed as JSON when it is JSON. */
  request(
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    token: string | null,
    body?: unknown,
  ): Promise<{ status: number; body: unknown }>;
  stop(): Promise<void>;
}

/** Writes `swas.yaml` (with `listen` filled in) and the given extra files to `dir`, then starts swas. */
export async function startTestServer(
  dir: string,
  configBody: string,
  files: Record<string, string> = {},
  env: NodeJS.ProcessEnv = {},
  options: { port?: number } = {},
): Promise<TestServer> {
  const port = options.port ?? (await freePort());
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  const file = join(dir, 'swas.yaml');
  await writeFile(file, `server:\n  listen: 127.0.0.1:${port}\n  shutdown_timeout: 5s\n${configBody}`);
  const loaded = await loadConfig(file, { env, checkExpression });
  const server = await SwasServer.start({
    loaded,
    dataDir: join(dir, 'data'),
    logger: pino({ level: process.env.SWAS_TEST_LOG ?? 'silent' }),
  });
  const url = `http://127.0.0.1:${port}`;
  const call = async (method: string, path: string, token: string | null, json?: unknown) => {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(json === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: json === undefined ? undefined : JSON.stringify(json),
    });
    const text = await response.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
    return { status: response.status, body };
  };
  return {
    server,
    url,
    token: async (role) =>
      (await server.parts.store.tokens.create({ name: `test-${role}`, role }, Date.now())).token,
    get: (path, token) => call('GET', path, token),
    post: (path, token) => call('POST', path, token),
    request: (method, path, token, json) => call(method, path, token, json),
    stop: () => server.stop(),
  };
}

/** Polls `probe` every 100 ms until it returns a truthy value, or throws after `timeoutMs` saying what it waited for. */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | null | undefined | false> | T | null | undefined | false,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = null;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${last instanceof Error ? ` (last error: ${last.message})` : ''}`,
  );
}
