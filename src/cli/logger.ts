import { pino, type Logger } from 'pino';

/** How logs are written: JSON lines for machines, pretty for people on a terminal. */
export type LogFormat = 'auto' | 'json' | 'pretty';

// Secrets never reach a log line, whatever object carries them.
const REDACT = [
  'req.headers.authorization',
  'headers.authorization',
  'headers.Authorization',
  'token',
  '*.token',
  'password',
  '*.password',
  'config.store.url',
  'config.notify.webhooks[*].headers',
];

/** Builds the process logger: the CLI is where `swas up` and `swas agent run` compose their process. */
export function createLogger(options: {
  level: string;
  format: LogFormat;
  destination?: NodeJS.WritableStream;
}): Logger {
  const pretty = options.format === 'pretty' || (options.format === 'auto' && process.stdout.isTTY === true);
  const base = {
    level: options.level,
    redact: { paths: REDACT, censor: '[redacted]' },
    base: { service: 'swas' },
  };
  if (pretty) {
    return pino({
      ...base,
      transport: {
        target: 'pino-pretty',
        options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service' },
      },
    });
  }
  return options.destination ? pino(base, options.destination as pino.DestinationStream) : pino(base);
}
