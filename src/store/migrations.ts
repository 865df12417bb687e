import { sql } from 'kysely';
import type {
  ColumnDefinitionBuilder,
  CreateTableBuilder,
  Kysely,
  Migration,
  MigrationProvider,
} from 'kysely';
import type { StoreDialect } from './types.js';

// Migrations are written against Kysely<unknown>: they must not depend on today's table types,
// which describe the schema after the last migration, not at this one.
type MigrationDb = Kysely<unknown>;

/** Adds an auto-assigned integer primary key named `id`, spelled the way each dialect wants it. */
function withAutoId<T extends string>(
  dialect: StoreDialect,
  table: CreateTableBuilder<T>,
): CreateTableBuilder<T> {
  if (dialect === 'sqlite') {
    return table.addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement());
  }
  return table.addColumn('id', 'bigint', (c) => c.primaryKey().generatedByDefaultAsIdentity());
}

const notNull = (c: ColumnDefinitionBuilder): ColumnDefinitionBuilder => c.notNull();

/** Builds a CHECK constraint restricting a column to a fixed set of words. */
function oneOf(column: string, values: readonly string[]) {
  return sql`${sql.ref(column)} in (${sql.join(values.map((v) => sql.lit(v)))})`;
}

function initial(dialect: StoreDialect): Migration {
  return {
    async up(db: MigrationDb): Promise<void> {
      await withAutoId(dialect, db.schema.createTable('api_tokens'))
        .addColumn('name', 'text', notNull)
        .addColumn('role', 'text', notNull)
        .addColumn('token_hash', 'text', (c) => c.notNull().unique())
        .addColumn('created_at', 'bigint', notNull)
        .addColumn('last_used_at', 'bigint')
        .addColumn('revoked_at', 'bigint')
        .addCheckConstraint('api_tokens_role', oneOf('role', ['viewer', 'operator', 'admin']))
        .execute();

      await db.schema
        .createTable('alerts')
        .addColumn('fingerprint', 'text', (c) => c.primaryKey())
        .addColumn('rule', 'text', notNull)
        .addColumn('labels', 'text', notNull)
        .addColumn('annotations', 'text', notNull)
        .addColumn('state', 'text', notNull)
        .addColumn('active_at', 'bigint', notNull)
        .addColumn('fired_at', 'bigint')
        .addColumn('resolved_at', 'bigint')
        .addColumn('last_value', 'double precision')
        .addColumn('updated_at', 'bigint', notNull)
        .addCheckConstraint('alerts_state', oneOf('state', ['pending', 'firing', 'resolved']))
        .execute();
      await db.schema
        .createIndex('alerts_state_updated')
        .on('alerts')
        .columns(['state', 'updated_at'])
        .execute();

      await withAutoId(dialect, db.schema.createTable('incidents'))
        .addColumn('key', 'text', notNull)
        .addColumn('title', 'text', notNull)
        .addColumn('severity', 'text', notNull)
        .addColumn('status', 'text', notNull)
        .addColumn('labels', 'text', notNull)
        .addColumn('opened_at', 'bigint', notNull)
        .addColumn('acknowledged_at', 'bigint')
        .addColumn('acknowledged_by', 'text')
        .addColumn('resolved_at', 'bigint')
        .addColumn('escalated_at', 'bigint')
        .addColumn('updated_at', 'bigint', notNull)
        .addCheckConstraint('incidents_status', oneOf('status', ['open', 'acknowledged', 'resolved']))
        .execute();
      // Several servers may share one PostgreSQL database: the index makes "one unresolved incident
      // per key" hold even when two of them see the same alert at the same moment.
      await db.schema
        .createIndex('incidents_unresolved_key')
        .on('incidents')
        .column('key')
        .unique()
        .where(sql.ref('status'), '<>', 'resolved')
        .execute();
      await db.schema.createIndex('incidents_status_id').on('incidents').columns(['status', 'id']).execute();

      await withAutoId(dialect, db.schema.createTable('incident_timeline'))
        .addColumn('incident_id', 'bigint', (c) => c.notNull().references('incidents.id').onDelete('cascade'))
        .addColumn('at', 'bigint', notNull)
        .addColumn('kind', 'text', notNull)
        .addColumn('message', 'text', notNull)
        .addColumn('data', 'text', notNull)
        .execute();
      await db.schema
        .createIndex('incident_timeline_order')
        .on('incident_timeline')
        .columns(['incident_id', 'at', 'id'])
        .execute();

      await createRunTables(db);

      await db.schema
        .createTable('audit_log')
        .addColumn('seq', dialect === 'sqlite' ? 'integer' : 'bigint', (c) => c.primaryKey())
        .addColumn('at', 'bigint', notNull)
        .addColumn('actor', 'text', notNull)
        .addColumn('action', 'text', notNull)
        .addColumn('target', 'text', notNull)
        .addColumn('reason', 'text')
        .addColumn('before', 'text', notNull)
        .addColumn('after', 'text', notNull)
        .addColumn('result', 'text', notNull)
        .addColumn('prev_hash', 'text', notNull)
        .addColumn('hash', 'text', notNull)
        .execute();
    },
    async down(db: MigrationDb): Promise<void> {
      for (const table of [
        'audit_log',
        'run_steps',
        'runs',
        'incident_timeline',
        'incidents',
        'alerts',
        'api_tokens',
      ]) {
        await db.schema.dropTable(table).ifExists().execute();
      }
    },
  };
}

async function createRunTables(db: MigrationDb): Promise<void> {
  await db.schema
    .createTable('runs')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('runbook', 'text', notNull)
    .addColumn('incident_id', 'bigint', (c) => c.references('incidents.id').onDelete('set null'))
    .addColumn('target', 'text', notNull)
    .addColumn('status', 'text', notNull)
    .addColumn('trigger', 'text', notNull)
    .addColumn('created_at', 'bigint', notNull)
    .addColumn('started_at', 'bigint')
    .addColumn('finished_at', 'bigint')
    .addColumn('error', 'text')
    .addColumn('current_step', 'integer', notNull)
    .addCheckConstraint(
      'runs_status',
      oneOf('status', ['pending', 'running', 'parked', 'succeeded', 'failed', 'cancelled']),
    )
    .execute();
  await db.schema.createIndex('runs_status_created').on('runs').columns(['status', 'created_at']).execute();
  await db.schema.createIndex('runs_incident').on('runs').column('incident_id').execute();
  await db.schema.createIndex('runs_created').on('runs').column('created_at').execute();

  await db.schema
    .createTable('run_steps')
    .addColumn('run_id', 'text', (c) => c.notNull().references('runs.id').onDelete('cascade'))
    .addColumn('step_index', 'integer', notNull)
    .addColumn('name', 'text', notNull)
    .addColumn('action', 'text', notNull)
    .addColumn('params', 'text', notNull)
    .addColumn('status', 'text', notNull)
    .addColumn('started_at', 'bigint')
    .addColumn('ended_at', 'bigint')
    .addColumn('result', 'text')
    .addColumn('error', 'text')
    .addPrimaryKeyConstraint('run_steps_pk', ['run_id', 'step_index'])
    .addCheckConstraint(
      'run_steps_status',
      oneOf('status', ['pending', 'running', 'succeeded', 'failed', 'skipped']),
    )
    .execute();
}

/** Silences: matchers are a JSON list, so a silence is one row read and written whole. */
function silences(dialect: StoreDialect): Migration {
  return {
    async up(db: MigrationDb): Promise<void> {
      await withAutoId(dialect, db.schema.createTable('silences'))
        .addColumn('matchers', 'text', notNull)
        .addColumn('starts_at', 'bigint', notNull)
        .addColumn('ends_at', 'bigint', notNull)
        .addColumn('created_by', 'text', notNull)
        .addColumn('comment', 'text', notNull)
        .addColumn('created_at', 'bigint', notNull)
        .addColumn('expired_at', 'bigint')
        // Expiring a silence that has not started yet ends it before its start.
        .addCheckConstraint(
          'silences_window',
          sql`${sql.ref('expired_at')} is not null or ${sql.ref('ends_at')} > ${sql.ref('starts_at')}`,
        )
        .execute();
      // The incident manager asks for the silences active now on every alert change.
      await db.schema.createIndex('silences_ends_at').on('silences').column('ends_at').execute();
    },
    async down(db: MigrationDb): Promise<void> {
      await db.schema.dropTable('silences').ifExists().execute();
    },
  };
}

/** Quarantines of the flap budget: at most one unreleased quarantine per target key. */
function quarantines(dialect: StoreDialect): Migration {
  return {
    async up(db: MigrationDb): Promise<void> {
      await withAutoId(dialect, db.schema.createTable('quarantines'))
        .addColumn('target_key', 'text', notNull)
        .addColumn('target', 'text', notNull)
        .addColumn('runbook', 'text', notNull)
        .addColumn('reason', 'text', notNull)
        .addColumn('run_ids', 'text', notNull)
        .addColumn('created_at', 'bigint', notNull)
        .addColumn('released_at', 'bigint')
        .addColumn('released_by', 'text')
        .execute();
      // Several servers may share one PostgreSQL database: the index makes "page a human once per
      // quarantine" hold even when two of them spend the same target's budget at the same moment.
      await db.schema
        .createIndex('quarantines_active_target')
        .on('quarantines')
        .column('target_key')
        .unique()
        .where(sql.ref('released_at'), 'is', null)
        .execute();
    },
    async down(db: MigrationDb): Promise<void> {
      await db.schema.dropTable('quarantines').ifExists().execute();
    },
  };
}

/**
 * Agents and their one-time enrollment tokens. Only hashes of secrets are stored. A name is unique among
 * agents that are not revoked, so a reinstalled host can enroll again under its name once the old
 * credential is revoked.
 */
function agents(dialect: StoreDialect): Migration {
  return {
    async up(db: MigrationDb): Promise<void> {
      await withAutoId(dialect, db.schema.createTable('agent_enrollment_tokens'))
        .addColumn('token_hash', 'text', (c) => c.notNull().unique())
        .addColumn('created_by', 'text', notNull)
        .addColumn('created_at', 'bigint', notNull)
        .addColumn('expires_at', 'bigint', notNull)
        .addColumn('used_at', 'bigint')
        .addColumn('used_by_agent', 'bigint')
        .addColumn('labels', 'text', notNull)
        .execute();
      await withAutoId(dialect, db.schema.createTable('agents'))
        .addColumn('name', 'text', notNull)
        .addColumn('hostname', 'text', notNull)
        .addColumn('labels', 'text', notNull)
        .addColumn('credential_hash', 'text', (c) => c.notNull().unique())
        .addColumn('created_at', 'bigint', notNull)
        .addColumn('last_seen_at', 'bigint')
        .addColumn('revoked_at', 'bigint')
        .addColumn('revoked_by', 'text')
        .addColumn('version', 'text')
        .addColumn('config_version', 'text')
        .execute();
      await db.schema
        .createIndex('agents_active_name')
        .on('agents')
        .column('name')
        .unique()
        .where(sql.ref('revoked_at'), 'is', null)
        .execute();
    },
    async down(db: MigrationDb): Promise<void> {
      await db.schema.dropTable('agents').ifExists().execute();
      await db.schema.dropTable('agent_enrollment_tokens').ifExists().execute();
    },
  };
}

/** The store's migrations, in order; names sort in the order they must run. */
export function storeMigrations(dialect: StoreDialect): Record<string, Migration> {
  return {
    '0001_initial': initial(dialect),
    '0002_silences': silences(dialect),
    '0003_quarantines': quarantines(dialect),
    '0004_agents': agents(dialect),
  };
}

/** An in-code migration provider, so the built package needs no migration files on disk. */
export function storeMigrationProvider(dialect: StoreDialect): MigrationProvider {
  return { getMigrations: () => Promise.resolve(storeMigrations(dialect)) };
}
