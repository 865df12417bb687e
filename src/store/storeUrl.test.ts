import { describe, expect, it } from 'vitest';
import { StoreUrlError } from './errors.js';
import { redactUrl, resolveStoreLocation } from './storeUrl.js';

describe('resolveStoreLocation', () => {
  it('defaults to swas.db in the data directory', () => {
    expect(resolveStoreLocation(undefined, '/var/lib/swas')).toEqual({
      dialect: 'sqlite',
      path: '/var/lib/swas/swas.db',
    });
  });

  it('resolves sqlite: paths relative to the data directory and keeps absolute ones', () => {
    expect(resolveStoreLocation('sqlite:state.db', '/data')).toEqual({
      dialect: 'sqlite',
      path: '/data/state.db',
    });
    expect(resolveStoreLocation('sqlite:../x/state.db', '/data/d')).toEqual({
      dialect: 'sqlite',
      path: '/data/x/state.db',
    });
    expect(resolveStoreLocation('sqlite:/srv/swas.db', '/data')).toEqual({
      dialect: 'sqlite',
      path: '/srv/swas.db',
    });
    expect(resolveStoreLocation('sqlite:///srv/swas.db', '/data')).toEqual({
      dialect: 'sqlite',
      path: '/srv/swas.db',
    });
    expect(resolveStoreLocation('sqlite::memory:', '/data')).toEqual({ dialect: 'sqlite', path: ':memory:' });
  });

  it('accepts postgres:// and postgresql:// URLs unchanged', () => {
    for (const url of ['postgres://u:p@db:5432/swas', 'postgresql://db/swas?sslmode=require']) {
      expect(resolveStoreLocation(url, '/data')).toEqual({ dialect: 'postgres', url });
    }
  });

  it('rejects other schemes and an empty sqlite path with SWAS-STORE-001', () => {
    expect(() => resolveStoreLocation('mysql://db/swas', '/data')).toThrow(
      new StoreUrlError('store.url "mysql://db/swas" is not supported; use sqlite:<path> or postgres://…'),
    );
    for (const bad of ['', 'swas.db', 'http://x', 'postgres:/db', 'sqlite:']) {
      expect(() => resolveStoreLocation(bad, '/data')).toThrow(StoreUrlError);
    }
    try {
      resolveStoreLocation('sqlite:', '/data');
    } catch (error) {
      expect(error).toMatchObject({ code: 'SWAS-STORE-001' });
      expect((error as Error).message).toContain('names no file');
    }
  });
});

describe('redactUrl', () => {
  it('hides passwords and leaves URLs without one alone', () => {
    expect(redactUrl('postgres://swas:s3cr3t@db:5432/swas')).toBe('postgres://swas:***@db:5432/swas');
    expect(redactUrl('postgres://swas@db/swas')).toBe('postgres://swas@db/swas');
    expect(redactUrl('sqlite:/a:b@c')).toBe('sqlite:/a:b@c');
    expect(redactUrl('postgres://u:p@ss:w@db/swas?x=a@b')).toBe('postgres://u:***@db/swas?x=a@b');
    expect(redactUrl('postgres://db:5432/swas')).toBe('postgres://db:5432/swas');
    expect(redactUrl('mysql://root:pw@db')).toBe('mysql://root:***@db');
  });
});
