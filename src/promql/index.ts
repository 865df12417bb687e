export type {
  AggregateExpr,
  AggregateOp,
  AtModifier,
  BinaryExpr,
  BinaryOp,
  Call,
  Expr,
  MatrixSelector,
  NumberLiteral,
  ParenExpr,
  PosRange,
  StringLiteral,
  SubqueryExpr,
  UnaryExpr,
  ValueType,
  VectorMatching,
  VectorSelector,
} from './ast.js';
export { childrenOf, unwrapParens, walkExpr } from './ast.js';
export { parseExpr } from './parser.js';
export type { ParseResult } from './parser.js';
export type { ParseErrorInfo, SourcePosition } from './parseErrors.js';
export { documentedType, typeOf } from './checker.js';
export { functionSignatures } from './functionSignatures.js';
export type { FunctionSignature } from './functionSignatures.js';
export type {
  MatrixSeries,
  MetricsQuery,
  QueryError,
  QueryErrorType,
  QueryOutcome,
  QueryValue,
  VectorSample,
} from './MetricsQuery.js';
export { EmbeddedPromqlQuery } from './EmbeddedPromqlQuery.js';
export type { EmbeddedPromqlQueryOptions } from './EmbeddedPromqlQuery.js';
export {
  errorResponse,
  handleLabels,
  handleLabelValues,
  handleQuery,
  handleQueryRange,
  handleSeries,
} from './httpApi.js';
export type { ApiBody, ApiParams, ApiResponse } from './httpApi.js';
export { formatSampleValue, parseDurationParam, parseTime } from './httpParams.js';
export { appendSeriesNotation, expandSeriesValues, parseSeriesDescriptor } from './seriesNotation.js';
export type { NotationValue } from './seriesNotation.js';
export { runPromqlTestScript } from './promqlTestRunner.js';
export type { CaseResult, CaseVerdict } from './promqlTestRunner.js';
export { parsePromqlTestScript } from './promqlTestScript.js';
export type { EvalCase, ExpectedSeries, LoadedSeries, ScriptCommand } from './promqlTestScript.js';
export { failingEvals, runConformanceDir, summarizeConformance } from './conformanceSuite.js';
export type { ConformanceFile, ConformanceSummary } from './conformanceSuite.js';
export { RemotePromqlQuery, type RemotePromqlQueryOptions } from './RemotePromqlQuery.js';
export { handleMetadata, type MetadataEntry, type MetadataParams } from './metadataApi.js';
