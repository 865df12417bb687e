import { runArgv, type ArgvOutcome } from './runArgv.js';

/** Runs commands from the allow-list in swas.yaml `commands:`; a runbook can only fill declared args. */
export interface CommandControl {
  /** The declared placeholders of `name`, or null when no such command is allowed. */
  args(name: string): readonly string[] | null;
  run(name: string, args: Readonly<Record<string, string>>, signal: AbortSignal): Promise<ArgvOutcome>;
}

/** One allow-listed command as declared in swas.yaml. */
export interface AllowedCommandSpec {
  readonly argv: readonly string[];
  readonly args: readonly string[];
  readonly timeoutMs: number;
}

// Values go into one argv slot each, never a shell; still refuse option-looking and odd values.
const SAFE_VALUE = /^[A-Za-z0-9_.:/@=+,][A-Za-z0-9_.:/@=+,-]*$/;

/** Why `value` may not fill a placeholder, or null when it may. */
export function argValueProblem(value: string): string | null {
  if (value === '') return 'is empty';
  if (value.length > 256) return 'is longer than 256 characters';
  if (!SAFE_VALUE.test(value))
    return 'may use letters, digits and _ . : / @ = + , - only, and may not start with -';
  return null;
}

/** Puts each arg value into the argv slots that name it. */
export function fillArgv(argv: readonly string[], args: Readonly<Record<string, string>>): string[] {
  return argv.map((part) =>
    part.replace(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_m, key: string) => args[key] ?? ''),
  );
}

/** Runs allow-listed commands on this machine. */
export class LocalCommandControl implements CommandControl {
  constructor(private readonly commands: Readonly<Record<string, AllowedCommandSpec>>) {}

  args(name: string): readonly string[] | null {
    return Object.hasOwn(this.commands, name) ? (this.commands[name]?.args ?? null) : null;
  }

  run(name: string, args: Readonly<Record<string, string>>, signal: AbortSignal): Promise<ArgvOutcome> {
    const spec = Object.hasOwn(this.commands, name) ? this.commands[name] : undefined;
    if (spec === undefined)
      return Promise.resolve({
        ok: false,
        exitCode: null,
        error: `command "${name}" is not allow-listed; add commands.${name} to swas.yaml`,
        output: '',
        durationMs: 0,
      });
    for (const declared of spec.args) {
      const value = args[declared];
      const problem = value === undefined ? 'is missing' : argValueProblem(value);
      if (problem !== null)
        return Promise.resolve({
          ok: false,
          exitCode: null,
          error: `arg "${declared}" of command "${name}" ${problem}`,
          output: '',
          durationMs: 0,
        });
    }
    return runArgv(fillArgv(spec.argv, args), spec.timeoutMs, signal);
  }
}
