import { performance } from 'node:perf_hooks';
import {
  openConnection,
  probeResult,
  splitHostPort,
  startDeadline,
  type TlsClientConfig,
} from './netConnect.js';
import type { ProbeRunner } from './types.js';

/** A `tls` probe: handshake with any TLS service and check trust, name and certificate expiry. */
export interface TlsProbeConfig extends TlsClientConfig {
  readonly kind: 'tls';
  /** `host:port` of the TLS service. */
  readonly target: string;
  /** Milliseconds the whole probe may take. */
  readonly timeout: number;
}

/**
 * Completes a TLS handshake with the target and judges its certificate. Gauges: `probe_tls_handshake_seconds`,
 * `probe_tls_cert_expiry_timestamp_seconds` (leaf), `probe_ssl_earliest_cert_expiry` (whole chain),
 * `probe_tcp_connect_seconds`, `probe_dns_lookup_time_seconds`, `probe_ip_protocol`.
 */
export const runTlsProbe: ProbeRunner<TlsProbeConfig> = async (config, ctx) => {
  const start = performance.now();
  const target = splitHostPort(config.target);
  if (target === null) {
    return probeResult(
      start,
      `tls probe target "${config.target}" is not host:port; write it like db.internal:5432`,
      {},
    );
  }
  const deadline = startDeadline(ctx, config.timeout);
  const opened = await openConnection({ target, tls: config, deadline, now: ctx.now });
  if (!opened.ok) return probeResult(start, opened.error, opened.metrics);
  opened.socket.destroy();
  return probeResult(start, null, opened.metrics);
};
