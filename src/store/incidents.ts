import type { Kysely, Selectable, Updateable } from 'kysely';
import { errorMessage } from '../core/index.js';
import type { AlertMatcher, Labels } from '../core/index.js';
import { compileMatcher, matchesAll } from '../tsdb/index.js';
import type { CompiledMatcher } from '../tsdb/index.js';
import { IncidentKeyConflictError, StoreInputError } from './errors.js';
import { fromJson, toJson } from './json.js';
import { asList, checkLimit } from './queryOptions.js';
import type { IncidentsTable, StoreDatabase } from './schema.js';
import { isUniqueViolation } from './sqlErrors.js';
import type {
  Incident,
  IncidentListOptions,
  IncidentPatch,
  IncidentRepository,
  IncidentStatus,
  NewIncident,
} from './types.js';

const UNRESOLVED_KEY_INDEX = 'incidents_unresolved_key';

function checkTime(t: number, name: string): number {
  if (!Number.isSafeInteger(t)) {
    throw new StoreInputError(`incidents.list: ${name} ${String(t)} is not a time; give epoch milliseconds`);
  }
  return t;
}

function compileMatchers(matchers: readonly AlertMatcher[] | undefined): CompiledMatcher[] {
  try {
    return (matchers ?? []).map((m) => compileMatcher(m));
  } catch (error) {
    throw new StoreInputError(`incidents.list: ${errorMessage(error)}`);
  }
}

function toIncident(r: Selectable<IncidentsTable>): Incident {
  return {
    id: r.id,
    key: r.key,
    title: r.title,
    severity: r.severity,
    status: r.status as IncidentStatus,
    labels: fromJson<Labels>(r.labels),
    openedAt: r.opened_at,
    acknowledgedAt: r.acknowledged_at,
    acknowledgedBy: r.acknowledged_by,
    resolvedAt: r.resolved_at,
    escalatedAt: r.escalated_at,
    updatedAt: r.updated_at,
  };
}

function toColumns(patch: IncidentPatch, nowMs: number): Updateable<IncidentsTable> {
  const set: Updateable<IncidentsTable> = { updated_at: nowMs };
  if (patch.title !== undefined) set.title = patch.title;
  if (patch.severity !== undefined) set.severity = patch.severity;
  if (patch.status !== undefined) set.status = patch.status;
  if (patch.labels !== undefined) set.labels = toJson(patch.labels);
  if (patch.acknowledgedAt !== undefined) set.acknowledged_at = patch.acknowledgedAt;
  if (patch.acknowledgedBy !== undefined) set.acknowledged_by = patch.acknowledgedBy;
  if (patch.resolvedAt !== undefined) set.resolved_at = patch.resolvedAt;
  if (patch.escalatedAt !== undefined) set.escalated_at = patch.escalatedAt;
  return set;
}

/** Incidents in the state database. */
export class KyselyIncidentRepository implements IncidentRepository {
  constructor(private readonly db: Kysely<StoreDatabase>) {}

  async open(input: NewIncident, nowMs: number): Promise<Incident> {
    if (input.key === '') {
      throw new StoreInputError('incidents.open: the grouping key is empty; derive it from the alert labels');
    }
    try {
      const row = await this.db
        .insertInto('incidents')
        .values({
          key: input.key,
          title: input.title,
          severity: input.severity,
          status: 'open',
          labels: toJson(input.labels),
          opened_at: nowMs,
          acknowledged_at: null,
          acknowledged_by: null,
          resolved_at: null,
          escalated_at: null,
          updated_at: nowMs,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toIncident(row);
    } catch (error) {
      if (isUniqueViolation(error, UNRESOLVED_KEY_INDEX, 'incidents.key')) {
        throw new IncidentKeyConflictError(input.key);
      }
      throw error;
    }
  }

  async get(id: number): Promise<Incident | null> {
    const r = await this.db.selectFrom('incidents').selectAll().where('id', '=', id).executeTakeFirst();
    return r === undefined ? null : toIncident(r);
  }

  async findOpenByKey(key: string): Promise<Incident | null> {
    const r = await this.db
      .selectFrom('incidents')
      .selectAll()
      .where('key', '=', key)
      .where('status', '<>', 'resolved')
      .executeTakeFirst();
    return r === undefined ? null : toIncident(r);
  }

  async list(options: IncidentListOptions = {}): Promise<Incident[]> {
    const limit = checkLimit(options.limit, 50, 'incidents.list');
    const statuses = asList(options.status);
    const severities = asList(options.severity);
    if (statuses?.length === 0 || severities?.length === 0) return [];
    let query = this.db.selectFrom('incidents').selectAll();
    if (statuses !== undefined) query = query.where('status', 'in', statuses);
    if (severities !== undefined) query = query.where('severity', 'in', severities);
    if (options.openedSince !== undefined) {
      query = query.where('opened_at', '>=', checkTime(options.openedSince, 'openedSince'));
    }
    if (options.openedUntil !== undefined) {
      query = query.where('opened_at', '<', checkTime(options.openedUntil, 'openedUntil'));
    }
    const matchers = compileMatchers(options.matchers);
    if (matchers.length === 0) {
      if (options.beforeId !== undefined) query = query.where('id', '<', options.beforeId);
      const rows = await query.orderBy('id', 'desc').limit(limit).execute();
      return rows.map(toIncident);
    }
    // Labels are JSON text, which neither dialect can match with RE2 regexes: scan newest first in
    // batches and match here, until the page is full or the table is exhausted.
    const found: Incident[] = [];
    let beforeId = options.beforeId;
    const batch = Math.max(limit * 4, 200);
    for (;;) {
      const page = await (beforeId === undefined ? query : query.where('id', '<', beforeId))
        .orderBy('id', 'desc')
        .limit(batch)
        .execute();
      for (const row of page) {
        const incident = toIncident(row);
        if (!matchesAll(matchers, incident.labels)) continue;
        found.push(incident);
        if (found.length === limit) return found;
      }
      if (page.length < batch) return found;
      beforeId = page.at(-1)?.id;
    }
  }

  async update(id: number, patch: IncidentPatch, nowMs: number): Promise<Incident | null> {
    try {
      const r = await this.db
        .updateTable('incidents')
        .set(toColumns(patch, nowMs))
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirst();
      return r === undefined ? null : toIncident(r);
    } catch (error) {
      // Re-opening a resolved incident while another unresolved one holds its key.
      if (isUniqueViolation(error, UNRESOLVED_KEY_INDEX, 'incidents.key')) {
        const current = await this.get(id);
        throw new IncidentKeyConflictError(current?.key ?? String(id));
      }
      throw error;
    }
  }
}
