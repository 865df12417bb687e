import type { ServiceControl, ServiceOutcome, ServiceVerb } from './ports.js';
import { runArgv } from './steps/runArgv.js';

/** A service's commands as declared in swas.yaml. */
export interface LocalServiceSpec {
  readonly restart?: readonly string[];
  readonly start?: readonly string[];
  readonly stop?: readonly string[];
  readonly timeoutMs: number;
}

/** Runs service commands declared in config on this machine (argv, no shell), with a timeout. */
export class LocalServiceControl implements ServiceControl {
  constructor(private readonly services: Readonly<Record<string, LocalServiceSpec>>) {}

  has(service: string, verb: ServiceVerb): boolean {
    return this.services[service]?.[verb] !== undefined;
  }

  run(service: string, verb: ServiceVerb, signal: AbortSignal): Promise<ServiceOutcome> {
    const spec = this.services[service];
    const argv = spec?.[verb];
    if (spec === undefined || argv === undefined || argv[0] === undefined) {
      return Promise.resolve({
        ok: false,
        error: `service "${service}" declares no ${verb} command`,
        output: '',
        durationMs: 0,
      });
    }
    return runArgv(argv, spec.timeoutMs, signal);
  }
}
