import { spawn } from 'node:child_process';

/** What running an argv produced; output is stdout and stderr interleaved, capped at its tail. */
export type ArgvOutcome =
  | { readonly ok: true; readonly exitCode: 0; readonly output: string; readonly durationMs: number }
  | {
      readonly ok: false;
      readonly exitCode: number | null;
      readonly error: string;
      readonly output: string;
      readonly durationMs: number;
    };

/** The most output kept from one command. */
export const OUTPUT_LIMIT = 64 * 1024;

/** Runs an argv (never a shell) with a timeout; resolves, never rejects. */
export function runArgv(
  argv: readonly string[],
  timeoutMs: number,
  signal: AbortSignal,
): Promise<ArgvOutcome> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const program = argv[0];
  if (program === undefined)
    return Promise.resolve({ ok: false, exitCode: null, error: 'empty argv', output: '', durationMs: 0 });
  return new Promise((resolve) => {
    let output = '';
    let settled = false;
    const child = spawn(program, argv.slice(1), {
      stdio: ['ignore', 'pipe', 'pipe'],
      signal,
      timeout: timeoutMs,
      killSignal: 'SIGKILL',
    });
    const collect = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-OUTPUT_LIMIT);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    const done = (outcome: ArgvOutcome) => {
      if (settled) return;
      settled = true;
      resolve(outcome);
    };
    child.on('error', (error) =>
      done({
        ok: false,
        exitCode: null,
        error: `cannot run ${argv.join(' ')}: ${error.message}`,
        output,
        durationMs: elapsed(),
      }),
    );
    child.on('close', (code, sig) => {
      if (code === 0) return done({ ok: true, exitCode: 0, output, durationMs: elapsed() });
      const why =
        sig !== null
          ? elapsed() >= timeoutMs
            ? `killed after its ${timeoutMs / 1000} s timeout`
            : `killed by ${sig}`
          : `exited with code ${code}`;
      done({ ok: false, exitCode: code, error: `${argv.join(' ')} ${why}`, output, durationMs: elapsed() });
    });
  });
}
