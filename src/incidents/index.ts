export { IncidentManager, type IncidentManagerOptions } from './IncidentManager.js';
export {
  AlertmanagerIntake,
  alertChangeFromAlertmanager,
  parseAlertmanagerPayload,
  INTAKE_SOURCE_LABEL,
  INTAKE_SOURCE_ALERTMANAGER,
  type AlertmanagerPayload,
  type AlertmanagerAlert,
  type AlertChangeSink,
  type AlertmanagerIntakeOptions,
  type IntakeSummary,
} from './alertmanagerIntake.js';
export {
  compileNoisePolicy,
  DEFAULT_NOISE_POLICY,
  type NoisePolicy,
  type NoisePolicyProblem,
  type Suppression,
} from './noisePolicy.js';
