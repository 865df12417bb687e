import type { Kysely, Selectable } from 'kysely';
import type { Labels } from '../core/index.js';
import { fromJson, toJson } from './json.js';
import { asList, checkLimit } from './queryOptions.js';
import type { AlertsTable, StoreDatabase } from './schema.js';
import type { AlertRepository, AlertRow, AlertState } from './types.js';

function toRow(r: Selectable<AlertsTable>): AlertRow {
  return {
    fingerprint: r.fingerprint,
    rule: r.rule,
    labels: fromJson<Labels>(r.labels),
    annotations: fromJson<Record<string, string>>(r.annotations),
    state: r.state as AlertState,
    activeAt: r.active_at,
    firedAt: r.fired_at,
    resolvedAt: r.resolved_at,
    lastValue: r.last_value,
    updatedAt: r.updated_at,
  };
}

/** Persisted alert state in the state database. */
export class KyselyAlertRepository implements AlertRepository {
  constructor(private readonly db: Kysely<StoreDatabase>) {}

  async upsert(row: AlertRow): Promise<void> {
    const values = {
      rule: row.rule,
      labels: toJson(row.labels),
      annotations: toJson(row.annotations),
      state: row.state,
      active_at: row.activeAt,
      fired_at: row.firedAt,
      resolved_at: row.resolvedAt,
      // SQLite silently turns NaN into NULL; do the same on PostgreSQL so both read back alike.
      last_value: row.lastValue === null || Number.isNaN(row.lastValue) ? null : row.lastValue,
      updated_at: row.updatedAt,
    };
    await this.db
      .insertInto('alerts')
      .values({ fingerprint: row.fingerprint, ...values })
      .onConflict((oc) => oc.column('fingerprint').doUpdateSet(values))
      .execute();
  }

  async get(fingerprint: string): Promise<AlertRow | null> {
    const r = await this.db
      .selectFrom('alerts')
      .selectAll()
      .where('fingerprint', '=', fingerprint)
      .executeTakeFirst();
    return r === undefined ? null : toRow(r);
  }

  async listActive(): Promise<AlertRow[]> {
    const rows = await this.db
      .selectFrom('alerts')
      .selectAll()
      .where('state', 'in', ['pending', 'firing'])
      .orderBy('active_at')
      .orderBy('fingerprint')
      .execute();
    return rows.map(toRow);
  }

  async list(
    options: { state?: AlertState | readonly AlertState[]; limit?: number } = {},
  ): Promise<AlertRow[]> {
    const limit = checkLimit(options.limit, 1000, 'alerts.list');
    const states = asList(options.state);
    let query = this.db.selectFrom('alerts').selectAll();
    if (states !== undefined) {
      if (states.length === 0) return [];
      query = query.where('state', 'in', states);
    }
    const rows = await query.orderBy('updated_at', 'desc').orderBy('fingerprint').limit(limit).execute();
    return rows.map(toRow);
  }

  async deleteResolvedBefore(t: number): Promise<number> {
    const result = await this.db
      .deleteFrom('alerts')
      .where('state', '=', 'resolved')
      .where('resolved_at', '<', t)
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
