import { createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ACTION_CLOCK_SKEW_MS,
  ActionGate,
  actionSigningPayload,
  MAX_ACTION_WINDOW_MS,
  parseServerKey,
  ReplayGuard,
  verifyActionRequest,
  type ActionFrame,
  type PinnedServerKey,
  type SignedActionFields,
} from './actionSigning.js';

const NOW = 1_800_000_000_000;
const serverKey = generateKeyPairSync('ed25519').privateKey;
const otherKey = generateKeyPairSync('ed25519').privateKey;
const pinned: PinnedServerKey = { agentId: '7', key: createPublicKey(serverKey) };

function signed(fields: Partial<SignedActionFields> = {}, key: KeyObject = serverKey): ActionFrame {
  const f: SignedActionFields = {
    agentId: '7',
    id: 'req-1',
    name: 'restart_app',
    timeoutMs: 5000,
    issuedAt: NOW,
    expiresAt: NOW + 60_000,
    ...fields,
  };
  return { type: 'action', ...f, signature: sign(null, actionSigningPayload(f), key).toString('base64') };
}

describe('verifyActionRequest', () => {
  it('accepts a request signed by the pinned key for this agent inside its window', () => {
    expect(verifyActionRequest(signed(), pinned, NOW)).toEqual({ ok: true });
  });

  it('refuses an unsigned request and any request when no key is pinned', () => {
    const unsigned: ActionFrame = { type: 'action', id: 'req-1', name: 'restart_app', timeoutMs: 5000 };
    expect(verifyActionRequest(unsigned, pinned, NOW)).toMatchObject({ ok: false, reason: 'unsigned' });
    const { signature: _dropped, ...noSignature } = signed();
    expect(verifyActionRequest(noSignature, pinned, NOW)).toMatchObject({ ok: false, reason: 'unsigned' });
    expect(verifyActionRequest(signed(), null, NOW)).toMatchObject({
      ok: false,
      reason: 'no_pinned_key',
      message: expect.stringContaining('re-enroll') as unknown,
    });
  });

  it('refuses a request with any signed field changed after signing', () => {
    const good = signed();
    for (const tampered of [
      { ...good, name: 'reboot' },
      { ...good, id: 'req-2' },
      { ...good, agentId: '8' },
      { ...good, timeoutMs: 600_000 },
      { ...good, issuedAt: NOW + 1 },
      { ...good, expiresAt: NOW + 120_000 },
    ])
      expect(verifyActionRequest(tampered, pinned, NOW)).toMatchObject({
        ok: false,
        reason: 'bad_signature',
        message: expect.stringMatching(
          /does not verify with the server key pinned at enrollment \(SHA256:/,
        ) as unknown,
      });
  });

  it('refuses a signature by another key, and garbage in the signature field', () => {
    expect(verifyActionRequest(signed({}, otherKey), pinned, NOW)).toMatchObject({ reason: 'bad_signature' });
    for (const signature of ['', 'not base64 at all!', Buffer.alloc(64).toString('base64'), 'AAAA'])
      expect(verifyActionRequest({ ...signed(), signature }, pinned, NOW)).toMatchObject({
        reason: 'bad_signature',
      });
  });

  it('refuses a correctly signed request for another agent', () => {
    expect(verifyActionRequest(signed({ agentId: '8' }), pinned, NOW)).toEqual({
      ok: false,
      reason: 'wrong_agent',
      message: 'the request is for agent id 8, and this agent is 7',
    });
  });

  it('allows the clock skew at both ends of the window and nothing past it', () => {
    const frame = signed();
    expect(verifyActionRequest(frame, pinned, NOW - ACTION_CLOCK_SKEW_MS)).toEqual({ ok: true });
    expect(verifyActionRequest(frame, pinned, NOW - ACTION_CLOCK_SKEW_MS - 1)).toMatchObject({
      reason: 'not_yet_valid',
      message: expect.stringContaining('NTP') as unknown,
    });
    expect(verifyActionRequest(frame, pinned, NOW + 60_000 + ACTION_CLOCK_SKEW_MS)).toEqual({ ok: true });
    expect(verifyActionRequest(frame, pinned, NOW + 60_000 + ACTION_CLOCK_SKEW_MS + 1)).toMatchObject({
      reason: 'expired',
      message: expect.stringContaining('expired 30001 ms ago') as unknown,
    });
  });

  it('refuses a window that is empty, inverted or longer than the limit', () => {
    for (const expiresAt of [NOW, NOW - 1, NOW + MAX_ACTION_WINDOW_MS + 1])
      expect(verifyActionRequest(signed({ expiresAt }), pinned, NOW)).toMatchObject({ reason: 'bad_window' });
    expect(verifyActionRequest(signed({ expiresAt: NOW + MAX_ACTION_WINDOW_MS }), pinned, NOW)).toEqual({
      ok: true,
    });
  });

  it('encodes fields so a value cannot move into its neighbour', () => {
    const a = actionSigningPayload({
      agentId: '7',
      id: 'x","y',
      name: 'z',
      timeoutMs: 1,
      issuedAt: 2,
      expiresAt: 3,
    });
    const b = actionSigningPayload({
      agentId: '7',
      id: 'x',
      name: 'y","z',
      timeoutMs: 1,
      issuedAt: 2,
      expiresAt: 3,
    });
    expect(a.equals(b)).toBe(false);
  });
});

describe('parseServerKey', () => {
  it('takes an Ed25519 public key and names what is wrong with anything else', () => {
    const pem = createPublicKey(serverKey).export({ type: 'spki', format: 'pem' }).toString();
    expect(parseServerKey(pem).asymmetricKeyType).toBe('ed25519');
    expect(() => parseServerKey('hello')).toThrow(/not a PEM public key/);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey;
    expect(() => parseServerKey(rsa.export({ type: 'spki', format: 'pem' }).toString())).toThrow(
      /an rsa key, not Ed25519/,
    );
  });
});

describe('ReplayGuard and ActionGate', () => {
  const dir = mkdtempSync(join(tmpdir(), 'swas-replay-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('remembers request ids until they expire, across a restart (the file, mode 0600)', () => {
    const file = join(dir, 'action-requests.json');
    const guard = ReplayGuard.open(file, NOW, () => undefined);
    expect(guard.claim('a', NOW + 1000, NOW)).toBe(true);
    expect(guard.claim('a', NOW + 1000, NOW + 500)).toBe(false);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const reopened = ReplayGuard.open(file, NOW + 500, () => undefined);
    expect(reopened.claim('a', NOW + 1000, NOW + 500)).toBe(false);
    // Past its expiry the id is forgotten (the request itself would be refused as expired by then).
    expect(reopened.claim('a', NOW + 5000, NOW + 1001)).toBe(true);
    expect(Object.keys(JSON.parse(readFileSync(file, 'utf8')) as object)).toEqual(['a']);
  });

  it('starts empty, saying why, when the file is not JSON', () => {
    const file = join(dir, 'broken.json');
    writeFileSync(file, '{not json');
    const notes: string[] = [];
    const guard = ReplayGuard.open(file, NOW, (note) => notes.push(note));
    expect(notes).toEqual([expect.stringContaining('broken.json is not JSON') as unknown]);
    expect(guard.claim('a', NOW + 1000, NOW)).toBe(true);
  });

  it('refuses a request it cannot record, so it cannot be replayed later', () => {
    const guard = ReplayGuard.open(join(dir, 'missing-dir', 'ids.json'), NOW, () => undefined);
    const gate = new ActionGate({ pinned: () => pinned, replay: guard, allows: () => true, now: () => NOW });
    expect(gate.check(signed())).toMatchObject({
      ok: false,
      reason: 'unrecorded',
      message: expect.stringContaining('cannot record action request req-1') as unknown,
    });
  });

  it('checks signature, then replay, then the allow-list', () => {
    const gate = new ActionGate({
      pinned: () => pinned,
      replay: ReplayGuard.inMemory(),
      allows: (name) => name === 'restart_app',
      now: () => NOW,
    });
    const unsignedUnknown: ActionFrame = { type: 'action', id: 'u', name: 'rm-rf', timeoutMs: 1 };
    expect(gate.check(unsignedUnknown)).toMatchObject({ reason: 'unsigned' });
    expect(gate.check(signed())).toEqual({ ok: true });
    expect(gate.check(signed())).toMatchObject({ reason: 'replayed' });
    expect(gate.check(signed({ id: 'req-9', name: 'rm-rf' }))).toEqual({
      ok: false,
      reason: 'not_allowed',
      message: "action rm-rf is not in this agent's allow-list (agent.yaml actions:)",
    });
  });
});
