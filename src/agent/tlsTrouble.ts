import type { AgentLogger } from './agentLogger.js';

const UNTRUSTED =
  "the server's TLS certificate is not trusted; set tls.ca_file in agent.yaml to the CA that signed it";
const CLIENT_CERT_REFUSED =
  'the server requires a client certificate (server.tls.client_ca_file) and got none it accepts; set ' +
  'tls.cert_file and tls.key_file in agent.yaml to a certificate signed by that CA';

// Node's and OpenSSL's codes for a TLS handshake the agent or the server refused, and what to do about each.
const TLS_ADVICE: Readonly<Record<string, string>> = {
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: UNTRUSTED,
  SELF_SIGNED_CERT_IN_CHAIN: UNTRUSTED,
  DEPTH_ZERO_SELF_SIGNED_CERT: UNTRUSTED,
  UNABLE_TO_GET_ISSUER_CERT: UNTRUSTED,
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: UNTRUSTED,
  CERT_UNTRUSTED: UNTRUSTED,
  CERT_SIGNATURE_FAILURE: UNTRUSTED,
  CERT_HAS_EXPIRED:
    "the server's TLS certificate has expired; renew the certificate in the server's server.tls.cert_file " +
    "and reload swas (or check this host's clock)",
  CERT_NOT_YET_VALID:
    "the server's TLS certificate is not valid yet; check this host's clock and the server's server.tls.cert_file",
  ERR_TLS_CERT_ALTNAME_INVALID:
    "the server's TLS certificate does not name the host in agent.yaml `server`; use a URL host the " +
    'certificate names (its subjectAltName), or reissue the server.tls certificate for that host',
  ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED: CLIENT_CERT_REFUSED,
  ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE:
    'the server refused the TLS handshake; if it requires client certificates (server.tls.client_ca_file), ' +
    'set tls.cert_file and tls.key_file in agent.yaml to a certificate signed by that CA',
  ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE: CLIENT_CERT_REFUSED,
  ERR_SSL_TLSV1_ALERT_UNKNOWN_CA: CLIENT_CERT_REFUSED,
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED:
    "the server refused this agent's client certificate as expired; renew tls.cert_file and restart the agent",
};

/** A TLS failure talking to the server: Node's error code, its message, and what the operator should do. */
export interface TlsTrouble {
  readonly code: string;
  readonly error: string;
  readonly advice: string;
}

/** What to do about a TLS failure (looked up by the error's code, following causes); null for other errors. */
export function tlsTroubleOf(error: unknown): TlsTrouble | null {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    let code = (e as NodeJS.ErrnoException).code;
    // TLS 1.2 servers answer a missing client certificate with a bare handshake_failure alert (EPROTO).
    if (code === 'EPROTO' && /alert handshake failure/.test(e.message))
      code = 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE';
    const advice = code === undefined ? undefined : TLS_ADVICE[code];
    if (code !== undefined && advice !== undefined)
      return { code, error: readableTlsError(e.message), advice };
  }
  return null;
}

// OpenSSL's messages carry its internals: "80EC…:error:0A00045C:SSL routines:ssl3_read_bytes:tlsv13 alert
// certificate required:../deps/…:SSL alert number 116"; the reason is the part after the function name.
function readableTlsError(message: string): string {
  const reason = /:SSL routines:[^:]*:([^:]+):/.exec(message)?.[1];
  return reason ?? message.split('\n')[0] ?? message;
}

/**
 * Logs a TLS failure's advice at warn, once per distinct code until {@link TlsTroubleLog.reset}: a
 * misconfigured agent retries forever, and one clear line beats the same line every backoff step.
 */
export class TlsTroubleLog {
  private readonly seen = new Set<string>();

  constructor(private readonly logger: AgentLogger) {}

  /** Logs `error` if it is a TLS failure not logged yet; returns whether it was a TLS failure. */
  note(error: unknown, doing: string, url: string): boolean {
    const trouble = tlsTroubleOf(error);
    if (trouble === null) return false;
    if (this.seen.has(trouble.code)) return true;
    this.seen.add(trouble.code);
    this.logger.warn(
      { code: trouble.code, error: trouble.error, url },
      `${doing}: ${trouble.advice} (${trouble.code}: ${trouble.error}); retrying with backoff`,
    );
    return true;
  }

  /** Forgets what was logged, e.g. after a successful connect, so a new failure is logged again. */
  reset(): void {
    this.seen.clear();
  }
}
