export { isUndoStep } from './runSteps.js';
export {
  RunExecutor,
  type RunEvent,
  type StartResult,
  type ExecutorLifecycle,
  type RunExecutorOptions,
} from './RunExecutor.js';
export {
  deriveUndo,
  memberBeforeOf,
  planRun,
  runbookMatches,
  type MemberBefore,
  type PlannedStep,
  type RunPlan,
  type StepRecord,
} from './planRun.js';
export {
  Reconciler,
  type AuditLogEntry,
  type AuditLogReader,
  type DriftedMember,
  type ReconcilerOptions,
  type ReconcileReport,
} from './reconcile.js';
export { LocalServiceControl, type LocalServiceSpec } from './LocalServiceControl.js';
export type {
  AuditPort,
  AuditRecord,
  LoadBalancerDirectory,
  ServiceControl,
  ServiceOutcome,
  ServiceVerb,
  StepServices,
} from './ports.js';
export { LocalHostControl, type HostControl, type LocalHostSpec } from './hostControl.js';
export { LocalCommandControl, type AllowedCommandSpec, type CommandControl } from './steps/commandControl.js';
export { RunStepApprovals } from './steps/approvals.js';
export { NotifierStepNotifier } from './steps/NotifierStepNotifier.js';
export type { ApprovalPort, StepExtensions, StepNotifier } from './steps/stepPorts.js';
export {
  isServing,
  PoolGuard,
  type MemberChange,
  type PoolGuardOptions,
  type RemovalCheck,
} from './guards/poolGuard.js';
export {
  changeMember,
  lbForPool,
  MANUAL_OPS,
  memberState,
  type ManualOp,
  type ManualOpsDeps,
  type MemberChangeRequest,
  type MemberChangeResult,
  type MemberState,
} from './manualOps.js';
export type { DryRunReport, DryRunStep } from './guards/dryRun.js';
export {
  addPoolMember,
  removePoolMember,
  type AddMemberRequest,
  type RemoveMemberRequest,
} from './membership.js';
