import { checkHttpExpectations, type HttpExpectConfig } from './httpExpect.js';
import { sendHttpRequest, type HttpExchange, type HttpRequestConfig } from './httpRequest.js';
import { startDeadline } from './netConnect.js';
import type { ProbeContext, ProbeResult, ProbeRunner } from './types.js';

/** An HTTP(S) probe with defaults applied (the output of the config schema `httpProbeSchema`). */
export interface HttpProbeConfig extends HttpRequestConfig {
  readonly kind: 'http';
  /** Milliseconds the whole probe may take. */
  readonly timeout: number;
  readonly expect: HttpExpectConfig;
}

/** Gauges from one exchange: status, size, redirects, TLS, phase timings, certificate expiry. */
export function httpExchangeMetrics(exchange: HttpExchange): Record<string, number> {
  const metrics: Record<string, number> = {
    probe_http_status_code: exchange.response?.status ?? 0,
    probe_http_content_length: exchange.response?.contentLength ?? 0,
    probe_http_redirects: exchange.redirects,
    probe_http_ssl: exchange.ssl ? 1 : 0,
    probe_http_duration_resolve_seconds: exchange.phases.resolve,
    probe_http_duration_connect_seconds: exchange.phases.connect,
    probe_http_duration_tls_seconds: exchange.phases.tls,
    probe_http_duration_processing_seconds: exchange.phases.processing,
    probe_http_duration_transfer_seconds: exchange.phases.transfer,
  };
  if (exchange.certificate !== null)
    metrics.probe_tls_cert_expiry_timestamp_seconds = exchange.certificate.validToMs / 1000;
  return metrics;
}

/** Sends the request, follows redirects, checks every expectation; failures are results, never exceptions. */
export const runHttpProbe: ProbeRunner<HttpProbeConfig> = async (
  config: HttpProbeConfig,
  ctx: ProbeContext,
) => {
  const started = performance.now();
  const deadline = startDeadline(ctx, config.timeout);
  try {
    const exchange = await sendHttpRequest(config, deadline);
    const error = checkHttpExpectations(config.expect, exchange, ctx.now());
    return result(started, error, httpExchangeMetrics(exchange));
  } catch (error) {
    return result(started, `${config.method} ${config.url}: ${(error as Error).message}`, {});
  }
};

function result(started: number, error: string | null, metrics: Record<string, number>): ProbeResult {
  return { success: error === null, durationSeconds: (performance.now() - started) / 1000, error, metrics };
}
