export { Spool } from './spool.js';
export type { SpoolEntry, SpoolFsync, SpoolOptions, SpoolStats } from './spool.js';
export { SpoolConfigError, SpoolCorruptionError, SpoolWriteError } from './spoolErrors.js';
export * from './collectors/index.js';
export {
  AGENT_PROTOCOL_VERSION,
  agentFrame,
  fromWireValue,
  MAX_FRAME_BYTES,
  MAX_SAMPLES_PER_FRAME,
  parseFrame,
  serverFrame,
  toWireValue,
  type AgentFrame,
  type FrameParse,
  type ServerFrame,
  type WireSample,
} from './protocol.js';
