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
export { Agent, connectUrl, type AgentOptions, type AgentState } from './Agent.js';
export type { AgentLogger } from './agentLogger.js';
export {
  AgentLink,
  type AgentLinkOptions,
  type LinkState,
  type LinkStats,
  type ReconnectScheduled,
  type SpoolBatch,
} from './link.js';
export { Backoff, type BackoffOptions, type BackoffStep } from './backoff.js';
export {
  ACTION_OUTPUT_LIMIT_BYTES,
  ActionRunner,
  type ActionDefinition,
  type ActionOutcome,
} from './actions.js';
export {
  ACTION_CLOCK_SKEW_MS,
  ActionGate,
  actionSigningPayload,
  keyFingerprint,
  MAX_ACTION_WINDOW_MS,
  parseServerKey,
  ReplayGuard,
  verifyActionRequest,
  type ActionCheck,
  type ActionFrame,
  type ActionGateOptions,
  type ActionRefusalReason,
  type PinnedServerKey,
  type SignedActionFields,
} from './actionSigning.js';
export {
  credentialPath,
  EnrollmentRefusedError,
  EnrollmentUnavailableError,
  readCredential,
  type AgentTls,
  type StoredCredential,
} from './credential.js';
export {
  AgentScraper,
  SCRAPE_SAMPLES_PER_BATCH,
  type AgentScrapeTarget,
  type AgentScraperOptions,
} from './scraper.js';
