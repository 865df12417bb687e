import { CliError, EXIT } from './common.js';

/** Options every API-backed command takes. */
export interface ApiOptions {
  server?: string;
  token?: string;
  json?: boolean;
}

/**
 * Calls the swas API with the token from --token or SWAS_TOKEN; errors carry the server's message. A 400
 * means the flags were wrong, so it exits 2 like any other usage error.
 */
export async function callApi<T>(
  options: ApiOptions,
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
  body?: unknown,
): Promise<T> {
  const base = (options.server ?? process.env.SWAS_URL ?? 'http://127.0.0.1:7927').replace(/\/$/, '');
  const token = options.token ?? process.env.SWAS_TOKEN;
  if (token === undefined || token === '')
    throw new CliError(
      'this command needs an API token: pass --token or set SWAS_TOKEN (create one with `swas token create`)',
      EXIT.usage,
    );
  let response: Response;
  try {
    response = await fetch(`${base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(15_000),
    });
  } catch (error) {
    const cause =
      error instanceof Error && error.cause instanceof Error ? error.cause.message : String(error);
    throw new CliError(
      `cannot reach swas at ${base}: ${cause}; is \`swas up\` running there? (--server URL or SWAS_URL)`,
    );
  }
  const answer = (await response.json().catch(() => null)) as {
    error?: { code?: string; message?: string };
  } | null;
  if (!response.ok)
    throw new CliError(
      `${method} ${path}: HTTP ${response.status}: ${answer?.error?.message ?? response.statusText}`,
      response.status === 400 ? EXIT.usage : EXIT.failure,
    );
  return answer as T;
}

/** Adds --server, --token and --json to a command. */
export function withApiOptions<C extends { option(flags: string, description: string): C }>(command: C): C {
  return command
    .option('--server <url>', 'swas server URL (default SWAS_URL or http://127.0.0.1:7927)')
    .option('--token <token>', 'API token (default SWAS_TOKEN)')
    .option('--json', 'JSON output');
}
