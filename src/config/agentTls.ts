import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { errorMessage } from '../core/index.js';
import type { ConfigIssue } from './ConfigError.js';
import type { YamlSource } from './yamlSource.js';

/** agent.yaml `tls:` client certificate paths, already resolved against the file's directory. */
export interface AgentTlsFiles {
  readonly cert_file?: string | undefined;
  readonly key_file?: string | undefined;
}

type Field = keyof AgentTlsFiles;

/**
 * Checks the client certificate of agent.yaml `tls:` at load time, so a broken one stops the agent at start
 * with file:line instead of failing every connect attempt: both files readable and PEM, the key unencrypted
 * and the certificate's own. Problems go to `issues`. (`tls.ca_file` is read when the agent starts.)
 */
export async function checkAgentTlsFiles(
  tls: AgentTlsFiles,
  source: YamlSource,
  issues: ConfigIssue[],
): Promise<void> {
  const at = (field: Field, message: string): ConfigIssue => {
    const pos = source.locate(['tls', field]);
    return {
      file: source.file,
      line: pos?.line ?? null,
      column: pos?.column ?? null,
      field: `tls.${field}`,
      message,
    };
  };
  const read = async (field: Field): Promise<string | null> => {
    const file = tls[field];
    if (file === undefined) return null;
    try {
      return await readFile(file, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const why =
        code === 'ENOENT'
          ? 'no such file'
          : code === 'EACCES'
            ? 'permission denied (the agent’s user must be able to read it)'
            : errorMessage(error);
      issues.push(at(field, `cannot read ${file}: ${why}; paths are relative to agent.yaml`));
      return null;
    }
  };
  const certPem = await read('cert_file');
  const keyPem = await read('key_file');
  const cert =
    certPem === null
      ? null
      : certificate(certPem, tls.cert_file ?? '', (m) => issues.push(at('cert_file', m)));
  const key =
    keyPem === null ? null : privateKey(keyPem, tls.key_file ?? '', (m) => issues.push(at('key_file', m)));
  if (cert !== null && key !== null && !cert.checkPrivateKey(key))
    issues.push(
      at(
        'key_file',
        `${tls.key_file} is not the private key of the certificate in ${tls.cert_file} ` +
          `(${cert.subject.replace(/\n/g, ', ')}); give the key the certificate was issued for`,
      ),
    );
}

function certificate(pem: string, file: string, problem: (message: string) => void): X509Certificate | null {
  try {
    return new X509Certificate(pem);
  } catch (error) {
    problem(
      `${file} holds no PEM certificate (${errorMessage(error)}); it should start with -----BEGIN CERTIFICATE-----`,
    );
    return null;
  }
}

function privateKey(pem: string, file: string, problem: (message: string) => void): KeyObject | null {
  try {
    return createPrivateKey(pem);
  } catch (error) {
    problem(
      /ENCRYPTED/.test(pem)
        ? `${file} is an encrypted private key; the agent needs it unencrypted (openssl pkey -in ${file} -out key.pem) and readable only by the agent's user`
        : `${file} holds no PEM private key (${errorMessage(error)}); it should start with -----BEGIN PRIVATE KEY-----`,
    );
    return null;
  }
}
