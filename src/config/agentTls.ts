import type { ConfigIssue } from './ConfigError.js';
import { AGENT_TLS_OWNER, keyMismatch, parseCertificate, parsePrivateKey, readTlsFile } from './tlsFiles.js';
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
  const problem = (field: Field) => (message: string) => issues.push(at(field, message));
  const certFile = tls.cert_file;
  const keyFile = tls.key_file;
  const certPem =
    certFile === undefined ? null : await readTlsFile(certFile, AGENT_TLS_OWNER, problem('cert_file'));
  const keyPem =
    keyFile === undefined ? null : await readTlsFile(keyFile, AGENT_TLS_OWNER, problem('key_file'));
  const cert = certPem === null ? null : parseCertificate(certPem, certFile ?? '', problem('cert_file'));
  const key =
    keyPem === null ? null : parsePrivateKey(keyPem, keyFile ?? '', AGENT_TLS_OWNER, problem('key_file'));
  const mismatch =
    cert === null || key === null ? null : keyMismatch(cert, key, certFile ?? '', keyFile ?? '');
  if (mismatch !== null) issues.push(at('key_file', mismatch));
}
