import { runArgv, type ArgvOutcome } from './steps/runArgv.js';

/** Reboots hosts; locally by a configured command now, through agents later. */
export interface HostControl {
  /** True when `host` declares a reboot command. */
  has(host: string): boolean;
  /** Starts the reboot; resolves when the reboot command returns, not when the host is back. */
  reboot(host: string, signal: AbortSignal): Promise<ArgvOutcome>;
}

/** A host's reboot command as declared in swas.yaml `hosts:`. */
export interface LocalHostSpec {
  readonly reboot: readonly string[];
  readonly timeoutMs: number;
}

/** Runs each host's configured reboot argv on this machine (no shell), with a timeout. */
export class LocalHostControl implements HostControl {
  constructor(private readonly hosts: Readonly<Record<string, LocalHostSpec>>) {}

  has(host: string): boolean {
    return Object.hasOwn(this.hosts, host);
  }

  reboot(host: string, signal: AbortSignal): Promise<ArgvOutcome> {
    const spec = this.hosts[host];
    if (spec === undefined || !this.has(host))
      return Promise.resolve({
        ok: false,
        exitCode: null,
        error: `host "${host}" declares no reboot command; add hosts.${host}.reboot to swas.yaml`,
        output: '',
        durationMs: 0,
      });
    return runArgv(spec.reboot, spec.timeoutMs, signal);
  }
}
