import { setFlagsFromString } from 'node:v8';

/**
 * V8 settings for the agent process only (`swas agent run`, `swas probe run`); the server and the other commands
 * keep V8's defaults. The agent is long-running and nearly idle (one batch per interval): `--no-opt` keeps
 * TurboFan out, whose machine code alone pages about 3.5 MB of the node binary into memory, in a process with
 * no hot loop worth optimising; `--optimize-for-size` has V8 size its heap for footprint rather than speed.
 * Measured in ADR 0003 (issue 6): bench RSS median 66 → 58.4 MB, CPU about 0.17% of a core. The installed
 * command's GC flags (`--single-threaded-gc --max-semi-space-size=2`, every command) cannot be set here: V8
 * aborts at the first GC when they change at run time, so they are on bin/swas.js's interpreter line (ADR 0004).
 */
export const AGENT_V8_FLAGS = '--no-opt --optimize-for-size';

/** Whether the CLI arguments (after `node swas`) start the long-running agent: `agent run` or `probe run`. */
export function startsAgent(args: readonly string[]): boolean {
  return (args[0] === 'agent' || args[0] === 'probe') && args[1] === 'run';
}

// Applied on import. bin/swas.js imports this module before it loads the CLI: set once the CLI's modules are
// loaded (as main.ts's first import still does, for `node dist/cli/main.js` and tsx) the same flags leave the
// agent about 3.5 MB larger (61.7 against 58 MB median).
if (startsAgent(process.argv.slice(2))) setFlagsFromString(AGENT_V8_FLAGS);
