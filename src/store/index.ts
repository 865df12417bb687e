export { openStateStore } from './openStateStore.js';
export type { StateStoreOptions } from './openStateStore.js';
export type {
  AlertRepository,
  AlertRow,
  AlertState,
  AuditEntry,
  AuditRepository,
  AuditVerification,
  CreatedToken,
  Incident,
  IncidentListOptions,
  IncidentPatch,
  IncidentRepository,
  IncidentStatus,
  NewAuditEntry,
  NewIncident,
  NewRun,
  NewRunStep,
  Run,
  RunPatch,
  RunRepository,
  RunStatus,
  RunStep,
  RunStepPatch,
  RunWithSteps,
  NewSilence,
  Silence,
  SilenceMatcher,
  SilenceRepository,
  StateStore,
  StepStatus,
  StoreDialect,
  TimelineEntry,
  TimelineRepository,
  TokenIdentity,
  TokenInfo,
  TokenRepository,
  TokenRole,
} from './types.js';
export {
  IncidentKeyConflictError,
  IncidentNotFoundError,
  RunIdConflictError,
  StoreInputError,
  StoreMigrationError,
  StoreUnavailableError,
  StoreUrlError,
} from './errors.js';
export { silenceProblem } from './silences.js';
export type { SilenceProblem } from './silences.js';
export { redactUrl, resolveStoreLocation } from './storeUrl.js';
export type { StoreLocation } from './storeUrl.js';
