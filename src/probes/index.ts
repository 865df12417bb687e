export type { ProbeContext, ProbeResult, ProbeRunner } from './types.js';
export {
  ProbeScheduler,
  type ProbeSchedulerOptions,
  type ProbeStatus,
  type ScheduledProbe,
} from './ProbeScheduler.js';
export { CookieJar } from './cookieJar.js';
export {
  checkHttpExpectations,
  compileProbeRegex,
  parseStatusPattern,
  type HttpExpectConfig,
  type JsonExpectation,
} from './httpExpect.js';
export { runHttpProbe, type HttpProbeConfig } from './httpProbe.js';
export {
  BODY_LIMIT_BYTES,
  MAX_REDIRECTS,
  type HttpRequestConfig,
  type HttpTlsConfig,
} from './httpRequest.js';
export {
  runHttpScenario,
  scenarioVarsUsed,
  type HttpScenarioConfig,
  type HttpScenarioStepConfig,
  type ScenarioExtract,
} from './httpScenario.js';
export { lookupJsonPath, parseJsonPath, type JsonPathSegment } from './jsonPath.js';
export { runDnsProbe, type DnsProbeConfig, type DnsRecordType } from './dnsProbe.js';
export type { TlsClientConfig } from './netConnect.js';
export { runTcpProbe, type TcpProbeConfig } from './tcpProbe.js';
export { runTlsProbe, type TlsProbeConfig } from './tlsProbe.js';
export { scheduledProbe, type ProbeDefinition } from './scheduledProbe.js';
