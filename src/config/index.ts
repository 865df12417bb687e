export { ConfigError, formatConfigIssue, type ConfigIssue } from './ConfigError.js';
export {
  loadConfig,
  type LoadedConfig,
  type LoadedRuleFile,
  type LoadedRunbook,
  type LoadConfigOptions,
  type ExpressionChecker,
} from './loadConfig.js';
export { swasConfigSchema, SECRET_FIELDS, type SwasConfig } from './swasConfig.js';
export { TLS_MIN_VERSIONS, type ServerTls } from './serverTls.js';
export type { PoolGuardsConfig } from './poolGuards.js';
export {
  ruleFileSchema,
  type RuleFile,
  type RuleGroupConfig,
  type AlertingRuleConfig,
  type RecordingRuleConfig,
} from './ruleFile.js';
export { runbookSchema, STEP_ACTIONS, type RunbookConfig, type RunbookStepConfig } from './runbookFile.js';
export { loadYamlFile, validateSource } from './validate.js';
export { parseYamlSource, type YamlSource } from './yamlSource.js';
export { renderConfigReference } from './configReference.js';
export {
  RELABEL_ACTIONS,
  RELABEL_DEFAULTS,
  relabelConfigProblem,
  type RelabelAction,
  type RelabelConfig,
  type RelabelProblem,
} from './relabelConfig.js';
export { expandFilePatterns } from './files.js';
export { probeConfig, type ProbeConfig } from './probeConfig.js';
export { HTTP_PROBE_METHODS, httpProbeSchema, httpScenarioSchema } from './httpProbeSchema.js';
export { DNS_PROBE_RECORD_TYPES, dnsProbeSchema, tcpProbeSchema, tlsProbeSchema } from './netProbeSchema.js';
export {
  agentConfigSchema,
  agentScrapeTargetSchema,
  hostCollectorsSchema,
  loadAgentConfig,
  type AgentCollectorsConfig,
  type AgentConfig,
  type AgentScrapeTarget,
} from './agentConfig.js';
export {
  agentsSectionSchema,
  pushedConfigFor,
  type AgentsSection,
  type PushedAgentConfig,
  type PushedProbe,
} from './agentsSection.js';
