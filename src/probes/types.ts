/** What one probe run found; the server (or an agent) turns it into `probe_*` series. */
export interface ProbeResult {
  readonly success: boolean;
  /** Wall time of the whole probe (all phases, all scenario steps), in seconds. */
  readonly durationSeconds: number;
  /** Why it failed — the first failed assertion or the error, with where (step, phase) — or null. */
  readonly error: string | null;
  /**
   * Further gauges by metric name, e.g. `probe_http_status_code`, `probe_tls_cert_expiry_timestamp_seconds`,
   * `probe_dns_answer_count`; each becomes a series labelled like `probe_success`.
   */
  readonly metrics: Readonly<Record<string, number>>;
}

/** What a probe run may use. */
export interface ProbeContext {
  /** Aborted when the probe's timeout passes or the runner stops. */
  readonly signal: AbortSignal;
  /** Epoch ms; passed in so tests and certificate-expiry maths use one clock. */
  readonly now: () => number;
}

/** Runs one kind of probe. Expected failures are results (`success: false`), never exceptions. */
export type ProbeRunner<C> = (config: C, ctx: ProbeContext) => Promise<ProbeResult>;
