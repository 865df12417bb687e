import type { Command } from 'commander';
import { setFlagsFromString } from 'node:v8';
import type { Agent, SystemCollectorName } from '../agent/index.js';
import type { AgentConfig } from '../config/index.js';
import { CliError, EXIT } from './common.js';
import type { LogFormat } from './logger.js';
import { VERSION } from './version.js';

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

/** Adds `swas probe run`: a probe-only agent for vantage points (another data centre, an office). */
export function registerProbe(program: Command): void {
  program
    .command('probe')
    .description('the probe-only agent: runs the probes the server pushes, from where it stands')
    .command('run')
    .description('run the probe agent: no host collectors, no actions; probes spool while cut off')
    .option(
      '-c, --config <file>',
      'its agent.yaml (server, name, labels, enrollment, state_dir)',
      '/etc/swas/probe.yaml',
    )
    .option('--log-format <format>', 'auto | json | pretty', 'auto')
    .option('--log-level <level>', 'trace | debug | info | warn | error', 'info')
    .action(async (options: RunOptions) => runAgent(options, true));
}

// A probe agent collects nothing and runs nothing: its config may not ask for either.
function probeOnly(
  config: AgentConfig,
  file: string,
  systemCollectors: readonly SystemCollectorName[],
): AgentConfig {
  const asked = [
    Object.keys(config.actions).length > 0 ? 'actions' : null,
    config.collectors.services.length > 0 ? 'collectors.services' : null,
    config.collectors.log_watches.length > 0 ? 'collectors.log_watches' : null,
    config.scrape.length > 0 ? 'scrape' : null,
  ].filter((x) => x !== null);
  if (asked.length > 0)
    throw new CliError(
      `${file}: a probe-only agent (swas probe) collects nothing and runs no actions; remove ${asked.join(', ')} or run it as \`swas agent run\``,
      EXIT.usage,
    );
  return { ...config, collectors: { ...config.collectors, disable: [...systemCollectors] } };
}

// The agent's modules are imported here, not at the top, so that the rest of the CLI (and the server behind
// `swas up`) stays out of a long-running agent's memory, and other commands do not load the agent (ADR 0003).
async function runAgent(options: RunOptions, probeMode = false): Promise<void> {
  const [{ Agent, EnrollmentRefusedError, SYSTEM_COLLECTORS }, { createLogger }] = await Promise.all([
    import('../agent/index.js'),
    import('./logger.js'),
  ]);
  const loaded = await loadOrExit(options.config);
  const config = probeMode ? probeOnly(loaded, options.config, SYSTEM_COLLECTORS) : loaded;
  // Scraping parses exposition text in JavaScript, about 4× slower without TurboFan (10,000 series: 170 ms
  // against 40 ms): an agent with local scrape targets gets it back (agentV8Flags.ts, ADR 0003).
  if (config.scrape.length > 0) setFlagsFromString('--opt');
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
    agent = await Agent.start({
      config,
      logger,
      version: VERSION,
      signal: abort.signal,
      probeOnly: probeMode,
    });
  } catch (error) {
    if (abort.signal.aborted) return;
    if (error instanceof EnrollmentRefusedError)
      throw new CliError(`${error.code}: ${error.message}`, EXIT.usage);
    throw error;
  }
  await done;
}

async function loadOrExit(file: string): Promise<AgentConfig> {
  const { ConfigError, loadAgentConfig } = await import('../config/index.js');
  try {
    return await loadAgentConfig(file);
  } catch (error) {
    if (error instanceof ConfigError) throw new CliError(error.message, EXIT.usage);
    throw error;
  }
}
