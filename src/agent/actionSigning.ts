import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { errorMessage, SwasError } from '../core/index.js';
import type { ServerFrame } from './protocol.js';

/** The fields of an action request the server signs, in the order they are encoded. */
export interface SignedActionFields {
  /** The id of the agent the request is for (from its enrollment). */
  readonly agentId: string;
  /** The request id: random, used once. */
  readonly id: string;
  /** The name of an action in the agent's own allow-list. */
  readonly name: string;
  readonly timeoutMs: number;
  /** When the server issued the request, epoch milliseconds. */
  readonly issuedAt: number;
  /** After this the agent refuses the request, epoch milliseconds. */
  readonly expiresAt: number;
}

/** An action frame as it arrives; the signing fields are optional so an unsigned one can be refused with a reason. */
export type ActionFrame = Extract<ServerFrame, { type: 'action' }>;

/** How far the server's clock may be ahead of or behind the agent's. */
export const ACTION_CLOCK_SKEW_MS = 30_000;

/** The longest acceptance window (expiresAt - issuedAt) a request may carry; the server uses 60 s. */
export const MAX_ACTION_WINDOW_MS = 5 * 60_000;

/** Why the agent refused an action request without running anything. */
export type ActionRefusalReason =
  | 'no_pinned_key'
  | 'unsigned'
  | 'bad_signature'
  | 'wrong_agent'
  | 'bad_window'
  | 'not_yet_valid'
  | 'expired'
  | 'replayed'
  | 'unrecorded'
  | 'not_allowed';

/** The outcome of checking one request: run it, or refuse it with a reason and a message for logs and the server. */
export type ActionCheck =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: ActionRefusalReason; readonly message: string };

/** The server key an agent pinned at enrollment, and its own id, which requests must name. */
export interface PinnedServerKey {
  readonly agentId: string;
  readonly key: KeyObject;
}

const PAYLOAD_TAG = 'swas-action-v1';
const ED25519_SIGNATURE_BYTES = 64;

/**
 * The bytes the server signs and the agent verifies: a JSON array in a fixed order with a version tag, so
 * field boundaries cannot be shifted and a future encoding cannot be confused with this one.
 */
export function actionSigningPayload(fields: SignedActionFields): Buffer {
  const { agentId, id, name, timeoutMs, issuedAt, expiresAt } = fields;
  return Buffer.from(
    JSON.stringify([PAYLOAD_TAG, agentId, id, name, timeoutMs, issuedAt, expiresAt]),
    'utf8',
  );
}

/** `SHA256:<base64>` of a public key's DER encoding, for logs and docs (never the key itself). */
export function keyFingerprint(key: KeyObject): string {
  const der = key.export({ type: 'spki', format: 'der' });
  return `SHA256:${createHash('sha256').update(der).digest('base64').replace(/=+$/, '')}`;
}

/** Reads a PEM Ed25519 public key; throws a plain Error saying what is wrong with it. */
export function parseServerKey(pem: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (error) {
    throw new Error(`not a PEM public key: ${errorMessage(error)}`, { cause: error });
  }
  if (key.asymmetricKeyType !== 'ed25519')
    throw new Error(`an ${key.asymmetricKeyType ?? 'unknown'} key, not Ed25519`);
  return key;
}

/**
 * Checks signature, addressee and time window of an action request; no memory (replay is {@link ReplayGuard}'s).
 * The signature is checked first: until it verifies, nothing else in the frame is trusted.
 */
export function verifyActionRequest(
  frame: ActionFrame,
  pinned: PinnedServerKey | null,
  now: number,
): ActionCheck {
  const refuse = (reason: ActionRefusalReason, message: string): ActionCheck => ({
    ok: false,
    reason,
    message,
  });
  if (pinned === null)
    return refuse(
      'no_pinned_key',
      'this agent pinned no server key at enrollment (it enrolled before actions were signed), so it runs no ' +
        'action; re-enroll it (see docs/agents.md, "Signed action requests")',
    );
  const { agentId, issuedAt, expiresAt, signature } = frame;
  if (agentId === undefined || issuedAt === undefined || expiresAt === undefined || signature === undefined)
    return refuse(
      'unsigned',
      'the request is not signed (agentId, issuedAt, expiresAt and signature are required)',
    );
  const bytes = Buffer.from(signature, 'base64');
  const payload = actionSigningPayload({
    agentId,
    id: frame.id,
    name: frame.name,
    timeoutMs: frame.timeoutMs,
    issuedAt,
    expiresAt,
  });
  if (bytes.length !== ED25519_SIGNATURE_BYTES || !verify(null, payload, pinned.key, bytes))
    return refuse(
      'bad_signature',
      `the signature does not verify with the server key pinned at enrollment (${keyFingerprint(pinned.key)})`,
    );
  if (agentId !== pinned.agentId)
    return refuse(
      'wrong_agent',
      `the request is for agent id ${agentId}, and this agent is ${pinned.agentId}`,
    );
  if (expiresAt <= issuedAt || expiresAt - issuedAt > MAX_ACTION_WINDOW_MS)
    return refuse(
      'bad_window',
      `the request is valid for ${expiresAt - issuedAt} ms; at most ${MAX_ACTION_WINDOW_MS} ms is accepted`,
    );
  if (issuedAt > now + ACTION_CLOCK_SKEW_MS)
    return refuse(
      'not_yet_valid',
      `the request was issued ${issuedAt - now} ms in this agent's future (more than the ${ACTION_CLOCK_SKEW_MS} ms ` +
        'clock skew allowed); check the clocks of server and agent (NTP)',
    );
  if (now > expiresAt + ACTION_CLOCK_SKEW_MS)
    return refuse(
      'expired',
      `the request expired ${now - expiresAt} ms ago (${ACTION_CLOCK_SKEW_MS} ms clock skew allowed); ` +
        'if the server asked just now, check the clocks of server and agent (NTP)',
    );
  return { ok: true };
}

/**
 * Request ids seen, kept until their request expires, so a captured request cannot be sent again. Written
 * to the state directory before an action runs, so a replay right after an agent restart (after a reboot
 * action, say) is refused too.
 */
export class ReplayGuard {
  private readonly seenUntil = new Map<string, number>();

  private constructor(private readonly file: string | null) {}

  /** A guard kept in memory only (tests). */
  static inMemory(): ReplayGuard {
    return new ReplayGuard(null);
  }

  /** Loads the ids remembered in `file`; a missing or unreadable file starts empty (and says so through `onNote`). */
  static open(file: string, now: number, onNote: (note: string) => void): ReplayGuard {
    const guard = new ReplayGuard(file);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT')
        onNote(`cannot read ${file} (${errorMessage(error)}); starting with no remembered action requests`);
      return guard;
    }
    try {
      const parsed = JSON.parse(text) as unknown;
      if (typeof parsed === 'object' && parsed !== null)
        for (const [id, until] of Object.entries(parsed))
          if (typeof until === 'number' && until >= now) guard.seenUntil.set(id, until);
    } catch (error) {
      onNote(`${file} is not JSON (${errorMessage(error)}); starting with no remembered action requests`);
    }
    return guard;
  }

  /** Records `id` until `until`; false when it was already recorded (a replay). Throws when it cannot persist. */
  claim(id: string, until: number, now: number): boolean {
    for (const [seen, expiry] of this.seenUntil) if (expiry < now) this.seenUntil.delete(seen);
    if (this.seenUntil.has(id)) return false;
    this.seenUntil.set(id, until);
    if (this.file !== null) {
      const temp = `${this.file}.tmp`;
      try {
        writeFileSync(temp, JSON.stringify(Object.fromEntries(this.seenUntil)), { mode: 0o600 });
        renameSync(temp, this.file);
      } catch (error) {
        this.seenUntil.delete(id);
        throw new SwasError(
          'SWAS-AGENT-021',
          `cannot record action request ${id} in ${this.file}: ${errorMessage(error)}`,
        );
      }
    }
    return true;
  }
}

/** What an {@link ActionGate} consults. */
export interface ActionGateOptions {
  /** The key and agent id in force now (they follow the credential file). */
  readonly pinned: () => PinnedServerKey | null;
  readonly replay: ReplayGuard;
  /** Whether the agent's own allow-list holds the name. */
  readonly allows: (name: string) => boolean;
  readonly now: () => number;
}

/**
 * Decides whether an action request may run: signed by the pinned server key, for this agent, inside its
 * window, never seen before, and in the allow-list. Anything else is refused without running anything.
 */
export class ActionGate {
  constructor(private readonly options: ActionGateOptions) {}

  check(frame: ActionFrame): ActionCheck {
    const now = this.options.now();
    const verified = verifyActionRequest(frame, this.options.pinned(), now);
    if (!verified.ok) return verified;
    let fresh: boolean;
    try {
      fresh = this.options.replay.claim(frame.id, (frame.expiresAt ?? now) + ACTION_CLOCK_SKEW_MS, now);
    } catch (error) {
      // Without a record of it the request could be replayed: refuse rather than run unguarded.
      return {
        ok: false,
        reason: 'unrecorded',
        message: `${errorMessage(error)}; refused so it cannot be replayed`,
      };
    }
    if (!fresh)
      return {
        ok: false,
        reason: 'replayed',
        message: `request ${frame.id} was already received; a request runs once`,
      };
    if (!this.options.allows(frame.name))
      return {
        ok: false,
        reason: 'not_allowed',
        message: `action ${frame.name} is not in this agent's allow-list (agent.yaml actions:)`,
      };
    return { ok: true };
  }
}
