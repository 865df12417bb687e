import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { errorMessage } from '../core/index.js';

/** Who reads the TLS files, for messages: swas.yaml's server or agent.yaml's agent. */
export interface TlsFileOwner {
  /** The config file its paths are relative to. */
  readonly configFile: 'swas.yaml' | 'agent.yaml';
  /** The program that needs the key, as a sentence subject: `swas`, `the agent`. */
  readonly program: string;
  /** The OS user that must read the files: `the swas user`, `the agent's user`. */
  readonly user: string;
}

export const SERVER_TLS_OWNER: TlsFileOwner = {
  configFile: 'swas.yaml',
  program: 'swas',
  user: 'the swas user',
};
export const AGENT_TLS_OWNER: TlsFileOwner = {
  configFile: 'agent.yaml',
  program: 'the agent',
  user: 'the agent’s user',
};

/** A file's text, or null after telling `problem` why it cannot be read. */
export async function readTlsFile(
  file: string,
  owner: TlsFileOwner,
  problem: (message: string) => void,
): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EACCES'
          ? `permission denied (${owner.user} must be able to read it)`
          : errorMessage(error);
    problem(`cannot read ${file}: ${why}; paths are relative to ${owner.configFile}`);
    return null;
  }
}

/** The PEM certificate in `pem`, or null after telling `problem` what the file holds instead. */
export function parseCertificate(
  pem: string,
  file: string,
  problem: (message: string) => void,
): X509Certificate | null {
  try {
    return new X509Certificate(pem);
  } catch (error) {
    problem(
      `${file} holds no PEM certificate (${errorMessage(error)}); it should start with -----BEGIN CERTIFICATE-----`,
    );
    return null;
  }
}

/** The unencrypted PEM private key in `pem`, or null after telling `problem` what is wrong with it. */
export function parsePrivateKey(
  pem: string,
  file: string,
  owner: TlsFileOwner,
  problem: (message: string) => void,
): KeyObject | null {
  try {
    return createPrivateKey(pem);
  } catch (error) {
    problem(
      /ENCRYPTED/.test(pem)
        ? `${file} is an encrypted private key; ${owner.program} needs it unencrypted (openssl pkey -in ${file} -out key.pem) and readable only by ${owner.user}`
        : `${file} holds no PEM private key (${errorMessage(error)}); it should start with -----BEGIN PRIVATE KEY-----`,
    );
    return null;
  }
}

/** Why `key` cannot serve with `cert`, or null when it is the certificate's own key. */
export function keyMismatch(
  cert: X509Certificate,
  key: KeyObject,
  certFile: string,
  keyFile: string,
): string | null {
  if (cert.checkPrivateKey(key)) return null;
  return (
    `${keyFile} is not the private key of the certificate in ${certFile} ` +
    `(${cert.subject.replace(/\n/g, ', ')}); give the key the certificate was issued for`
  );
}
