import { isAbsolute, resolve } from 'node:path';
import { createSecureContext } from 'node:tls';
import { z } from 'zod';
import { errorMessage } from '../core/index.js';
import type { ConfigIssue } from './ConfigError.js';
import { keyMismatch, parseCertificate, parsePrivateKey, readTlsFile, SERVER_TLS_OWNER } from './tlsFiles.js';
import type { YamlSource } from './yamlSource.js';

/** TLS protocol versions the server may accept as its lowest. */
export const TLS_MIN_VERSIONS = ['TLSv1.2', 'TLSv1.3'] as const;

/** `server.tls` in swas.yaml: serve HTTPS (and WSS for agents) on server.listen. */
export const serverTlsSchema = z.strictObject({
  cert_file: z
    .string()
    .min(1)
    .describe('PEM certificate (with its intermediate chain), relative to this file; re-read on reload'),
  key_file: z
    .string()
    .min(1)
    .describe(
      'PEM private key of cert_file, unencrypted, relative to this file; readable by the swas user only',
    ),
  client_ca_file: z
    .string()
    .min(1)
    .optional()
    .describe(
      'PEM CA bundle; when set, every client (agents, CLI, browsers) must present a certificate it signed',
    ),
  min_version: z.enum(TLS_MIN_VERSIONS).default('TLSv1.2').describe('the oldest TLS version accepted'),
});

/** `server.tls` as written, after validation. */
export type ServerTlsConfig = z.output<typeof serverTlsSchema>;

/** The server's TLS material, read and checked at load time so a reload with broken files is rejected. */
export interface ServerTls {
  /** Absolute paths, for messages. */
  readonly certFile: string;
  readonly keyFile: string;
  readonly clientCaFile: string | null;
  readonly cert: string;
  readonly key: string;
  /** The client CA bundle; present exactly when client certificates are required. */
  readonly clientCa: string | null;
  readonly minVersion: (typeof TLS_MIN_VERSIONS)[number];
  /** When the certificate stops being valid (ms since the epoch). */
  readonly notAfter: number;
  readonly subject: string;
}

/** Where a `server.tls` field is in swas.yaml, for issues. */
type Locate = (field: keyof ServerTlsConfig, message: string) => ConfigIssue;

/**
 * Reads and checks the files of `server.tls` (paths relative to `dir`): readable, a PEM certificate, a
 * matching unencrypted key, a usable client CA. Problems go to `issues`; an expired or not yet valid
 * certificate goes to `warnings` (clients will refuse it, but the operator may be mid-renewal).
 */
export async function loadServerTls(
  tls: ServerTlsConfig | undefined,
  dir: string,
  source: YamlSource,
  issues: ConfigIssue[],
  warnings: ConfigIssue[],
  now: number = Date.now(),
): Promise<ServerTls | null> {
  if (tls === undefined) return null;
  const at: Locate = (field, message) => {
    const pos = source.locate(['server', 'tls', field]);
    return {
      file: source.file,
      line: pos?.line ?? null,
      column: pos?.column ?? null,
      field: `server.tls.${field}`,
      message,
    };
  };
  const path = (file: string): string => (isAbsolute(file) ? file : resolve(dir, file));
  const certFile = path(tls.cert_file);
  const keyFile = path(tls.key_file);
  const clientCaFile = tls.client_ca_file === undefined ? null : path(tls.client_ca_file);
  const before = issues.length;
  const problem = (field: keyof ServerTlsConfig) => (message: string) => issues.push(at(field, message));
  const owner = SERVER_TLS_OWNER;
  const cert = await readTlsFile(certFile, owner, problem('cert_file'));
  const key = await readTlsFile(keyFile, owner, problem('key_file'));
  const clientCa =
    clientCaFile === null ? null : await readTlsFile(clientCaFile, owner, problem('client_ca_file'));

  const x509 = cert === null ? null : parseCertificate(cert, certFile, problem('cert_file'));
  const keyObject = key === null ? null : parsePrivateKey(key, keyFile, owner, problem('key_file'));
  if (clientCa !== null) parseCertificate(clientCa, clientCaFile ?? '', problem('client_ca_file'));
  const mismatch =
    x509 === null || keyObject === null ? null : keyMismatch(x509, keyObject, certFile, keyFile);
  if (mismatch !== null) issues.push(at('key_file', mismatch));
  if (issues.length > before || x509 === null || cert === null || key === null) return null;
  try {
    createSecureContext({
      cert,
      key,
      ...(clientCa === null ? {} : { ca: clientCa }),
      minVersion: tls.min_version,
    });
  } catch (error) {
    issues.push(
      at('cert_file', `Node.js cannot serve TLS with ${certFile} and ${keyFile}: ${errorMessage(error)}`),
    );
    return null;
  }
  const notAfter = Date.parse(x509.validTo);
  const notBefore = Date.parse(x509.validFrom);
  if (notAfter <= now)
    warnings.push(
      at(
        'cert_file',
        `the certificate in ${certFile} expired at ${new Date(notAfter).toISOString()}; agents, the CLI and ` +
          'browsers will refuse it: renew it and reload (SIGHUP or POST /-/reload)',
      ),
    );
  else if (notBefore > now)
    warnings.push(
      at(
        'cert_file',
        `the certificate in ${certFile} is not valid before ${new Date(notBefore).toISOString()}; clients will ` +
          "refuse it until then: check this host's clock or the certificate",
      ),
    );
  const material = {
    certFile,
    keyFile,
    clientCaFile,
    cert,
    clientCa,
    minVersion: tls.min_version,
    notAfter,
    subject: x509.subject.replace(/\n/g, ', '),
  };
  // Not enumerable: a logged or serialised config must never carry the private key.
  return Object.freeze(
    Object.defineProperty(material, 'key', { value: key, enumerable: false }) as ServerTls,
  );
}
