import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import { StoreInputError } from './errors.js';
import type { ApiTokensTable, StoreDatabase } from './schema.js';
import type { CreatedToken, TokenIdentity, TokenInfo, TokenRepository, TokenRole } from './types.js';

const TOKEN_PREFIX = 'swas_';
// 32 random bytes are 43 base64url characters (no padding).
const TOKEN_PATTERN = /^swas_[A-Za-z0-9_-]{43}$/;
const ROLES: readonly TokenRole[] = ['viewer', 'operator', 'admin'];

// Tokens carry 256 random bits, so a fast hash is enough: nobody can brute-force the preimage,
// and a slow password hash would cost every API request.
function hashToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

function toInfo(row: Omit<Selectable<ApiTokensTable>, 'token_hash'>): TokenInfo {
  return {
    id: row.id,
    name: row.name,
    role: row.role as TokenRole,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
    revokedAt: row.revoked_at,
  };
}

/** API tokens in the state database, stored as SHA-256 hex digests. */
export class KyselyTokenRepository implements TokenRepository {
  constructor(private readonly db: Kysely<StoreDatabase>) {}

  async create(input: { name: string; role: TokenRole }, nowMs: number): Promise<CreatedToken> {
    if (input.name.trim() === '') {
      throw new StoreInputError(
        'tokens.create: the token name is empty; give it a name that says who uses it',
      );
    }
    if (!ROLES.includes(input.role)) {
      throw new StoreInputError(
        `tokens.create: role ${JSON.stringify(input.role)} is unknown; use one of ${ROLES.join(', ')}`,
      );
    }
    const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
    const row = await this.db
      .insertInto('api_tokens')
      .values({
        name: input.name,
        role: input.role,
        token_hash: hashToken(token).toString('hex'),
        created_at: nowMs,
        last_used_at: null,
        revoked_at: null,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return { id: row.id, token };
  }

  async verify(token: string, nowMs: number): Promise<TokenIdentity | null> {
    if (!TOKEN_PATTERN.test(token)) return null;
    const digest = hashToken(token);
    // One statement finds the token, skips revoked ones and records the use, so a revoke that
    // commits first is always honoured.
    const row = await this.db
      .updateTable('api_tokens')
      .set({ last_used_at: nowMs })
      .where('token_hash', '=', digest.toString('hex'))
      .where('revoked_at', 'is', null)
      .returning(['id', 'name', 'role', 'token_hash'])
      .executeTakeFirst();
    if (row === undefined) return null;
    const stored = Buffer.from(row.token_hash, 'hex');
    if (stored.length !== digest.length || !timingSafeEqual(stored, digest)) return null;
    return { id: row.id, name: row.name, role: row.role as TokenRole };
  }

  async list(): Promise<TokenInfo[]> {
    const rows = await this.db
      .selectFrom('api_tokens')
      .select(['id', 'name', 'role', 'created_at', 'last_used_at', 'revoked_at'])
      .orderBy('id')
      .execute();
    return rows.map(toInfo);
  }

  async revoke(id: number, nowMs: number): Promise<boolean> {
    const result = await this.db
      .updateTable('api_tokens')
      .set({ revoked_at: nowMs })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }
}
