import { describe, expect, it } from 'vitest';
import { StoreInputError } from '../../src/store/index.js';
import { backends, useStore } from './backends.js';

const HOUR = 3_600_000;

describe.each(backends)('agents on %s', (_dialect, factory) => {
  const ctx = useStore(factory, 'agents');

  it('enrolls with a token once, merges labels (token labels win) and stores only hashes', async () => {
    const created = await ctx.store.agents.createEnrollmentToken(
      { createdBy: 'admin', ttlMs: HOUR, labels: { env: 'prod' } },
      1000,
    );
    expect(created.token).toMatch(/^swas_enroll_[A-Za-z0-9_-]{43}$/);
    expect(created.expiresAt).toBe(1000 + HOUR);

    const result = await ctx.store.agents.enroll(
      { token: created.token, name: 'web-1', hostname: 'web-1.example', labels: { env: 'dev', rack: 'r1' } },
      2000,
    );
    if (!result.ok) throw new Error(result.message);
    expect(result.credential).toMatch(/^swas_agent_[A-Za-z0-9_-]{43}$/);
    expect(result.agent).toMatchObject({
      name: 'web-1',
      hostname: 'web-1.example',
      labels: { env: 'prod', rack: 'r1' },
      createdAt: 2000,
      lastSeenAt: null,
      revokedAt: null,
    });

    const again = await ctx.store.agents.enroll(
      { token: created.token, name: 'web-2', hostname: 'web-2' },
      3000,
    );
    expect(again).toMatchObject({ ok: false, reason: 'used_token' });

    const tokenRows = await ctx.location.raw('select * from agent_enrollment_tokens where id = ?', [
      created.id,
    ]);
    expect(JSON.stringify(tokenRows)).not.toContain(created.token);
    expect(Number(tokenRows[0]?.used_by_agent)).toBe(result.agent.id);
    const agentRows = await ctx.location.raw('select credential_hash from agents where id = ?', [
      result.agent.id,
    ]);
    expect(agentRows[0]?.credential_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(agentRows)).not.toContain(result.credential);
  });

  it('refuses expired, unknown and malformed tokens as values', async () => {
    const created = await ctx.store.agents.createEnrollmentToken({ createdBy: 'admin', ttlMs: 1000 }, 0);
    expect(
      await ctx.store.agents.enroll({ token: created.token, name: 'late', hostname: 'h' }, 1000),
    ).toMatchObject({ ok: false, reason: 'expired_token' });
    const unknown = `swas_enroll_${'A'.repeat(43)}`;
    expect(await ctx.store.agents.enroll({ token: unknown, name: 'x', hostname: 'h' }, 0)).toMatchObject({
      ok: false,
      reason: 'unknown_token',
    });
    expect(await ctx.store.agents.enroll({ token: 'nope', name: 'x', hostname: 'h' }, 0)).toMatchObject({
      ok: false,
      reason: 'unknown_token',
    });
  });

  it('lets exactly one of two concurrent enrolls with one token win', async () => {
    const created = await ctx.store.agents.createEnrollmentToken({ createdBy: 'admin', ttlMs: HOUR }, 0);
    const results = await Promise.all([
      ctx.store.agents.enroll({ token: created.token, name: 'race-a', hostname: 'a' }, 1),
      ctx.store.agents.enroll({ token: created.token, name: 'race-b', hostname: 'b' }, 1),
    ]);
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect(results.filter((r) => !r.ok)).toEqual([expect.objectContaining({ reason: 'used_token' })]);
  });

  it('refuses a name already enrolled without spending the token, and allows it again after revoke', async () => {
    const first = await ctx.store.agents.createEnrollmentToken({ createdBy: 'admin', ttlMs: HOUR }, 0);
    const a = await ctx.store.agents.enroll({ token: first.token, name: 'db-1', hostname: 'db-1' }, 1);
    if (!a.ok) throw new Error(a.message);
    const second = await ctx.store.agents.createEnrollmentToken({ createdBy: 'admin', ttlMs: HOUR }, 0);
    const clash = await ctx.store.agents.enroll({ token: second.token, name: 'db-1', hostname: 'other' }, 2);
    expect(clash).toMatchObject({ ok: false, reason: 'name_taken' });
    if (clash.ok) return;
    expect(clash.message).toContain('swas agent revoke db-1');

    const revoked = await ctx.store.agents.revoke('db-1', 'admin', 3);
    expect(revoked).toMatchObject({ id: a.agent.id, revokedAt: 3, revokedBy: 'admin' });
    expect(await ctx.store.agents.revoke('db-1', 'admin', 4)).toBeNull();
    const b = await ctx.store.agents.enroll({ token: second.token, name: 'db-1', hostname: 'db-1' }, 5);
    expect(b.ok).toBe(true);
  });

  it('verifies credentials until revoked, and records what the agent reported', async () => {
    const t = await ctx.store.agents.createEnrollmentToken({ createdBy: 'admin', ttlMs: HOUR }, 0);
    const e = await ctx.store.agents.enroll({ token: t.token, name: 'cache-1', hostname: 'c1' }, 1);
    if (!e.ok) throw new Error(e.message);
    expect(await ctx.store.agents.verifyCredential(e.credential, 10)).toMatchObject({
      id: e.agent.id,
      name: 'cache-1',
      lastSeenAt: 10,
    });
    expect(await ctx.store.agents.verifyCredential(`swas_agent_${'B'.repeat(43)}`, 10)).toBeNull();
    expect(await ctx.store.agents.verifyCredential('garbage', 10)).toBeNull();

    await ctx.store.agents.touch(e.agent.id, {
      lastSeenAt: 20,
      version: '1.2.3',
      configVersion: 'cfg-7',
      hostname: 'c1.example',
    });
    const listed = (await ctx.store.agents.list()).find((a) => a.id === e.agent.id);
    expect(listed).toMatchObject({
      lastSeenAt: 20,
      version: '1.2.3',
      configVersion: 'cfg-7',
      hostname: 'c1.example',
    });

    expect(await ctx.store.agents.revoke(e.agent.id, 'ops', 30)).toMatchObject({ revokedAt: 30 });
    expect(await ctx.store.agents.verifyCredential(e.credential, 40)).toBeNull();
  });

  it('rejects bad input with messages naming the field', async () => {
    await expect(ctx.store.agents.createEnrollmentToken({ createdBy: 'admin', ttlMs: 0 }, 0)).rejects.toThrow(
      /ttlMs 0/,
    );
    await expect(
      ctx.store.agents.createEnrollmentToken(
        { createdBy: 'admin', ttlMs: HOUR, labels: { 'bad-name': 'x' } },
        0,
      ),
    ).rejects.toThrow(StoreInputError);
    const t = await ctx.store.agents.createEnrollmentToken({ createdBy: 'admin', ttlMs: HOUR }, 0);
    await expect(
      ctx.store.agents.enroll({ token: t.token, name: 'has space', hostname: 'h' }, 1),
    ).rejects.toThrow(/name "has space" is not allowed/);
    await expect(ctx.store.agents.enroll({ token: t.token, name: 'ok', hostname: '' }, 1)).rejects.toThrow(
      /hostname is empty/,
    );
  });
});
