import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect } from 'kysely';
import pg from 'pg';
import { errorMessage } from '../core/index.js';
import { KyselyAgentRepository } from './agents.js';
import { KyselyAlertRepository } from './alerts.js';
import { KyselyAuditRepository } from './audit.js';
import { StoreMigrationError, StoreUnavailableError } from './errors.js';
import { KyselyIncidentRepository } from './incidents.js';
import { storeMigrationProvider } from './migrations.js';
import { KyselyQuarantineRepository } from './quarantines.js';
import { KyselyRunRepository } from './runs.js';
import { KyselySilenceRepository } from './silences.js';
import type { StoreDatabase } from './schema.js';
import { SwasSqliteDialect } from './sqliteDialect.js';
import { redactUrl, resolveStoreLocation } from './storeUrl.js';
import type { StoreLocation } from './storeUrl.js';
import { KyselyTimelineRepository } from './timeline.js';
import { KyselyTokenRepository } from './tokens.js';
import type { StateStore, StoreDialect } from './types.js';

/** Where the state database is: `store.url` from swas.yaml and the data directory. */
export interface StateStoreOptions {
  /** `sqlite:<path>` (relative to dataDir) or `postgres://…`. @default `sqlite:swas.db` in dataDir */
  readonly url?: string;
  readonly dataDir: string;
}

/** How long a SQLite writer waits for another process's write lock before failing. */
const SQLITE_BUSY_TIMEOUT_MS = 5000;
const PG_INT8_OID = 20;

/** Opens (creating if needed) the state database and brings its schema up to date. */
export async function openStateStore(options: StateStoreOptions): Promise<StateStore> {
  const location = resolveStoreLocation(options.url, options.dataDir);
  const db =
    location.dialect === 'sqlite'
      ? openSqlite(location.path, options.dataDir)
      : await openPostgres(location.url);
  try {
    await migrate(db, location);
  } catch (error) {
    await db.destroy();
    throw error;
  }
  return new KyselyStateStore(db, location.dialect);
}

// better-sqlite3 is synchronous: a second store on the same file in the same process would wait
// for the write lock by blocking the event loop the first store needs to release it. Open one
// store per SQLite file per process; other processes (the CLI next to the server) are fine.
function openSqlite(path: string, dataDir: string): Kysely<StoreDatabase> {
  let database: Database.Database | undefined;
  try {
    mkdirSync(dataDir, { recursive: true });
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    database = new Database(path);
    // WAL lets readers (API, UI) run while the one writer commits; NORMAL sync is durable in WAL
    // mode except for the last transactions before a power loss, and never corrupts the file.
    database.pragma('journal_mode = WAL');
    database.pragma('synchronous = NORMAL');
    database.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
    database.pragma('foreign_keys = ON');
  } catch (error) {
    database?.close();
    throw new StoreUnavailableError(
      `cannot open the SQLite database ${path}: ${errorMessage(error)}; ` +
        'check that the path is a writable directory or swas database file, or set store.url',
      error,
    );
  }
  return new Kysely<StoreDatabase>({ dialect: new SwasSqliteDialect({ database }) });
}

// pg returns BIGINT as strings because it can exceed 2^53. Our BIGINTs are ms timestamps and ids,
// far below that, so callers get plain numbers, as they do from SQLite.
const pgTypes: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === PG_INT8_OID && format !== 'binary'
      ? (value: string) => Number(value)
      : (pg.types.getTypeParser(oid, format) as (value: string) => unknown)) as typeof pg.types.getTypeParser,
};

async function openPostgres(url: string): Promise<Kysely<StoreDatabase>> {
  const pool = new pg.Pool({ connectionString: url, types: pgTypes, max: 10 });
  // An idle client losing its connection (server restart, terminated backend) is recoverable: the
  // pool discards it and the next query connects again. Without a listener Node would crash.
  pool.on('error', () => {});
  try {
    const client = await pool.connect();
    client.release();
  } catch (error) {
    await pool.end();
    throw new StoreUnavailableError(
      `cannot connect to PostgreSQL at ${redactUrl(url)}: ${errorMessage(error)}; ` +
        'check store.url and that the server is running and accepts connections from this host',
      error,
    );
  }
  return new Kysely<StoreDatabase>({ dialect: new PostgresDialect({ pool }) });
}

async function migrate(db: Kysely<StoreDatabase>, location: StoreLocation): Promise<void> {
  const migrator = new Migrator({
    db,
    provider: storeMigrationProvider(location.dialect),
    migrationTableName: 'swas_migration',
    migrationLockTableName: 'swas_migration_lock',
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error === undefined) return;
  const where = location.dialect === 'sqlite' ? location.path : redactUrl(location.url);
  const failed = results?.find((r) => r.status === 'Error');
  const message = errorMessage(error);
  const advice = /previously executed migration .* is missing/.test(message)
    ? 'the database was created by a newer swas; run that version, or point store.url at another database'
    : 'the schema was left as it was; fix the cause and start swas again';
  throw new StoreMigrationError(
    `cannot update the schema of the state database ${where}` +
      `${failed === undefined ? '' : ` at migration ${failed.migrationName}`}: ${message}; ${advice}`,
    error,
  );
}

/** The state store over Kysely: one implementation for SQLite and PostgreSQL. */
class KyselyStateStore implements StateStore {
  readonly tokens: KyselyTokenRepository;
  readonly alerts: KyselyAlertRepository;
  readonly incidents: KyselyIncidentRepository;
  readonly timeline: KyselyTimelineRepository;
  readonly runs: KyselyRunRepository;
  readonly audit: KyselyAuditRepository;
  readonly silences: KyselySilenceRepository;
  readonly quarantines: KyselyQuarantineRepository;
  readonly agents: KyselyAgentRepository;
  #closed: Promise<void> | null = null;

  constructor(
    private readonly db: Kysely<StoreDatabase>,
    readonly dialect: StoreDialect,
  ) {
    this.tokens = new KyselyTokenRepository(db);
    this.alerts = new KyselyAlertRepository(db);
    this.incidents = new KyselyIncidentRepository(db);
    this.timeline = new KyselyTimelineRepository(db);
    this.runs = new KyselyRunRepository(db);
    this.audit = new KyselyAuditRepository(db, dialect);
    this.silences = new KyselySilenceRepository(db);
    this.quarantines = new KyselyQuarantineRepository(db);
    this.agents = new KyselyAgentRepository(db);
  }

  close(): Promise<void> {
    this.#closed ??= this.db.destroy();
    return this.#closed;
  }
}
