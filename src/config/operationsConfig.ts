import { z } from 'zod';
import { commandArgv, duration, name } from './schemaParts.js';

// A verb is an argv run by the server, or, with `agent:`, the name of an action in that agent's allow-list.
const verb = z.union([commandArgv, name]);
const onAgent = name
  .optional()
  .describe(
    'run on this agent instead of the server: the verbs are then names of actions in the agent’s own allow-list (agent.yaml actions:)',
  );

function verbsMatchWhere(
  entry: { agent?: string | undefined } & Partial<Record<'restart' | 'start' | 'stop' | 'reboot', unknown>>,
  ctx: z.core.$RefinementCtx,
): void {
  for (const key of ['restart', 'start', 'stop', 'reboot'] as const) {
    const value = entry[key];
    if (value === undefined) continue;
    if (entry.agent !== undefined && typeof value !== 'string')
      ctx.addIssue({
        code: 'custom',
        path: [key],
        message: `with agent: ${entry.agent}, give the name of an action in that agent's allow-list, not an argv`,
      });
    if (entry.agent === undefined && typeof value === 'string')
      ctx.addIssue({
        code: 'custom',
        path: [key],
        message: 'an action name needs agent: NAME; for a command on the server give an argv list',
      });
  }
}

/** A service's verbs: argv on the server, or actions of an agent. */
export const service = z
  .strictObject({
    agent: onAgent,
    restart: verb.optional().describe('argv that restarts the service (no shell), or an agent action'),
    start: verb.optional(),
    stop: verb.optional(),
    timeout: duration({ min: 100 })
      .prefault('1m')
      .describe('how long one command may run before it is killed'),
  })
  .superRefine(verbsMatchWhere);

// `{name}` placeholders in an allow-listed argv; only these positions take values from a runbook.
const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** A command a runbook `run` step may execute, with the placeholders it may fill. */
export const allowedCommand = z
  .strictObject({
    argv: commandArgv.describe('argv to run (no shell); `{name}` marks where a declared arg goes'),
    args: z
      .array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { message: 'use letters, digits and _ only' }))
      .default([])
      .describe('placeholders a runbook may fill; values are checked (no leading -, no spaces)'),
    timeout: duration({ min: 100 })
      .prefault('1m')
      .describe('how long the command may run before it is killed'),
  })
  .superRefine((command, ctx) => {
    if (command.argv[0]?.match(PLACEHOLDER))
      ctx.addIssue({
        code: 'custom',
        path: ['argv', 0],
        message: 'the program itself cannot be a placeholder',
      });
    const used = new Set(command.argv.flatMap((a) => [...a.matchAll(PLACEHOLDER)].map((m) => m[1])));
    for (const arg of command.args)
      if (!used.has(arg))
        ctx.addIssue({
          code: 'custom',
          path: ['args'],
          message: `arg "${arg}" is not used as {${arg}} in argv`,
        });
    for (const placeholder of used)
      if (placeholder !== undefined && !command.args.includes(placeholder))
        ctx.addIssue({
          code: 'custom',
          path: ['argv'],
          message: `{${placeholder}} is not declared; add "${placeholder}" to args`,
        });
  });

/** How to reboot a host: argv on the server, or an action of its agent. */
export const hostCommands = z
  .strictObject({
    agent: onAgent,
    reboot: verb.describe(
      'argv that reboots the host (no shell), e.g. [ssh, web-1, sudo, reboot], or an agent action',
    ),
    timeout: duration({ min: 100 }).prefault('1m').describe('how long the reboot command may run'),
  })
  .superRefine(verbsMatchWhere);
