#!/usr/bin/env node
// First: sets the agent's V8 flags when this process is `swas agent run` or `swas probe run` (ADR 0003).
import './agentV8Flags.js';
import { Command, CommanderError } from 'commander';
import { registerAgent } from './agent.js';
import { registerAgentRun, registerProbe } from './agentRun.js';
import { EXIT, reportError } from './common.js';
import { registerIncident } from './incident.js';
import { registerLb } from './lb.js';
import { registerRules } from './rules.js';
import { registerRunbook } from './runbook.js';
import { registerToken } from './token.js';
import { registerUp } from './up.js';
import { VERSION } from './version.js';

/** Builds the `swas` command tree. */
export function buildProgram(): Command {
  const program = new Command('swas')
    .description('swas, the Sleep Well Admin System: watches, decides, repairs, and pages only when it must')
    .version(VERSION, '-V, --version')
    .exitOverride()
    .showHelpAfterError('(run swas --help for usage)');
  registerUp(program);
  registerToken(program);
  registerIncident(program);
  registerRunbook(program);
  registerRules(program);
  registerLb(program);
  registerAgentRun(registerAgent(program));
  registerProbe(program);
  exitOverrideAll(program);
  return program;
}

// Subcommands of any depth (`swas runbook quarantine list`) throw instead of exiting, so runCli decides the code.
function exitOverrideAll(command: Command): void {
  for (const sub of command.commands) {
    sub.exitOverride();
    exitOverrideAll(sub);
  }
}

/**
 * Runs the CLI and returns its exit code: 0 ok, 1 failure, 2 usage or configuration error, 3 a guard
 * refused (`swas runbook dry-run`).
 */
export async function runCli(argv: readonly string[]): Promise<number> {
  try {
    await buildProgram().parseAsync([...argv], { from: 'user' });
    return EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.exitCode === 0) return EXIT.ok;
      return EXIT.usage;
    }
    return reportError(error);
  }
}

process.exitCode = await runCli(process.argv.slice(2));
