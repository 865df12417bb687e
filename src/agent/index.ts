export { Spool } from './spool.js';
export type { SpoolEntry, SpoolFsync, SpoolOptions, SpoolStats } from './spool.js';
export { SpoolConfigError, SpoolCorruptionError, SpoolWriteError } from './spoolErrors.js';
export * from './collectors/index.js';
