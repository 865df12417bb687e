import { readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { CliError, EXIT } from './common.js';

/** Options every API-backed command takes. */
export interface ApiOptions {
  server?: string;
  token?: string;
  json?: boolean;
  /** PEM CA bundle the server's certificate is checked against (--ca-file, SWAS_CA_FILE). */
  caFile?: string;
  /** Client certificate and key for a server with server.tls.client_ca_file (SWAS_CERT_FILE, SWAS_KEY_FILE). */
  certFile?: string;
  keyFile?: string;
}

const TIMEOUT_MS = 15_000;

// OpenSSL verification failures: the server answered, but with a certificate this client does not trust.
const CERT_ERRORS = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * Calls the swas API with the token from --token or SWAS_TOKEN; errors carry the server's message. A 400
 * means the flags were wrong, so it exits 2 like any other usage error. An https:// server is checked
 * against --ca-file (or SWAS_CA_FILE) when given, else against the system's CAs.
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
  let url: URL;
  try {
    url = new URL(`${base}${path}`);
  } catch {
    throw new CliError(
      `--server ${base} is not a URL; write it like https://swas.example.com:7927`,
      EXIT.usage,
    );
  }
  const caFile = options.caFile ?? (process.env.SWAS_CA_FILE || undefined);
  const certFile = options.certFile ?? (process.env.SWAS_CERT_FILE || undefined);
  const keyFile = options.keyFile ?? (process.env.SWAS_KEY_FILE || undefined);
  if ((certFile === undefined) !== (keyFile === undefined))
    throw new CliError(
      'a client certificate needs both --cert-file and --key-file (or SWAS_CERT_FILE and SWAS_KEY_FILE)',
      EXIT.usage,
    );
  const tls =
    url.protocol !== 'https:'
      ? {}
      : {
          ...(caFile === undefined ? {} : { ca: readPemFile(caFile, '--ca-file or SWAS_CA_FILE') }),
          ...(certFile === undefined ? {} : { cert: readPemFile(certFile, '--cert-file or SWAS_CERT_FILE') }),
          ...(keyFile === undefined ? {} : { key: readPemFile(keyFile, '--key-file or SWAS_KEY_FILE') }),
        };
  let response: { status: number; statusText: string; text: string };
  try {
    response = await send(url, method, {
      authorization: `Bearer ${token}`,
      body: body === undefined ? undefined : JSON.stringify(body),
      tls,
    });
  } catch (error) {
    throw new CliError(unreachable(base, url, error, caFile));
  }
  const answer = parseJson(response.text) as { error?: { code?: string; message?: string } } | null;
  if (response.status < 200 || response.status > 299)
    throw new CliError(
      `${method} ${path}: HTTP ${response.status}: ${answer?.error?.message ?? response.statusText}`,
      response.status === 400 ? EXIT.usage : EXIT.failure,
    );
  return answer as T;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

function readPemFile(file: string, from: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new CliError(`cannot read ${file} (${from}): ${(error as Error).message}`, EXIT.usage);
  }
}

function send(
  url: URL,
  method: string,
  options: {
    authorization: string;
    body: string | undefined;
    tls: { ca?: string; cert?: string; key?: string };
  },
): Promise<{ status: number; statusText: string; text: string }> {
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        headers: {
          authorization: options.authorization,
          ...(options.body === undefined
            ? {}
            : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(options.body) }),
        },
        timeout: TIMEOUT_MS,
        ...options.tls,
      },
      (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            statusText: res.statusMessage ?? '',
            text: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${TIMEOUT_MS / 1000} s`)));
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Says why the server could not be reached, and what to do, for the usual TLS mistakes in particular. */
function unreachable(base: string, url: URL, error: unknown, caFile: string | undefined): string {
  const code = (error as NodeJS.ErrnoException).code ?? '';
  const message = error instanceof Error ? error.message : String(error);
  if (CERT_ERRORS.has(code))
    return (
      `cannot verify the TLS certificate of swas at ${base}: ${message} (${code}); ` +
      (caFile === undefined
        ? 'pass --ca-file (or set SWAS_CA_FILE) with the CA that signed the server certificate'
        : `check that ${caFile} holds the CA that signed the server certificate and that the certificate names ${url.hostname}`)
    );
  if (url.protocol === 'https:' && /wrong version number|packet length too long/i.test(message))
    return `cannot reach swas at ${base}: ${message}; the server speaks plain HTTP there, use an http:// URL`;
  if (url.protocol === 'http:' && (code === 'ECONNRESET' || /socket hang up/i.test(message)))
    return (
      `cannot reach swas at ${base}: ${message}; if the server has server.tls set it speaks HTTPS only: ` +
      'use an https:// URL (--server or SWAS_URL)'
    );
  if (/certificate required|alert number 116|handshake failure/i.test(message))
    return (
      `cannot reach swas at ${base}: ${message}; the server may require a client certificate ` +
      '(server.tls.client_ca_file): pass --cert-file and --key-file (or SWAS_CERT_FILE and SWAS_KEY_FILE)'
    );
  return `cannot reach swas at ${base}: ${message}; is \`swas up\` running there? (--server URL or SWAS_URL)`;
}

/** Adds --server, --token, the TLS files and --json to a command. */
export function withApiOptions<C extends { option(flags: string, description: string): C }>(command: C): C {
  return command
    .option('--server <url>', 'swas server URL (default SWAS_URL or http://127.0.0.1:7927)')
    .option('--token <token>', 'API token (default SWAS_TOKEN)')
    .option('--ca-file <file>', 'PEM CA bundle to check an https:// server against (default SWAS_CA_FILE)')
    .option(
      '--cert-file <file>',
      'PEM client certificate, when the server requires one (default SWAS_CERT_FILE)',
    )
    .option('--key-file <file>', 'PEM key of --cert-file (default SWAS_KEY_FILE)')
    .option('--json', 'JSON output');
}
