import type { Command } from 'commander';
import type { LogFormat } from './logger.js';
import { CliError, configPath, dataDirOf, EXIT, loadConfigOrExit } from './common.js';

/** `swas up`: run the server until SIGTERM/SIGINT; SIGHUP reloads the config. */
export function registerUp(program: Command): void {
  program
    .command('up')
    .description('run the swas server: API, UI, scraping, rules, incidents, runbooks, notifications')
    .option('-c, --config <file>', 'swas.yaml to run from (default ./swas.yaml)')
    .option('--data <dir>', 'data directory (overrides data_dir)')
    .option('--log-format <format>', 'auto | json | pretty')
    .option('--log-level <level>', 'trace | debug | info | warn | error')
    .action(async (options: { config?: string; data?: string; logFormat?: string; logLevel?: string }) => {
      const file = configPath(options.config);
      if (file === null)
        throw new CliError(
          'no swas.yaml in this directory; pass --config FILE (see examples/swas.yaml)',
          EXIT.usage,
        );
      const loaded = await loadConfigOrExit(file);
      // The server is loaded only when it runs, so other commands (`swas agent run`) never load it.
      const [{ formatConfigIssue }, { SwasServer }, { createLogger }] = await Promise.all([
        import('../config/index.js'),
        import('../server/index.js'),
        import('./logger.js'),
      ]);
      const format = (options.logFormat ?? loaded.config.log.format) as LogFormat;
      if (!['auto', 'json', 'pretty'].includes(format))
        throw new CliError(`--log-format must be auto, json or pretty, not "${format}"`, EXIT.usage);
      const logger = createLogger({ level: options.logLevel ?? loaded.config.log.level, format });
      for (const warning of loaded.warnings) logger.warn(formatConfigIssue(warning));
      const server = await SwasServer.start({ loaded, dataDir: dataDirOf(options.data, loaded), logger });
      await new Promise<void>((resolve) => {
        const stop = (signal: string) => {
          logger.info({ signal }, 'shutting down');
          void server.stop().then(resolve);
        };
        process.once('SIGTERM', () => stop('SIGTERM'));
        process.once('SIGINT', () => stop('SIGINT'));
        process.on('SIGHUP', () => void server.reload());
      });
    });
}
