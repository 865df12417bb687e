export type { LabelMatcher, MatchType, SeriesData, SeriesReader } from './SeriesReader.js';
export { MemorySeriesStore } from './MemorySeriesStore.js';
export { compareLabelSets, compileAnchoredRegex, compileMatcher, matchesAll } from './labelMatchers.js';
export type { CompiledMatcher, RegexResult } from './labelMatchers.js';
export { EmbeddedTsdb } from './EmbeddedTsdb.js';
export type { RetentionResult, TsdbStats } from './tsdbTypes.js';
export type { EmbeddedTsdbOptions } from './tsdbOptions.js';
export { TsdbConfigError, TsdbCorruptionError } from './tsdbErrors.js';
