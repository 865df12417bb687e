import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { AuditEntry, NewAuditEntry, StateStore } from '../../src/store/index.js';
import { backends, useStore } from './backends.js';
import type { LocationFactory, TestLocation } from './backends.js';

const GENESIS = '0'.repeat(64);
const APPENDER = fileURLToPath(new URL('./auditAppender.ts', import.meta.url));

/** The documented hash, computed independently: sha256(prevHash + JSON with keys in sorted order). */
function expectedHash(e: AuditEntry): string {
  const body = JSON.stringify({
    action: e.action,
    actor: e.actor,
    after: e.after,
    at: e.at,
    before: e.before,
    reason: e.reason,
    result: e.result,
    seq: e.seq,
    target: e.target,
  });
  return createHash('sha256')
    .update(e.prevHash + body)
    .digest('hex');
}

function entry(i: number, over: Partial<NewAuditEntry> = {}): NewAuditEntry {
  return {
    at: 1000 + i,
    actor: 'runbook:restart-web',
    action: 'lb.drain',
    target: `web/web-${i}`,
    reason: 'HighLatency',
    before: { state: 'ready', weight: 100 },
    after: { state: 'drain', weight: 0 },
    result: 'ok',
    ...over,
  };
}

/** A child process appending to the audit log once released; see auditAppender.ts. */
interface Appender {
  readonly ready: Promise<void>;
  readonly done: Promise<void>;
  release(): void;
}

/** Starts the appender in a child process; it fails if the child fails or outlives the deadline. */
function startAppender(location: TestLocation, count: number, actor: string): Appender {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', APPENDER, JSON.stringify(location.options), String(count), actor],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 40_000);
  const done = new Promise<void>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`appender ${actor} exited with ${code ?? signal}: ${stderr}`));
    });
  });
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) resolve();
    });
    done.then(() => reject(new Error(`appender ${actor} exited before it was ready`)), reject);
  });
  return { ready, done, release: () => child.stdin.end('go\n') };
}

async function withFreshStore(
  factory: LocationFactory,
  prefix: string,
  work: (store: StateStore, location: TestLocation) => Promise<void>,
): Promise<void> {
  const location = await factory(prefix);
  try {
    const store = await location.open();
    try {
      await work(store, location);
    } finally {
      await store.close();
    }
  } finally {
    await location.cleanup();
  }
}

describe.each(backends)('audit on %s', (_dialect, factory) => {
  const ctx = useStore(factory, 'audit');

  it('appends hash-chained entries starting from the genesis hash', async () => {
    const first = await ctx.store.audit.append(
      entry(1, { before: { weight: 100, state: 'ready' }, after: undefined }),
    );
    expect(first).toEqual({
      ...entry(1),
      before: { state: 'ready', weight: 100 },
      after: null,
      seq: 1,
      prevHash: GENESIS,
      hash: first.hash,
    });
    expect(Object.keys(first.before as object)).toEqual(['state', 'weight']);
    expect(first.hash).toBe(expectedHash(first));
    const second = await ctx.store.audit.append(entry(2, { reason: null, result: 'refused' }));
    expect(second.seq).toBe(2);
    expect(second.prevHash).toBe(first.hash);
    expect(second.hash).toBe(expectedHash(second));
    expect(await ctx.store.audit.list()).toEqual([first, second]);
    expect(await ctx.store.audit.verify()).toEqual({ ok: true, count: 2 });
  });

  it('keeps a valid chain under 50 concurrent appends', async () => {
    const before = (await ctx.store.audit.list({ limit: 10_000 })).length;
    const appended = await Promise.all(
      Array.from({ length: 50 }, (_, i) => ctx.store.audit.append(entry(i))),
    );
    const seqs = appended.map((e) => e.seq).sort((a, b) => a - b);
    expect(seqs).toEqual(Array.from({ length: 50 }, (_, i) => before + 1 + i));
    expect(await ctx.store.audit.verify()).toEqual({ ok: true, count: before + 50 });
  });

  it('lists in order after a sequence number, with a limit', async () => {
    const all = await ctx.store.audit.list({ limit: 10_000 });
    expect(all.length).toBeGreaterThan(10);
    expect(await ctx.store.audit.list({ afterSeq: 5, limit: 3 })).toEqual(all.slice(5, 8));
    expect(await ctx.store.audit.list({ afterSeq: all.length })).toEqual([]);
    for (const [i, e] of all.entries()) {
      expect(e.seq).toBe(i + 1);
      expect(e.prevHash).toBe(i === 0 ? GENESIS : all[i - 1]?.hash);
    }
  });

  it('offers no way to change or remove entries', () => {
    const audit = ctx.store.audit as unknown as Record<string, unknown>;
    for (const name of ['update', 'delete', 'remove', 'set', 'truncate']) expect(audit[name]).toBeUndefined();
  });

  it('detects an edited row, a deleted row and a re-chained row', async () => {
    await withFreshStore(factory, 'audit-tamper', async (store, location) => {
      for (let i = 1; i <= 6; i += 1) await store.audit.append(entry(i));
      expect(await store.audit.verify()).toEqual({ ok: true, count: 6 });

      await location.raw('update audit_log set actor = ? where seq = ?', ['mallory', 3]);
      expect(await store.audit.verify()).toEqual({
        ok: false,
        seq: 3,
        reason: 'entry 3 was modified: its contents do not match its hash',
      });
      await location.raw('update audit_log set actor = ? where seq = ?', ['runbook:restart-web', 3]);
      expect(await store.audit.verify()).toEqual({ ok: true, count: 6 });

      await location.raw('update audit_log set after = ? where seq = ?', ['{"state":"ready"}', 2]);
      expect(await store.audit.verify()).toMatchObject({ ok: false, seq: 2 });
      await location.raw('update audit_log set after = ? where seq = ?', ['{"state":"drain","weight":0}', 2]);
      expect(await store.audit.verify()).toEqual({ ok: true, count: 6 });

      // Someone edits entry 4 and recomputes its hash: entry 5 no longer chains to it.
      const four = (await store.audit.list()).find((e) => e.seq === 4);
      if (four === undefined) throw new Error('entry 4 missing');
      const forged = { ...four, actor: 'mallory' };
      await location.raw('update audit_log set actor = ?, hash = ? where seq = ?', [
        'mallory',
        expectedHash(forged),
        4,
      ]);
      expect(await store.audit.verify()).toEqual({
        ok: false,
        seq: 5,
        reason: 'entry 5 does not chain to entry 4: its prevHash does not match',
      });
      await location.raw('update audit_log set actor = ?, hash = ? where seq = ?', [
        four.actor,
        four.hash,
        4,
      ]);
      expect(await store.audit.verify()).toEqual({ ok: true, count: 6 });

      await location.raw('delete from audit_log where seq = ?', [3]);
      expect(await store.audit.verify()).toEqual({
        ok: false,
        seq: 3,
        reason: 'entry 3 is missing: the log jumps from entry 2 to entry 4',
      });
      await location.raw('delete from audit_log where seq = ?', [1]);
      expect(await store.audit.verify()).toEqual({
        ok: false,
        seq: 1,
        reason: 'entry 1 is missing: the log starts at entry 2',
      });
    });
  });

  it('keeps one valid chain when several processes open a fresh database and append at once', async () => {
    const location = await factory('audit-procs');
    try {
      const appenders = ['child-a', 'child-b', 'child-c'].map((actor) => startAppender(location, 40, actor));
      await Promise.all(appenders.map((a) => a.ready));
      for (const a of appenders) a.release();
      await Promise.all(appenders.map((a) => a.done));
      const store = await location.open();
      try {
        expect(await store.audit.verify()).toEqual({ ok: true, count: 120 });
        const actors = new Set((await store.audit.list({ limit: 10_000 })).map((e) => e.actor));
        expect(actors).toEqual(new Set(['child-a', 'child-b', 'child-c']));
      } finally {
        await store.close();
      }
    } finally {
      await location.cleanup();
    }
  });
});
