import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { actionSigningPayload, keyFingerprint, type SignedActionFields } from '../agent/index.js';
import { errorMessage, SwasError } from '../core/index.js';

/** The signing key's file name in the data directory. */
export const AGENT_SIGNING_KEY_FILE = 'agent-signing-key.pem';

/** How long an agent accepts a signed action request after it was issued. */
export const ACTION_REQUEST_TTL_MS = 60_000;

const KEY_FILE_HINT =
  'restore it from a backup of the data directory, or delete it to make a new key (every agent must then be enrolled again)';

/**
 * The server's Ed25519 key that signs action requests to agents. Agents pin the public key at enrollment,
 * so the server can prove a request is its own although it stores only hashes of agent credentials. The
 * private key stays in this object (and `<data_dir>/agent-signing-key.pem`, mode 0600): it is never logged,
 * serialised or sent.
 */
export class AgentActionSigner {
  readonly #privateKey: KeyObject;
  /** The public key (SPKI PEM) agents pin. */
  readonly publicKeyPem: string;
  /** `SHA256:…` of the public key, for logs. */
  readonly fingerprint: string;

  private constructor(privateKey: KeyObject) {
    this.#privateKey = privateKey;
    const publicKey = createPublicKey(privateKey);
    this.publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    this.fingerprint = keyFingerprint(publicKey);
  }

  /**
   * Reads the key from `file`, or makes one and writes it there (mode 0600) on the first start. A file
   * that is not an Ed25519 private key stops the server: a silently new key would strand every agent.
   */
  static async loadOrCreate(file: string, logger: Logger): Promise<AgentActionSigner> {
    const existing = await readKeyFile(file);
    if (existing !== null) {
      const signer = new AgentActionSigner(parsePrivateKey(existing, file));
      const mode = (await stat(file)).mode & 0o777;
      if ((mode & 0o077) !== 0)
        logger.warn(
          { file, mode: mode.toString(8) },
          'the agent signing key is readable by other users; run chmod 600 on it',
        );
      logger.info({ file, fingerprint: signer.fingerprint }, 'agent signing key loaded');
      return signer;
    }
    const { privateKey } = generateKeyPairSync('ed25519');
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    try {
      await writeFile(file, pem, { mode: 0o600, flag: 'wx' });
    } catch (error) {
      // Another process sharing the data directory made it first: use theirs.
      if ((error as NodeJS.ErrnoException).code === 'EEXIST')
        return AgentActionSigner.loadOrCreate(file, logger);
      throw new SwasError(
        'SWAS-AGENT-020',
        `cannot write the agent signing key ${file}: ${errorMessage(error)}; make the data directory writable`,
      );
    }
    const signer = new AgentActionSigner(privateKey);
    logger.info({ file, fingerprint: signer.fingerprint }, 'agent signing key created');
    return signer;
  }

  /** A key in memory only, for a hub without a data directory (tests); agents enrolled elsewhere refuse it. */
  static ephemeral(): AgentActionSigner {
    return new AgentActionSigner(generateKeyPairSync('ed25519').privateKey);
  }

  /** The base64 Ed25519 signature of an action request. */
  sign(fields: SignedActionFields): string {
    return sign(null, actionSigningPayload(fields), this.#privateKey).toString('base64');
  }

  /** What logging or JSON shows of a signer: never the private key. */
  toJSON(): { fingerprint: string } {
    return { fingerprint: this.fingerprint };
  }
}

async function readKeyFile(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new SwasError(
      'SWAS-AGENT-020',
      `cannot read the agent signing key ${file}: ${errorMessage(error)}; check its owner and mode (0600, owned by the swas user)`,
    );
  }
}

function parsePrivateKey(pem: string, file: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (error) {
    throw new SwasError(
      'SWAS-AGENT-020',
      `${file} is not a PEM private key (${errorMessage(error)}); ${KEY_FILE_HINT}`,
    );
  }
  if (key.asymmetricKeyType !== 'ed25519')
    throw new SwasError(
      'SWAS-AGENT-020',
      `${file} holds an ${key.asymmetricKeyType ?? 'unknown'} key, not Ed25519; ${KEY_FILE_HINT}`,
    );
  return key;
}
