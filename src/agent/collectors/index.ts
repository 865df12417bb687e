export type { CollectedSample, Collector, ProcOptions } from './types.js';
export { cpuCollector, parseProcStat } from './cpu.js';
export { loadCollector, parseLoadavg } from './load.js';
export { memoryCollector, parseMeminfo } from './memory.js';
export {
  filesystemCollector,
  fillRate,
  parseMounts,
  PSEUDO_FSTYPES,
  type FilesystemCollectorConfig,
  type MountEntry,
  type UsedPoint,
} from './filesystem.js';
export { networkCollector, parseNetDev, type NetworkCollectorConfig } from './network.js';
export {
  compileServiceWatches,
  parsePidStat,
  ServiceCollector,
  type CompiledServiceWatch,
  type ProcessInfo,
  type ServiceWatchConfig,
} from './processes.js';
export {
  compileLogWatches,
  DEFAULT_LOG_READ_LIMIT_BYTES,
  LogCollector,
  type CompiledLogWatch,
  type LogWatchConfig,
} from './logs.js';
export { compilePattern } from './patterns.js';
export {
  hostCollectors,
  HostCollectors,
  SYSTEM_COLLECTORS,
  type HostCollectorsConfig,
  type HostCollectorsOptions,
  type SystemCollectorName,
} from './hostCollectors.js';
