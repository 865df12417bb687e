import { argValueProblem } from './commandControl.js';
import { auditAction, missingPort, stringParam, type StepHandler } from './StepContext.js';

const tail = (text: string) => (text.length > 4000 ? `…${text.slice(-4000)}` : text);

/**
 * Runs a command from the swas.yaml `commands:` allow-list by name. The runbook supplies only values for
 * the placeholders the allow-list declares; never a shell, never an argv of its own.
 */
export const runCommand: StepHandler = async (ctx, params) => {
  if (ctx.commands === undefined) return missingPort('run', 'command allow-list');
  const name = stringParam(params, 'command');
  const declared = ctx.commands.args(name);
  if (declared === null)
    return { ok: false, error: `command "${name}" is not allow-listed; add commands.${name} to swas.yaml` };
  const args = (params.args as Record<string, string> | undefined) ?? {};
  for (const key of Object.keys(args))
    if (!declared.includes(key))
      return {
        ok: false,
        error: `with.args.${key} is not a declared placeholder of command "${name}" (declared: ${declared.join(', ') || 'none'})`,
      };
  for (const key of declared) {
    const value = args[key];
    const problem = value === undefined ? 'is missing' : argValueProblem(value);
    if (problem !== null) return { ok: false, error: `with.args.${key} ${problem}` };
  }
  const outcome = await ctx.commands.run(name, args, ctx.signal);
  await auditAction(ctx, {
    action: 'run',
    target: name,
    reason: `runbook ${ctx.runbook}`,
    before: { args },
    after: { exitCode: outcome.exitCode, durationMs: outcome.durationMs },
    result: outcome.ok ? 'ok' : `error: ${outcome.error}`,
  });
  const result = {
    command: name,
    args,
    exitCode: outcome.exitCode,
    output: tail(outcome.output),
    durationMs: outcome.durationMs,
  };
  if (!outcome.ok) return { ok: false, error: `command "${name}" failed: ${outcome.error}`, result };
  return {
    ok: true,
    message: `command "${name}" succeeded in ${(outcome.durationMs / 1000).toFixed(1)} s`,
    result,
  };
};
