import type { Kysely, Selectable } from 'kysely';
import { IncidentNotFoundError } from './errors.js';
import { fromJson, toJson } from './json.js';
import type { IncidentTimelineTable, StoreDatabase } from './schema.js';
import { isForeignKeyViolation } from './sqlErrors.js';
import type { TimelineEntry, TimelineRepository } from './types.js';

function toEntry(r: Selectable<IncidentTimelineTable>): TimelineEntry {
  return {
    id: r.id,
    incidentId: r.incident_id,
    at: r.at,
    kind: r.kind,
    message: r.message,
    data: fromJson<Record<string, unknown>>(r.data),
  };
}

/** Incident timelines in the state database. */
export class KyselyTimelineRepository implements TimelineRepository {
  constructor(private readonly db: Kysely<StoreDatabase>) {}

  async append(entry: Omit<TimelineEntry, 'id'>): Promise<TimelineEntry> {
    try {
      const row = await this.db
        .insertInto('incident_timeline')
        .values({
          incident_id: entry.incidentId,
          at: entry.at,
          kind: entry.kind,
          message: entry.message,
          data: toJson(entry.data),
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toEntry(row);
    } catch (error) {
      if (isForeignKeyViolation(error)) throw new IncidentNotFoundError('timeline.append', entry.incidentId);
      throw error;
    }
  }

  async list(incidentId: number): Promise<TimelineEntry[]> {
    const rows = await this.db
      .selectFrom('incident_timeline')
      .selectAll()
      .where('incident_id', '=', incidentId)
      .orderBy('at')
      .orderBy('id')
      .execute();
    return rows.map(toEntry);
  }
}
