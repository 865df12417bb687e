import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { readFile, rename, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { errorMessage, SwasError } from '../core/index.js';

/** TLS settings for talking to the server (agent.yaml `tls:`). */
export interface AgentTls {
  /** PEM CA bundle contents, when the server's certificate is not from a public CA. */
  readonly ca?: string | undefined;
  readonly rejectUnauthorized: boolean;
}

/** What the agent keeps after enrolling; written to `<state_dir>/credential.json` with mode 0600. */
export interface StoredCredential {
  readonly agentId: string;
  readonly name: string;
  readonly credential: string;
  readonly server: string;
  readonly enrolledAt: string;
}

/** Enrollment failed for good (the server refused the token); retrying the same token cannot help. */
export class EnrollmentRefusedError extends SwasError {
  constructor(message: string) {
    super('SWAS-AGENT-010', message);
  }
}

/** Enrollment failed for now (server unreachable, 5xx); the agent retries with backoff. */
export class EnrollmentUnavailableError extends SwasError {
  constructor(message: string) {
    super('SWAS-AGENT-011', message);
  }
}

/** Where the credential lives in a state directory. */
export function credentialPath(stateDir: string): string {
  return join(stateDir, 'credential.json');
}

/** Reads the stored credential, or null when the agent has not enrolled yet. */
export async function readCredential(stateDir: string): Promise<StoredCredential | null> {
  const file = credentialPath(stateDir);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new SwasError('SWAS-AGENT-012', `cannot read the agent credential ${file}: ${errorMessage(error)}`);
  }
  const parsed = JSON.parse(text) as Partial<StoredCredential>;
  if (typeof parsed.credential !== 'string' || parsed.credential === '')
    throw new SwasError(
      'SWAS-AGENT-012',
      `${file} holds no credential; delete it and restart the agent with a new enrollment_token to enroll again`,
    );
  return parsed as StoredCredential;
}

/** Writes the credential atomically with mode 0600 (owner read/write only). */
export async function storeCredential(stateDir: string, stored: StoredCredential): Promise<void> {
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const file = credentialPath(stateDir);
  const temp = `${file}.tmp`;
  await writeFile(temp, `${JSON.stringify(stored, null, 2)}\n`, { mode: 0o600 });
  await rename(temp, file);
}

/** What enrollment sends. */
export interface EnrollRequest {
  readonly server: string;
  readonly token: string;
  readonly name: string;
  readonly hostname: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly tls: AgentTls;
}

/** POSTs to /api/v1/agents/enroll and returns the new credential; throws one of the Enrollment errors. */
export async function enroll(req: EnrollRequest): Promise<StoredCredential> {
  const url = new URL('api/v1/agents/enroll', withSlash(req.server));
  const body = JSON.stringify({
    token: req.token,
    name: req.name,
    hostname: req.hostname,
    labels: req.labels,
  });
  let response: { status: number; text: string };
  try {
    response = await postJson(url, body, req.tls);
  } catch (error) {
    throw new EnrollmentUnavailableError(`cannot reach ${url.href} to enroll: ${errorMessage(error)}`);
  }
  if (response.status >= 500 || response.status === 429)
    throw new EnrollmentUnavailableError(`enrollment at ${url.href} failed with HTTP ${response.status}`);
  if (response.status !== 201 && response.status !== 200)
    throw new EnrollmentRefusedError(
      `the server refused enrollment (HTTP ${response.status}: ${serverMessage(response.text)}); ` +
        'create a new token with `swas agent token create` and put it in agent.yaml enrollment_token',
    );
  const answer = safeJson(response.text) as {
    agent?: { id?: unknown; name?: unknown };
    credential?: unknown;
  };
  const id = answer?.agent?.id;
  if (typeof answer?.credential !== 'string' || (typeof id !== 'string' && typeof id !== 'number'))
    throw new EnrollmentUnavailableError(
      `enrollment at ${url.href} answered without an agent id and credential`,
    );
  return {
    agentId: String(id),
    name: typeof answer.agent?.name === 'string' ? answer.agent.name : req.name,
    credential: answer.credential,
    server: req.server,
    enrolledAt: new Date().toISOString(),
  };
}

/** The server base URL with a trailing slash, so relative API paths keep any path prefix. */
export function withSlash(server: string): string {
  return server.endsWith('/') ? server : `${server}/`;
}

function postJson(url: URL, body: string, tls: AgentTls): Promise<{ status: number; text: string }> {
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        timeout: 30_000,
        ...(url.protocol === 'https:' ? { ca: tls.ca, rejectUnauthorized: tls.rejectUnauthorized } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('no answer within 30 s')));
    req.on('error', reject);
    req.end(body);
  });
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

function serverMessage(text: string): string {
  const json = safeJson(text) as { error?: unknown; message?: unknown } | null;
  const message = json?.error ?? json?.message;
  if (typeof message === 'string') return message;
  if (typeof message === 'object' && message !== null && 'message' in message) return String(message.message);
  return text.slice(0, 200) || 'no reason given';
}
