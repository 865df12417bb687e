import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { KeyObject } from 'node:crypto';
import { readFile, rename, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { AgentConfig } from '../config/index.js';
import { errorMessage, SwasError } from '../core/index.js';
import { keyFingerprint, parseServerKey, type PinnedServerKey } from './actionSigning.js';
import type { AgentLogger } from './agentLogger.js';
import { Backoff, type BackoffOptions } from './backoff.js';
import { TlsTroubleLog } from './tlsTrouble.js';

/** TLS settings for talking to the server (agent.yaml `tls:`). */
export interface AgentTls {
  /** PEM CA bundle contents, when the server's certificate is not from a public CA. */
  readonly ca?: string | undefined;
  /** PEM client certificate and key, for a server that requires them (server.tls.client_ca_file). */
  readonly cert?: string | undefined;
  readonly key?: string | undefined;
  readonly rejectUnauthorized: boolean;
}

/** The TLS options of `tls` for https.request and ws: only those that are set. */
export function tlsOptionsOf(tls: AgentTls): {
  ca?: string;
  cert?: string;
  key?: string;
  rejectUnauthorized: boolean;
} {
  return {
    ...(tls.ca === undefined ? {} : { ca: tls.ca }),
    ...(tls.cert === undefined ? {} : { cert: tls.cert }),
    ...(tls.key === undefined ? {} : { key: tls.key }),
    rejectUnauthorized: tls.rejectUnauthorized,
  };
}

/** What the agent keeps after enrolling; written to `<state_dir>/credential.json` with mode 0600. */
export interface StoredCredential {
  readonly agentId: string;
  readonly name: string;
  readonly credential: string;
  readonly server: string;
  readonly enrolledAt: string;
  /**
   * The server's Ed25519 public key (PEM) from the enrollment answer: action requests must be signed with
   * its private key. Absent in credentials from before signed actions; such an agent runs no action.
   */
  readonly actionKey?: string;
}

/** Enrollment failed for good (the server refused the token); retrying the same token cannot help. */
export class EnrollmentRefusedError extends SwasError {
  constructor(message: string) {
    super('SWAS-AGENT-010', message);
  }
}

/** Enrollment failed for now (server unreachable, 5xx); the agent retries with backoff. */
export class EnrollmentUnavailableError extends SwasError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SWAS-AGENT-011', message, options);
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
  if (parsed.actionKey !== undefined) {
    try {
      parseServerKey(String(parsed.actionKey));
    } catch (error) {
      throw new SwasError(
        'SWAS-AGENT-012',
        `${file} holds an unusable actionKey (${errorMessage(error)}); delete it and restart the agent with a new enrollment_token to enroll again`,
      );
    }
  }
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
    throw new EnrollmentUnavailableError(`cannot reach ${url.href} to enroll: ${errorMessage(error)}`, {
      cause: error,
    });
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
    actionKey?: unknown;
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
    // The token is spent by now: keep the credential even without a usable key (the agent then refuses
    // actions and says why) rather than lose it.
    ...(usableKey(answer.actionKey) ? { actionKey: answer.actionKey } : {}),
  };
}

function usableKey(pem: unknown): pem is string {
  if (typeof pem !== 'string') return false;
  try {
    parseServerKey(pem);
    return true;
  } catch {
    return false;
  }
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
        ...(url.protocol === 'https:' ? tlsOptionsOf(tls) : {}),
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

/** What a {@link CredentialSource} needs of the agent's options. */
export interface CredentialSourceOptions {
  readonly config: AgentConfig;
  readonly logger: AgentLogger;
  readonly backoff?: BackoffOptions | undefined;
  readonly signal?: AbortSignal | undefined;
}

/**
 * The agent's credential: read from state_dir, enrolling when there is none; also the server key it pinned,
 * which follows the credential file (an operator who re-enrolls replaces both).
 */
export class CredentialSource {
  private latest: StoredCredential | null = null;
  private pinnedKey: { pem: string; key: KeyObject } | null = null;
  private readonly tlsTrouble: TlsTroubleLog;

  constructor(
    private readonly options: CredentialSourceOptions,
    private readonly hostname: string,
    private readonly tls: AgentTls,
  ) {
    this.tlsTrouble = new TlsTroubleLog(options.logger);
  }

  /** At start: enroll if needed, retrying an unreachable server; a refusal throws EnrollmentRefusedError. */
  async ensureEnrolled(): Promise<StoredCredential> {
    const backoff = new Backoff(this.options.backoff);
    for (;;) {
      try {
        return await this.readOrEnroll();
      } catch (error) {
        if (!(error instanceof EnrollmentUnavailableError)) throw error;
        this.tlsTrouble.note(error, 'cannot enroll', this.options.config.server);
        const step = backoff.next();
        this.options.logger.warn(
          { error: error.message, retryInMs: step.delayMs },
          'cannot enroll yet; retrying',
        );
        await sleep(step.delayMs, this.options.signal);
      }
    }
  }

  /** The credential for the next connect attempt (re-read: an operator may have replaced it). */
  async current(): Promise<string> {
    return (await this.readOrEnroll()).credential;
  }

  /** The server key and agent id of the credential read last, or null when it pins no key. */
  pinned(): PinnedServerKey | null {
    const pem = this.latest?.actionKey;
    if (this.latest === null || pem === undefined) return null;
    if (this.pinnedKey?.pem !== pem) this.pinnedKey = { pem, key: parseServerKey(pem) };
    return { agentId: this.latest.agentId, key: this.pinnedKey.key };
  }

  /** Logs which server key actions must be signed with, or that this agent runs none (no key pinned). */
  logPinnedKey(): void {
    const { config, logger } = this.options;
    const pinned = this.pinned();
    if (pinned !== null)
      logger.info(
        { agent: pinned.agentId, serverKey: keyFingerprint(pinned.key) },
        'action requests must be signed by the server key pinned at enrollment',
      );
    else if (Object.keys(config.actions).length > 0)
      logger.warn(
        { credential: credentialPath(config.state_dir) },
        'this agent enrolled before action requests were signed and pins no server key: it refuses every ' +
          'action until it is enrolled again (swas agent revoke NAME; new enrollment_token; delete credential.json; restart)',
      );
  }

  private async readOrEnroll(): Promise<StoredCredential> {
    this.latest = await this.readOrEnrollOnce();
    return this.latest;
  }

  private async readOrEnrollOnce(): Promise<StoredCredential> {
    const { config, logger } = this.options;
    const stored = await readCredential(config.state_dir);
    if (stored !== null) return stored;
    const token = await this.enrollmentToken();
    const fresh = await enroll({
      server: config.server,
      token,
      name: config.name,
      hostname: this.hostname,
      labels: config.labels,
      tls: this.tls,
    });
    await storeCredential(config.state_dir, fresh);
    logger.info({ agent: fresh.agentId, name: fresh.name }, 'enrolled with the swas server');
    return fresh;
  }

  private async enrollmentToken(): Promise<string> {
    const { config } = this.options;
    if (config.enrollment_token !== undefined) return config.enrollment_token;
    if (config.enrollment_token_file !== undefined) {
      try {
        const token = (await readFile(config.enrollment_token_file, 'utf8')).trim();
        if (token !== '') return token;
      } catch (error) {
        throw new EnrollmentRefusedError(
          `cannot read enrollment_token_file ${config.enrollment_token_file}: ${errorMessage(error)}`,
        );
      }
    }
    throw new EnrollmentRefusedError(
      `the agent has no credential in ${config.state_dir} and no enrollment token; create one with ` +
        '`swas agent token create` and set enrollment_token (or enrollment_token_file) in agent.yaml',
    );
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new SwasError('SWAS-AGENT-014', 'agent start was cancelled while waiting to enroll'));
      return;
    }
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(new SwasError('SWAS-AGENT-014', 'agent start was cancelled while waiting to enroll'));
      },
      { once: true },
    );
  });
}
