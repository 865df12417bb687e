export {
  parseExposition,
  DEFAULT_MAX_LINE_LENGTH,
  type ExpositionError,
  type ExpositionFormat,
  type ExpositionResult,
  type MetricMetadata,
  type MetricType,
  type ParsedSample,
  type ParseExpositionOptions,
} from './exposition.js';
export { isValidLabelName, isValidMetricName } from './expositionTokens.js';
export { ScrapeManager } from './ScrapeManager.js';
export {
  INVALID_TARGET_CODE,
  SCRAPE_REPORT_SERIES,
  type ScrapeLogger,
  type ScrapeManagerOptions,
} from './scrapeState.js';
export {
  alignedScrapeTime,
  DEFAULT_TIMESTAMP_TOLERANCE_MS,
  MIN_SCRAPE_INTERVAL_MS,
  type RejectedSampleCounts,
  type ScrapeTarget,
  type TargetHealth,
  type TargetStatus,
} from './scrapeTarget.js';
export { SCRAPE_ACCEPT_HEADER } from './scrapeHttp.js';
export {
  compileRelabelRules,
  relabel,
  hashMod,
  type CompileRelabelResult,
  type RelabelRule,
} from './relabel.js';
export {
  buildScrapeTargets,
  type BuiltTargets,
  type ScrapeJobSpec,
  type TargetGroup,
} from './relabelTargets.js';
export {
  FILE_SD_PATH_LABEL,
  listFileSdFiles,
  parseTargetGroups,
  readTargetGroups,
  type FileSdRead,
} from './fileSdFormat.js';
export { FileServiceDiscovery, type FileServiceDiscoveryOptions, type FileSdLifecycle } from './fileSd.js';
export { snappyDecode, snappyEncode } from './remoteWriteSnappy.js';
export { decodeWriteRequest, type DecodedTimeSeries, type DecodedWriteRequest } from './remoteWriteDecode.js';
export { encodeRemoteWriteBody, encodeWriteRequest, type WriteRequestSeries } from './remoteWriteEncode.js';
export { REMOTE_WRITE_CODES, RemoteWriteDecodeError, RemoteWriteTooLargeError } from './remoteWriteErrors.js';
export {
  checkRemoteWriteHeaders,
  DEFAULT_REMOTE_WRITE_LIMITS,
  RemoteWriteReceiver,
  tooLargeMessage,
  type RemoteWriteLimits,
  type RemoteWriteOutcome,
  type RemoteWriteRejection,
  type RemoteWriteStats,
  type RemoteWriteSummary,
} from './remoteWriteReceiver.js';
export {
  RemoteWriteSender,
  type RemoteWriteSenderOptions,
  type RemoteWriteSenderStats,
} from './RemoteWriteSender.js';
