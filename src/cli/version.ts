import { readFileSync } from 'node:fs';

/**
 * The package version, read once from package.json. The CLI reads it itself rather than through
 * `src/server/index.ts`, which would load the whole server (fastify, the state store, PromQL) into every
 * command, `swas agent run` included (ADR 0003).
 */
export const VERSION: string = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
