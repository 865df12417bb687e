import { createHash } from 'node:crypto';
import { errorMessage, STALE_NAN, type Labels, type SampleAppender } from '../core/index.js';
import type { ProbeContext, ProbeResult } from './types.js';

/** A probe ready to run on a schedule: who it is, how often, and the runner bound to its config. */
export interface ScheduledProbe {
  readonly name: string;
  readonly kind: string;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  /** Extra labels on every series of the probe (from its config). */
  readonly labels: Readonly<Record<string, string>>;
  /** A fingerprint of the probe's config: a probe whose fingerprint changes is restarted. */
  readonly fingerprint: string;
  run(ctx: ProbeContext): Promise<ProbeResult>;
}

/** The last result of a probe, as the API shows it. */
export interface ProbeStatus {
  readonly probe: string;
  readonly kind: string;
  readonly vantage: string;
  readonly at: number;
  readonly result: ProbeResult;
}

/** Options for {@link ProbeScheduler}. */
export interface ProbeSchedulerOptions {
  /** Where the probes run from: `server`, or an agent's name. Becomes the `vantage` label. */
  readonly vantage: string;
  readonly appender: SampleAppender;
  readonly now: () => number;
  /** Called after every run, e.g. to log a change from success to failure. */
  readonly onResult?: (status: ProbeStatus, previous: ProbeStatus | null) => void;
}

interface Running {
  readonly probe: ScheduledProbe;
  timer: NodeJS.Timeout | null;
  abort: AbortController | null;
  series: Set<string>;
}

/**
 * Runs probes on their intervals (each first run offset within its interval by a hash of its name, so
 * probes do not all fire together) and writes each result as `probe_success`, `probe_duration_seconds`
 * and the probe's own gauges, labelled `probe`, `kind`, `vantage` and the probe's labels. A run that is
 * still going when the next is due is not doubled. A removed probe's series get staleness markers.
 */
export class ProbeScheduler {
  private readonly running = new Map<string, Running>();
  private readonly statuses = new Map<string, ProbeStatus>();
  private stopped = false;

  constructor(private readonly options: ProbeSchedulerOptions) {}

  /** Replaces the probe set: new and changed probes start, removed ones stop and go stale. */
  setProbes(probes: readonly ScheduledProbe[]): void {
    const next = new Map(probes.map((p) => [p.name, p]));
    for (const [name, running] of this.running) {
      const replacement = next.get(name);
      if (replacement?.fingerprint === running.probe.fingerprint) continue;
      this.stopOne(running, true);
      this.running.delete(name);
      this.statuses.delete(name);
    }
    for (const probe of probes) {
      if (this.running.has(probe.name)) continue;
      const running: Running = { probe, timer: null, abort: null, series: new Set() };
      this.running.set(probe.name, running);
      this.schedule(running, firstDelay(probe));
    }
  }

  /** The last result of every probe, by name. */
  status(): ProbeStatus[] {
    return [...this.statuses.values()].sort((a, b) => (a.probe < b.probe ? -1 : 1));
  }

  /** Stops every probe; runs in flight are aborted. Series are left as they are (swas is stopping). */
  stop(): void {
    this.stopped = true;
    for (const running of this.running.values()) this.stopOne(running, false);
    this.running.clear();
  }

  /** Runs one probe now and records its result (also used by the schedule). */
  async runNow(name: string): Promise<ProbeStatus | null> {
    const running = this.running.get(name);
    return running === undefined ? null : this.runOnce(running);
  }

  private schedule(running: Running, delayMs: number): void {
    if (this.stopped) return;
    running.timer = setTimeout(() => {
      void this.runOnce(running).finally(() => {
        if (this.running.get(running.probe.name) === running)
          this.schedule(running, running.probe.intervalMs);
      });
    }, delayMs);
    running.timer.unref();
  }

  private async runOnce(running: Running): Promise<ProbeStatus | null> {
    if (running.abort !== null) return null;
    const { probe } = running;
    const abort = new AbortController();
    running.abort = abort;
    const timer = setTimeout(
      () => abort.abort(new Error(`timed out after ${probe.timeoutMs / 1000} s`)),
      probe.timeoutMs,
    );
    const started = this.options.now();
    let result: ProbeResult;
    try {
      result = await probe.run({ signal: abort.signal, now: this.options.now });
    } catch (error) {
      // Runners return failures as results; an exception is a bug, but still a failed probe, not a crash.
      result = {
        success: false,
        durationSeconds: (this.options.now() - started) / 1000,
        error: errorMessage(error),
        metrics: {},
      };
    } finally {
      clearTimeout(timer);
      running.abort = null;
    }
    if (this.running.get(probe.name) !== running) return null;
    const status: ProbeStatus = {
      probe: probe.name,
      kind: probe.kind,
      vantage: this.options.vantage,
      at: started,
      result,
    };
    this.record(running, status);
    const previous = this.statuses.get(probe.name) ?? null;
    this.statuses.set(probe.name, status);
    this.options.onResult?.(status, previous);
    return status;
  }

  private record(running: Running, status: ProbeStatus): void {
    const base = this.baseLabels(running);
    const values: Record<string, number> = {
      probe_success: status.result.success ? 1 : 0,
      probe_duration_seconds: status.result.durationSeconds,
      ...status.result.metrics,
    };
    const t = this.options.now();
    const seen = new Set<string>();
    for (const [name, value] of Object.entries(values)) {
      seen.add(name);
      this.options.appender.append({ ...base, __name__: name }, t, value);
    }
    // A gauge the probe no longer reports (say, a certificate expiry after a failed handshake) goes stale.
    for (const name of running.series)
      if (!seen.has(name)) this.options.appender.append({ ...base, __name__: name }, t, STALE_NAN);
    running.series = seen;
  }

  private baseLabels(running: Running): Labels {
    const { probe } = running;
    return { ...probe.labels, probe: probe.name, kind: probe.kind, vantage: this.options.vantage };
  }

  private stopOne(running: Running, markStale: boolean): void {
    if (running.timer !== null) clearTimeout(running.timer);
    running.abort?.abort(new Error('the probe was stopped'));
    if (!markStale) return;
    const base = this.baseLabels(running);
    const t = this.options.now();
    for (const name of running.series)
      this.options.appender.append({ ...base, __name__: name }, t, STALE_NAN);
  }
}

// Spreads first runs over the interval by the probe's name, the same way on every start.
function firstDelay(probe: ScheduledProbe): number {
  const hash = createHash('sha256').update(probe.name).digest().readUInt32BE(0);
  return hash % Math.max(1, Math.min(probe.intervalMs, 60_000));
}
