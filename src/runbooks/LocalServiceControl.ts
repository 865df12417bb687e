import { spawn } from 'node:child_process';
import type { ServiceControl, ServiceOutcome, ServiceVerb } from './ports.js';

/** A service's commands as declared in swas.yaml. */
export interface LocalServiceSpec {
  readonly restart?: readonly string[];
  readonly start?: readonly string[];
  readonly stop?: readonly string[];
  readonly timeoutMs: number;
}

const OUTPUT_LIMIT = 64 * 1024;

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
    const started = performance.now();
    return new Promise((resolve) => {
      let output = '';
      let settled = false;
      const child = spawn(argv[0] ?? '', argv.slice(1), {
        stdio: ['ignore', 'pipe', 'pipe'],
        signal,
        timeout: spec.timeoutMs,
        killSignal: 'SIGKILL',
      });
      const collect = (chunk: Buffer) => {
        output = (output + chunk.toString()).slice(-OUTPUT_LIMIT);
      };
      child.stdout.on('data', collect);
      child.stderr.on('data', collect);
      const done = (outcome: ServiceOutcome) => {
        if (settled) return;
        settled = true;
        resolve(outcome);
      };
      const elapsed = () => Math.round(performance.now() - started);
      child.on('error', (error) =>
        done({
          ok: false,
          error: `cannot run ${argv.join(' ')}: ${error.message}`,
          output,
          durationMs: elapsed(),
        }),
      );
      child.on('close', (code, sig) => {
        if (code === 0) return done({ ok: true, exitCode: 0, output, durationMs: elapsed() });
        const why =
          sig !== null
            ? elapsed() >= spec.timeoutMs
              ? `killed after its ${spec.timeoutMs / 1000} s timeout`
              : `killed by ${sig}`
            : `exited with code ${code}`;
        done({ ok: false, error: `${argv.join(' ')} ${why}`, output, durationMs: elapsed() });
      });
    });
  }
}
