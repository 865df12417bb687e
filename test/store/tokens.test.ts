import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { StoreInputError } from '../../src/store/index.js';
import type { TokenRole } from '../../src/store/index.js';
import { backends, useStore } from './backends.js';

describe.each(backends)('tokens on %s', (_dialect, factory) => {
  const ctx = useStore(factory, 'tokens');

  it('creates tokens that verify, and stores only their SHA-256 hash', async () => {
    const { token, id } = await ctx.store.tokens.create({ name: 'ci', role: 'operator' }, 1000);
    expect(token).toMatch(/^swas_[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(token.slice(5), 'base64url')).toHaveLength(32);

    expect(await ctx.store.tokens.verify(token, 2000)).toEqual({ id, name: 'ci', role: 'operator' });

    const rows = await ctx.location.raw('select * from api_tokens where id = ?', [id]);
    expect(rows).toHaveLength(1);
    const dump = JSON.stringify(rows);
    expect(dump).not.toContain(token);
    expect(dump).not.toContain(token.slice(5));
    expect(rows[0]?.token_hash).toBe(createHash('sha256').update(token).digest('hex'));
    expect(Number(rows[0]?.last_used_at)).toBe(2000);
  });

  it('gives each token a distinct secret and id', async () => {
    const a = await ctx.store.tokens.create({ name: 'a', role: 'viewer' }, 1);
    const b = await ctx.store.tokens.create({ name: 'a', role: 'viewer' }, 1);
    expect(a.id).not.toBe(b.id);
    expect(a.token).not.toBe(b.token);
  });

  it('rejects unknown, malformed and altered tokens', async () => {
    const { token } = await ctx.store.tokens.create({ name: 'x', role: 'admin' }, 1);
    const altered = token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A');
    for (const bad of [
      '',
      'swas_',
      token.slice(5),
      `${token}x`,
      altered,
      `swas_${randomBytes(32).toString('base64url')}`,
      ` ${token}`,
    ]) {
      expect(await ctx.store.tokens.verify(bad, 5)).toBeNull();
    }
  });

  it('lists tokens without secrets or hashes and records last use', async () => {
    const { id, token } = await ctx.store.tokens.create({ name: 'listed', role: 'viewer' }, 10);
    let item = (await ctx.store.tokens.list()).find((t) => t.id === id);
    expect(item).toEqual({
      id,
      name: 'listed',
      role: 'viewer',
      createdAt: 10,
      lastUsedAt: null,
      revokedAt: null,
    });
    await ctx.store.tokens.verify(token, 20);
    item = (await ctx.store.tokens.list()).find((t) => t.id === id);
    expect(item?.lastUsedAt).toBe(20);
    const all = await ctx.store.tokens.list();
    expect(all.map((t) => t.id)).toEqual([...all.map((t) => t.id)].sort((x, y) => x - y));
    for (const t of all) {
      expect(Object.keys(t).sort()).toEqual(['createdAt', 'id', 'lastUsedAt', 'name', 'revokedAt', 'role']);
    }
  });

  it('revokes tokens: they stop verifying, and revoking twice or an unknown id reports false', async () => {
    const { id, token } = await ctx.store.tokens.create({ name: 'gone', role: 'admin' }, 100);
    expect(await ctx.store.tokens.revoke(id, 200)).toBe(true);
    expect(await ctx.store.tokens.verify(token, 300)).toBeNull();
    expect(await ctx.store.tokens.revoke(id, 400)).toBe(false);
    expect(await ctx.store.tokens.revoke(999_999, 400)).toBe(false);
    const item = (await ctx.store.tokens.list()).find((t) => t.id === id);
    expect(item?.revokedAt).toBe(200);
    expect(item?.lastUsedAt).toBeNull();
  });

  it('refuses an empty name or an unknown role', async () => {
    await expect(ctx.store.tokens.create({ name: '  ', role: 'viewer' }, 1)).rejects.toThrow(StoreInputError);
    await expect(ctx.store.tokens.create({ name: 'x', role: 'root' as TokenRole }, 1)).rejects.toMatchObject({
      code: 'SWAS-STORE-005',
      message: expect.stringContaining('role "root" is unknown') as unknown,
    });
  });
});
