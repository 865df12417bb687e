import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from '../../src/core/index.js';
import {
  StoreMigrationError,
  StoreUnavailableError,
  StoreUrlError,
  openStateStore,
} from '../../src/store/index.js';
import { freePort } from '../support/ports.js';
import { makeTempDir } from '../support/tmp.js';
import { backends } from './backends.js';
import type { TestLocation } from './backends.js';

describe.each(backends)('opening the store on %s', (dialect, factory) => {
  let location: TestLocation | undefined;
  const fresh = async (): Promise<TestLocation> => (location = await factory('open'));
  afterAll(async () => {
    await location?.cleanup();
  });

  it('migrates a fresh database once, keeps data across reopen, and closes idempotently', async () => {
    const loc = await fresh();
    const first = await loc.open();
    expect(first.dialect).toBe(dialect);
    const inc = await first.incidents.open({ key: 'k', title: 't', severity: 'info', labels: { a: 'b' } }, 1);
    const { token } = await first.tokens.create({ name: 'keep', role: 'admin' }, 1);
    await first.audit.append({
      at: 1,
      actor: 'a',
      action: 'x',
      target: 't',
      reason: null,
      before: null,
      after: null,
      result: 'ok',
    });
    await first.close();
    await first.close();

    const second = await loc.open();
    try {
      expect(await second.incidents.get(inc.id)).toEqual(inc);
      expect((await second.tokens.verify(token, 2))?.name).toBe('keep');
      expect(await second.audit.verify()).toEqual({ ok: true, count: 1 });
      const migrations = await loc.raw('select name from swas_migration order by name');
      expect(migrations.map((m) => m.name)).toEqual([
        '0001_initial',
        '0002_silences',
        '0003_quarantines',
        '0004_agents',
      ]);
    } finally {
      await second.close();
    }
  });

  it('refuses a database migrated by a newer swas, naming the cause', async () => {
    const loc = location ?? (await fresh());
    await loc.raw('insert into swas_migration (name, timestamp) values (?, ?)', [
      '0000_from_the_future',
      'x',
    ]);
    const opening = loc.open();
    await expect(opening).rejects.toThrow(StoreMigrationError);
    await expect(opening).rejects.toMatchObject({
      code: 'SWAS-STORE-003',
      message: expect.stringContaining('created by a newer swas') as unknown,
    });
    await loc.raw('delete from swas_migration where name = ?', ['0000_from_the_future']);
    const store = await loc.open();
    await store.close();
  });
});

describe('openStateStore', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const cleanup of cleanups) await cleanup();
  });

  it('defaults to <dataDir>/swas.db in WAL mode, creating the data directory', async () => {
    const tmp = await makeTempDir('store-default');
    cleanups.push(tmp.remove);
    const dataDir = join(tmp.dir, 'nested', 'data');
    const store = await openStateStore({ dataDir });
    await store.close();
    const file = join(dataDir, 'swas.db');
    expect(existsSync(file)).toBe(true);
    const raw = new Database(file, { readonly: true });
    try {
      expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    } finally {
      raw.close();
    }
  });

  it('resolves a relative sqlite: path against the data directory', async () => {
    const tmp = await makeTempDir('store-relative');
    cleanups.push(tmp.remove);
    const store = await openStateStore({ url: 'sqlite:state/other.db', dataDir: tmp.dir });
    expect(store.dialect).toBe('sqlite');
    await store.close();
    expect(existsSync(join(tmp.dir, 'state', 'other.db'))).toBe(true);
  });

  it('rejects an unsupported URL scheme with SWAS-STORE-001', async () => {
    const opening = openStateStore({ url: 'mysql://swas:secret@db/swas', dataDir: '/nonexistent' });
    await expect(opening).rejects.toThrow(StoreUrlError);
    await expect(opening).rejects.toBeInstanceOf(InputError);
    await expect(opening).rejects.toMatchObject({
      code: 'SWAS-STORE-001',
      message: 'store.url "mysql://swas:***@db/swas" is not supported; use sqlite:<path> or postgres://…',
    });
  });

  it('reports an unreachable PostgreSQL with SWAS-STORE-002 and hides the password', async () => {
    const port = await freePort();
    const opening = openStateStore({
      url: `postgres://swas:hunter2@127.0.0.1:${port}/swas`,
      dataDir: '/tmp',
    });
    await expect(opening).rejects.toThrow(StoreUnavailableError);
    const error = await opening.catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'SWAS-STORE-002' });
    expect((error as Error).message).toContain(
      `cannot connect to PostgreSQL at postgres://swas:***@127.0.0.1:${port}/swas`,
    );
    expect((error as Error).message).not.toContain('hunter2');
  });

  it('reports a SQLite path that cannot be a database with SWAS-STORE-002', async () => {
    const tmp = await makeTempDir('store-bad-sqlite');
    cleanups.push(tmp.remove);
    writeFileSync(
      join(tmp.dir, 'junk.db'),
      'this is not a database, just some text that is long enough'.repeat(20),
    );
    const opening = openStateStore({ url: 'sqlite:junk.db', dataDir: tmp.dir });
    await expect(opening).rejects.toMatchObject({
      code: 'SWAS-STORE-002',
      message: expect.stringContaining(
        `cannot open the SQLite database ${join(tmp.dir, 'junk.db')}`,
      ) as unknown,
    });
    const dataDirIsAFile = join(tmp.dir, 'junk.db');
    await expect(openStateStore({ dataDir: dataDirIsAFile })).rejects.toMatchObject({
      code: 'SWAS-STORE-002',
    });
  });
});
