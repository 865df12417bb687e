import type { Kysely, Selectable } from 'kysely';
import { StoreInputError } from './errors.js';
import { fromJson, toJson } from './json.js';
import { checkLimit } from './queryOptions.js';
import type { QuarantinesTable, StoreDatabase } from './schema.js';
import { isUniqueViolation } from './sqlErrors.js';
import type { NewQuarantine, Quarantine, QuarantineRepository } from './types.js';

const ACTIVE_TARGET_INDEX = 'quarantines_active_target';
/** How often create() retries when the active quarantine it collided with was released meanwhile. */
const CREATE_ATTEMPTS = 3;

function checkTime(t: unknown, where: string): number {
  if (typeof t !== 'number' || !Number.isSafeInteger(t) || t < 0) {
    throw new StoreInputError(
      `${where} ${String(t)} is not a time; give epoch milliseconds as a whole number`,
    );
  }
  return t;
}

function checkText(value: unknown, where: string, advice: string): void {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new StoreInputError(`${where} is empty; ${advice}`);
  }
}

function checkTarget(target: unknown): void {
  const where = 'quarantines.create: target';
  if (typeof target !== 'object' || target === null || Array.isArray(target)) {
    throw new StoreInputError(
      `${where} is not an object; give the target's labels, e.g. {"member": "web-2"}`,
    );
  }
  for (const [name, value] of Object.entries(target)) {
    if (typeof value !== 'string') {
      throw new StoreInputError(
        `${where}.${name} is ${typeof value}, not a string; give label values as strings`,
      );
    }
  }
}

function checkRunIds(runIds: unknown): void {
  const where = 'quarantines.create: runIds';
  if (!Array.isArray(runIds)) {
    throw new StoreInputError(`${where} is not a list; give the ids of the runs that spent the budget`);
  }
  for (const [i, id] of runIds.entries()) {
    if (typeof id !== 'string' || id === '') {
      throw new StoreInputError(
        `${where}[${i}] ${JSON.stringify(id)} is not a run id; give run ids as strings`,
      );
    }
  }
}

/** Throws StoreInputError naming the first bad field of a new quarantine. */
function checkNewQuarantine(q: NewQuarantine): void {
  checkText(q.targetKey, 'quarantines.create: targetKey', 'give the stable key of the target');
  checkTarget(q.target);
  checkText(q.runbook, 'quarantines.create: runbook', 'give the name of the runbook that flapped');
  checkText(q.reason, 'quarantines.create: reason', 'say why the target is quarantined');
  checkRunIds(q.runIds);
  checkTime(q.createdAt, 'quarantines.create: createdAt');
}

function toQuarantine(r: Selectable<QuarantinesTable>): Quarantine {
  return {
    id: r.id,
    targetKey: r.target_key,
    target: fromJson<Record<string, string>>(r.target),
    runbook: r.runbook,
    reason: r.reason,
    runIds: fromJson<string[]>(r.run_ids),
    createdAt: r.created_at,
    releasedAt: r.released_at,
    releasedBy: r.released_by,
  };
}

/** Quarantined targets in the state database; a partial unique index keeps one active per target. */
export class KyselyQuarantineRepository implements QuarantineRepository {
  constructor(private readonly db: Kysely<StoreDatabase>) {}

  async create(quarantine: NewQuarantine): Promise<{ quarantine: Quarantine; created: boolean }> {
    checkNewQuarantine(quarantine);
    for (let attempt = 0; attempt < CREATE_ATTEMPTS; attempt++) {
      const inserted = await this.insert(quarantine);
      if (inserted !== null) return { quarantine: inserted, created: true };
      const existing = await this.active(quarantine.targetKey);
      if (existing !== null) return { quarantine: existing, created: false };
      // The quarantine we collided with was released in between: try to create ours again.
    }
    throw new Error(
      `quarantines.create: target ${JSON.stringify(quarantine.targetKey)} was quarantined and released ` +
        `${CREATE_ATTEMPTS} times while this call ran; something releases quarantines in a loop, find and stop it`,
    );
  }

  /** Inserts a quarantine; null when the target already has an active one. */
  private async insert(q: NewQuarantine): Promise<Quarantine | null> {
    try {
      const row = await this.db
        .insertInto('quarantines')
        .values({
          target_key: q.targetKey,
          target: toJson(q.target),
          runbook: q.runbook,
          reason: q.reason,
          run_ids: toJson(q.runIds),
          created_at: q.createdAt,
          released_at: null,
          released_by: null,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toQuarantine(row);
    } catch (error) {
      if (isUniqueViolation(error, ACTIVE_TARGET_INDEX, 'quarantines.target_key')) return null;
      throw error;
    }
  }

  async active(targetKey: string): Promise<Quarantine | null> {
    checkText(targetKey, 'quarantines.active: targetKey', 'give the stable key of the target');
    const r = await this.db
      .selectFrom('quarantines')
      .selectAll()
      .where('target_key', '=', targetKey)
      .where('released_at', 'is', null)
      .executeTakeFirst();
    return r === undefined ? null : toQuarantine(r);
  }

  async list(options: { active?: boolean; limit?: number } = {}): Promise<Quarantine[]> {
    const limit = checkLimit(options.limit, 100, 'quarantines.list');
    let query = this.db.selectFrom('quarantines').selectAll();
    if (options.active === true) query = query.where('released_at', 'is', null);
    const rows = await query.orderBy('id', 'desc').limit(limit).execute();
    return rows.map(toQuarantine);
  }

  async release(id: number, by: string, at: number): Promise<Quarantine | null> {
    if (!Number.isSafeInteger(id)) {
      throw new StoreInputError(
        `quarantines.release: id ${String(id)} is not a quarantine id; give a whole number`,
      );
    }
    checkText(by, 'quarantines.release: by', 'say who releases the quarantine');
    checkTime(at, 'quarantines.release: at');
    // Only an active row is updated, so of two concurrent releases the first one's time and name stay.
    const r = await this.db
      .updateTable('quarantines')
      .set({ released_at: at, released_by: by })
      .where('id', '=', id)
      .where('released_at', 'is', null)
      .returningAll()
      .executeTakeFirst();
    if (r !== undefined) return toQuarantine(r);
    const current = await this.db
      .selectFrom('quarantines')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    return current === undefined ? null : toQuarantine(current);
  }
}
