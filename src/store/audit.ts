import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import type { Kysely, Selectable } from 'kysely';
import { canonicalJson, fromJson } from './json.js';
import { checkLimit } from './queryOptions.js';
import type { AuditLogTable, StoreDatabase } from './schema.js';
import type { AuditEntry, AuditRepository, AuditVerification, NewAuditEntry, StoreDialect } from './types.js';

/** The prevHash of the first entry: there is nothing before it to chain to. */
export const AUDIT_GENESIS_HASH = '0'.repeat(64);

const VERIFY_BATCH = 1000;

/** The hash of an entry: sha256(prevHash + canonical JSON of every other field, seq included). */
export function auditEntryHash(prevHash: string, entry: NewAuditEntry & { seq: number }): string {
  const body = canonicalJson({
    seq: entry.seq,
    at: entry.at,
    actor: entry.actor,
    action: entry.action,
    target: entry.target,
    reason: entry.reason,
    before: entry.before,
    after: entry.after,
    result: entry.result,
  });
  return createHash('sha256')
    .update(prevHash + body, 'utf8')
    .digest('hex');
}

function toEntry(r: Selectable<AuditLogTable>): AuditEntry {
  return {
    seq: r.seq,
    at: r.at,
    actor: r.actor,
    action: r.action,
    target: r.target,
    reason: r.reason,
    before: fromJson<unknown>(r.before),
    after: fromJson<unknown>(r.after),
    result: r.result,
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}

/** Finds the first break in a run of consecutive entries, given what the previous entry was. */
function checkEntry(
  row: Selectable<AuditLogTable>,
  expectedSeq: number,
  prevHash: string,
): { seq: number; reason: string } | null {
  if (row.seq !== expectedSeq) {
    const gap =
      row.seq - 1 === expectedSeq
        ? `entry ${expectedSeq} is`
        : `entries ${expectedSeq} to ${row.seq - 1} are`;
    const reason =
      expectedSeq === 1
        ? `${gap} missing: the log starts at entry ${row.seq}`
        : `${gap} missing: the log jumps from entry ${expectedSeq - 1} to entry ${row.seq}`;
    return { seq: expectedSeq, reason };
  }
  if (row.prev_hash !== prevHash) {
    const previous = row.seq === 1 ? 'the start of the log' : `entry ${row.seq - 1}`;
    return {
      seq: row.seq,
      reason: `entry ${row.seq} does not chain to ${previous}: its prevHash does not match`,
    };
  }
  const entry = toEntry(row);
  if (auditEntryHash(row.prev_hash, entry) !== row.hash) {
    return { seq: row.seq, reason: `entry ${row.seq} was modified: its contents do not match its hash` };
  }
  return null;
}

/** The hash-chained audit log in the state database. */
export class KyselyAuditRepository implements AuditRepository {
  constructor(
    private readonly db: Kysely<StoreDatabase>,
    private readonly dialect: StoreDialect,
  ) {}

  async append(entry: NewAuditEntry): Promise<AuditEntry> {
    // Store before/after as canonical JSON, so what verify() reads back hashes to the same text.
    const before = canonicalJson(entry.before);
    const after = canonicalJson(entry.after);
    const normalised = { ...entry, before: fromJson<unknown>(before), after: fromJson<unknown>(after) };
    return this.db.transaction().execute(async (trx) => {
      // Appends read the last hash and then write the next entry; they must not interleave.
      // SQLite: the transaction began with BEGIN IMMEDIATE and holds the only write lock.
      // PostgreSQL: EXCLUSIVE mode lets readers through but queues every other writer.
      if (this.dialect === 'postgres') await sql`lock table audit_log in exclusive mode`.execute(trx);
      const last = await trx
        .selectFrom('audit_log')
        .select(['seq', 'hash'])
        .orderBy('seq', 'desc')
        .limit(1)
        .executeTakeFirst();
      const seq = (last?.seq ?? 0) + 1;
      const prevHash = last?.hash ?? AUDIT_GENESIS_HASH;
      const hash = auditEntryHash(prevHash, { ...normalised, seq });
      await trx
        .insertInto('audit_log')
        .values({
          seq,
          at: entry.at,
          actor: entry.actor,
          action: entry.action,
          target: entry.target,
          reason: entry.reason,
          before,
          after,
          result: entry.result,
          prev_hash: prevHash,
          hash,
        })
        .execute();
      return { ...normalised, seq, prevHash, hash };
    });
  }

  async list(options: { afterSeq?: number; limit?: number } = {}): Promise<AuditEntry[]> {
    const limit = checkLimit(options.limit, 1000, 'audit.list');
    const rows = await this.db
      .selectFrom('audit_log')
      .selectAll()
      .where('seq', '>', options.afterSeq ?? 0)
      .orderBy('seq')
      .limit(limit)
      .execute();
    return rows.map(toEntry);
  }

  async verify(): Promise<AuditVerification> {
    let expectedSeq = 1;
    let prevHash = AUDIT_GENESIS_HASH;
    for (;;) {
      const rows = await this.db
        .selectFrom('audit_log')
        .selectAll()
        .where('seq', '>=', expectedSeq)
        .orderBy('seq')
        .limit(VERIFY_BATCH)
        .execute();
      for (const row of rows) {
        const broken = checkEntry(row, expectedSeq, prevHash);
        if (broken !== null) return { ok: false, ...broken };
        prevHash = row.hash;
        expectedSeq += 1;
      }
      if (rows.length < VERIFY_BATCH) return { ok: true, count: expectedSeq - 1 };
    }
  }
}
