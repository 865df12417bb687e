import { createHash, randomBytes } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import type { Labels } from '../core/index.js';
import { StoreInputError } from './errors.js';
import { fromJson, toJson } from './json.js';
import type { AgentsTable, StoreDatabase } from './schema.js';
import { isUniqueViolation } from './sqlErrors.js';
import type {
  Agent,
  AgentRepository,
  AgentSeen,
  CreatedEnrollmentToken,
  EnrollInput,
  EnrollRefusal,
  EnrollResult,
} from './types.js';

/** What an agent name may look like: it becomes a label value and a URL path segment. */
export const AGENT_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

const ENROLL_PREFIX = 'swas_enroll_';
const CREDENTIAL_PREFIX = 'swas_agent_';
// 32 random bytes are 43 base64url characters (no padding).
const ENROLL_PATTERN = /^swas_enroll_[A-Za-z0-9_-]{43}$/;
const CREDENTIAL_PATTERN = /^swas_agent_[A-Za-z0-9_-]{43}$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const ACTIVE_NAME_INDEX = 'agents_active_name';

// Secrets carry 256 random bits, so a fast hash is enough (as for API tokens).
function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

function newSecret(prefix: string): string {
  return prefix + randomBytes(32).toString('base64url');
}

function checkLabels(labels: unknown, where: string): Labels {
  if (labels === undefined) return {};
  if (typeof labels !== 'object' || labels === null || Array.isArray(labels)) {
    throw new StoreInputError(`${where} is not an object; give labels as {"name": "value"}`);
  }
  for (const [name, value] of Object.entries(labels)) {
    if (!LABEL_NAME.test(name)) {
      throw new StoreInputError(
        `${where}: ${JSON.stringify(name)} is not a label name; use letters, digits and _`,
      );
    }
    if (typeof value !== 'string') {
      throw new StoreInputError(
        `${where}.${name} is ${typeof value}, not a string; give label values as strings`,
      );
    }
  }
  return labels as Labels;
}

function checkText(value: unknown, where: string, advice: string): string {
  if (typeof value !== 'string' || value.trim() === '')
    throw new StoreInputError(`${where} is empty; ${advice}`);
  return value;
}

function toAgent(r: Omit<Selectable<AgentsTable>, 'credential_hash'>): Agent {
  return {
    id: r.id,
    name: r.name,
    hostname: r.hostname,
    labels: fromJson<Labels>(r.labels),
    createdAt: r.created_at,
    lastSeenAt: r.last_seen_at,
    revokedAt: r.revoked_at,
    revokedBy: r.revoked_by,
    version: r.version,
    configVersion: r.config_version,
  };
}

const AGENT_COLUMNS = [
  'id',
  'name',
  'hostname',
  'labels',
  'created_at',
  'last_seen_at',
  'revoked_at',
  'revoked_by',
  'version',
  'config_version',
] as const;

/** Thrown inside the enroll transaction to roll it back and report a refusal. */
class EnrollRefused extends Error {
  constructor(
    readonly reason: EnrollRefusal,
    message: string,
  ) {
    super(message);
  }
}

/** Agents and enrollment tokens in the state database; secrets are stored as SHA-256 hex digests. */
export class KyselyAgentRepository implements AgentRepository {
  constructor(private readonly db: Kysely<StoreDatabase>) {}

  async createEnrollmentToken(
    input: { createdBy: string; ttlMs: number; labels?: Labels },
    nowMs: number,
  ): Promise<CreatedEnrollmentToken> {
    checkText(input.createdBy, 'agents.createEnrollmentToken: createdBy', 'say who created the token');
    if (!Number.isSafeInteger(input.ttlMs) || input.ttlMs <= 0) {
      throw new StoreInputError(
        `agents.createEnrollmentToken: ttlMs ${String(input.ttlMs)} is not a positive whole number of milliseconds`,
      );
    }
    const labels = checkLabels(input.labels, 'agents.createEnrollmentToken: labels');
    const token = newSecret(ENROLL_PREFIX);
    const expiresAt = nowMs + input.ttlMs;
    const row = await this.db
      .insertInto('agent_enrollment_tokens')
      .values({
        token_hash: hashSecret(token),
        created_by: input.createdBy,
        created_at: nowMs,
        expires_at: expiresAt,
        used_at: null,
        used_by_agent: null,
        labels: toJson(labels),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return { id: row.id, token, expiresAt };
  }

  async enroll(input: EnrollInput, nowMs: number): Promise<EnrollResult> {
    const name = checkText(input.name, 'agents.enroll: name', 'give the agent a name, e.g. its hostname');
    if (!AGENT_NAME_PATTERN.test(name)) {
      throw new StoreInputError(
        `agents.enroll: name ${JSON.stringify(name)} is not allowed; use 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit`,
      );
    }
    checkText(input.hostname, 'agents.enroll: hostname', 'give the host name the agent runs on');
    const asked = checkLabels(input.labels, 'agents.enroll: labels');
    if (typeof input.token !== 'string' || !ENROLL_PATTERN.test(input.token)) {
      return refusal('unknown_token', 'the enrollment token is malformed; it starts with swas_enroll_');
    }
    const credential = newSecret(CREDENTIAL_PREFIX);
    try {
      const agent = await this.db.transaction().execute(async (tx) => {
        // One conditional update spends the token: of two concurrent enrolls only one sees a row.
        const spent = await tx
          .updateTable('agent_enrollment_tokens')
          .set({ used_at: nowMs })
          .where('token_hash', '=', hashSecret(input.token))
          .where('used_at', 'is', null)
          .where('expires_at', '>', nowMs)
          .returning(['id', 'labels'])
          .executeTakeFirst();
        if (spent === undefined) throw await this.whyNotUsable(tx, input.token);
        const labels = { ...asked, ...fromJson<Labels>(spent.labels) };
        const row = await insertAgent(tx, { name, hostname: input.hostname, labels, credential }, nowMs);
        await tx
          .updateTable('agent_enrollment_tokens')
          .set({ used_by_agent: row.id })
          .where('id', '=', spent.id)
          .execute();
        return row;
      });
      return { ok: true, agent, credential };
    } catch (error) {
      if (error instanceof EnrollRefused) return refusal(error.reason, error.message);
      throw error;
    }
  }

  /** Says why a token could not be spent: unknown, expired or already used. */
  private async whyNotUsable(db: Kysely<StoreDatabase>, token: string): Promise<EnrollRefused> {
    const row = await db
      .selectFrom('agent_enrollment_tokens')
      .select(['used_at', 'expires_at'])
      .where('token_hash', '=', hashSecret(token))
      .executeTakeFirst();
    if (row === undefined) return new EnrollRefused('unknown_token', 'the enrollment token is unknown');
    if (row.used_at !== null) {
      return new EnrollRefused(
        'used_token',
        'the enrollment token was already used; tokens are single-use, create a new one with `swas agent token create`',
      );
    }
    return new EnrollRefused(
      'expired_token',
      `the enrollment token expired at ${new Date(row.expires_at).toISOString()}; create a new one with \`swas agent token create\``,
    );
  }

  async verifyCredential(credential: string, nowMs: number): Promise<Agent | null> {
    if (typeof credential !== 'string' || !CREDENTIAL_PATTERN.test(credential)) return null;
    // One statement finds the agent, skips revoked ones and records the contact, so a revoke that
    // commits first is always honoured.
    const row = await this.db
      .updateTable('agents')
      .set({ last_seen_at: nowMs })
      .where('credential_hash', '=', hashSecret(credential))
      .where('revoked_at', 'is', null)
      .returning(AGENT_COLUMNS)
      .executeTakeFirst();
    return row === undefined ? null : toAgent(row);
  }

  async list(): Promise<Agent[]> {
    const rows = await this.db.selectFrom('agents').select(AGENT_COLUMNS).orderBy('id').execute();
    return rows.map(toAgent);
  }

  async revoke(idOrName: number | string, by: string, nowMs: number): Promise<Agent | null> {
    checkText(by, 'agents.revoke: by', 'say who revokes the agent');
    let query = this.db
      .updateTable('agents')
      .set({ revoked_at: nowMs, revoked_by: by })
      .where('revoked_at', 'is', null);
    if (typeof idOrName === 'number') query = query.where('id', '=', idOrName);
    else query = query.where('name', '=', checkText(idOrName, 'agents.revoke: name', 'give the agent name'));
    const row = await query.returning(AGENT_COLUMNS).executeTakeFirst();
    return row === undefined ? null : toAgent(row);
  }

  async touch(id: number, seen: AgentSeen): Promise<void> {
    await this.db
      .updateTable('agents')
      .set({
        last_seen_at: seen.lastSeenAt,
        ...(seen.version === undefined ? {} : { version: seen.version }),
        ...(seen.configVersion === undefined ? {} : { config_version: seen.configVersion }),
        ...(seen.hostname === undefined ? {} : { hostname: seen.hostname }),
      })
      .where('id', '=', id)
      .execute();
  }
}

function refusal(reason: EnrollRefusal, message: string): EnrollResult {
  return { ok: false, reason, message };
}

async function insertAgent(
  db: Kysely<StoreDatabase>,
  a: { name: string; hostname: string; labels: Labels; credential: string },
  nowMs: number,
): Promise<Agent> {
  try {
    const row = await db
      .insertInto('agents')
      .values({
        name: a.name,
        hostname: a.hostname,
        labels: toJson(a.labels),
        credential_hash: hashSecret(a.credential),
        created_at: nowMs,
        last_seen_at: null,
        revoked_at: null,
        revoked_by: null,
        version: null,
        config_version: null,
      })
      .returning(AGENT_COLUMNS)
      .executeTakeFirstOrThrow();
    return toAgent(row);
  } catch (error) {
    if (isUniqueViolation(error, ACTIVE_NAME_INDEX, 'agents.name')) {
      throw new EnrollRefused(
        'name_taken',
        `an agent named ${JSON.stringify(a.name)} is already enrolled; pick another name, or revoke the old one first (\`swas agent revoke ${a.name}\`)`,
      );
    }
    throw error;
  }
}
