import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { openStateStore } from '../../src/store/index.js';
import type { StateStore, StateStoreOptions, StoreDialect } from '../../src/store/index.js';
import { createTestDatabase } from '../support/postgres.js';
import { makeTempDir } from '../support/tmp.js';

/** A row as a raw driver returns it. */
export type RawRow = Record<string, unknown>;

/** A fresh, empty database location of one backend, with a side door for raw SQL. */
export interface TestLocation {
  readonly dialect: StoreDialect;
  readonly options: StateStoreOptions;
  /** Opens a store on this location. */
  open(): Promise<StateStore>;
  /** Runs SQL on a separate raw connection; write `?` placeholders, they are renumbered for PostgreSQL. */
  raw(text: string, params?: readonly unknown[]): Promise<RawRow[]>;
  /** Removes the database and its directory. */
  cleanup(): Promise<void>;
}

/** Makes a fresh location of one backend. */
export type LocationFactory = (prefix: string) => Promise<TestLocation>;

async function sqliteLocation(prefix: string): Promise<TestLocation> {
  const tmp = await makeTempDir(`store-${prefix}`);
  const options = { dataDir: join(tmp.dir, 'data') };
  const file = join(options.dataDir, 'swas.db');
  return {
    dialect: 'sqlite',
    options,
    open: () => openStateStore(options),
    raw(text, params = []) {
      const db = new Database(file);
      try {
        db.pragma('busy_timeout = 5000');
        const stmt = db.prepare(text);
        if (stmt.reader) return Promise.resolve(stmt.all(...params) as RawRow[]);
        stmt.run(...params);
        return Promise.resolve([]);
      } finally {
        db.close();
      }
    },
    cleanup: tmp.remove,
  };
}

async function postgresLocation(prefix: string): Promise<TestLocation> {
  const database = await createTestDatabase(`store_${prefix}`);
  const tmp = await makeTempDir(`store-${prefix}`);
  const options = { url: database.url, dataDir: tmp.dir };
  return {
    dialect: 'postgres',
    options,
    open: () => openStateStore(options),
    async raw(text, params = []) {
      let n = 0;
      const numbered = text.replace(/\?/g, () => `$${++n}`);
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      try {
        return (await client.query(numbered, [...params])).rows as RawRow[];
      } finally {
        await client.end();
      }
    },
    async cleanup() {
      await database.drop();
      await tmp.remove();
    },
  };
}

/** Every supported backend, for `describe.each`: every storage test runs against each of them. */
export const backends: Array<[StoreDialect, LocationFactory]> = [
  ['sqlite', sqliteLocation],
  ['postgres', postgresLocation],
];

/** Gives a suite its own fresh location and open store, closed and removed after the suite. */
export function useStore(
  factory: LocationFactory,
  prefix: string,
): { store: StateStore; location: TestLocation } {
  let store: StateStore | undefined;
  let location: TestLocation | undefined;
  beforeAll(async () => {
    location = await factory(prefix);
    store = await location.open();
  });
  afterAll(async () => {
    await store?.close();
    await location?.cleanup();
  });
  return {
    get store(): StateStore {
      if (store === undefined) throw new Error('the store is opened in beforeAll; use it inside a test');
      return store;
    },
    get location(): TestLocation {
      if (location === undefined) throw new Error('the location is made in beforeAll; use it inside a test');
      return location;
    },
  };
}
