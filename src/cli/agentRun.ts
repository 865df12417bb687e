import type { Command } from 'commander';
import { Agent, EnrollmentRefusedError } from '../agent/index.js';
import { ConfigError, loadAgentConfig, type AgentConfig } from '../config/index.js';
import { createLogger, VERSION, type LogFormat } from '../server/index.js';
import { CliError, EXIT } from './common.js';

interface RunOptions {
  config: string;
  logFormat: string;
  logLevel: string;
}

/** Adds `run` to the `swas agent` command: the host agent process, until SIGTERM/SIGINT. */
export function registerAgentRun(agent: Command): void {
  agent
    .command('run')
    .description('run the host agent: collect, spool, stream to the server, run allow-listed actions')
    .option('-c, --config <file>', 'the agent’s agent.yaml', '/etc/swas/agent.yaml')
    .option('--log-format <format>', 'auto | json | pretty', 'auto')
    .option('--log-level <level>', 'trace | debug | info | warn | error', 'info')
    .action(async (options: RunOptions) => runAgent(options));
}

async function runAgent(options: RunOptions): Promise<void> {
  const config = await loadOrExit(options.config);
  const format = options.logFormat as LogFormat;
  if (!['auto', 'json', 'pretty'].includes(format))
    throw new CliError(`--log-format must be auto, json or pretty, not "${format}"`, EXIT.usage);
  const logger = createLogger({ level: options.logLevel, format });
  const abort = new AbortController();
  let agent: Agent | null = null;
  let stopped: () => void = () => undefined;
  const done = new Promise<void>((resolve) => {
    stopped = resolve;
  });
  const stop = (signal: string) => {
    logger.info({ signal }, 'agent shutting down');
    if (agent === null) abort.abort();
    else void agent.stop().then(stopped);
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  try {
    agent = await Agent.start({ config, logger, version: VERSION, signal: abort.signal });
  } catch (error) {
    if (abort.signal.aborted) return;
    if (error instanceof EnrollmentRefusedError)
      throw new CliError(`${error.code}: ${error.message}`, EXIT.usage);
    throw error;
  }
  await done;
}

async function loadOrExit(file: string): Promise<AgentConfig> {
  try {
    return await loadAgentConfig(file);
  } catch (error) {
    if (error instanceof ConfigError) throw new CliError(error.message, EXIT.usage);
    throw error;
  }
}
