export {
  RunExecutor,
  type RunEvent,
  type StartResult,
  type ExecutorLifecycle,
  type RunExecutorOptions,
} from './RunExecutor.js';
export { planRun, runbookMatches, type PlannedStep, type RunPlan } from './planRun.js';
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
