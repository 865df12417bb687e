import { detachedCopy } from '../core/index.js';
import type { ExpositionFormat, MetricMetadata, MetricType } from './expositionTypes.js';
import {
  describeChar,
  isBlank,
  isMetricNameChar,
  isMetricNameStart,
  skipBlanks,
  tokenEnd,
  unescapeHelp,
} from './expositionTokens.js';

/** The parser state comment lines read and update. */
export interface CommentContext {
  readonly format: ExpositionFormat;
  readonly metadata: Map<string, MetricMetadata>;
  /** Metric names that already had samples, to reject a TYPE line that comes after them. */
  readonly sampleNamesSeen: Set<string>;
  readonly helpSeen: Set<string>;
  readonly typeSeen: Set<string>;
  readonly unitSeen: Set<string>;
  fail(pos: number, reason: string): never;
}

const metricTypes: readonly MetricType[] = [
  'counter',
  'gauge',
  'histogram',
  'gaugehistogram',
  'summary',
  'info',
  'stateset',
  'unknown',
  'untyped',
];

// The sample names each type produces, so a TYPE line after e.g. `foo_bucket` samples is caught too.
const sampleSuffixes: Readonly<Record<MetricType, readonly string[]>> = {
  counter: ['', '_total', '_created'],
  gauge: [''],
  histogram: ['', '_bucket', '_sum', '_count', '_created'],
  gaugehistogram: ['', '_bucket', '_gsum', '_gcount'],
  summary: ['', '_sum', '_count', '_created'],
  info: ['', '_info'],
  stateset: [''],
  unknown: [''],
  untyped: [''],
};

/**
 * Parses a line starting with `#` at `pos`: HELP, TYPE and UNIT update the metadata, `# EOF` ends an
 * OpenMetrics body, anything else is a comment.
 */
export function parseCommentLine(
  text: string,
  pos: number,
  end: number,
  ctx: CommentContext,
): 'eof' | 'metadata' | 'comment' {
  const wordStart = skipBlanks(text, pos + 1, end);
  const wordEnd = tokenEnd(text, wordStart, end);
  const word = text.slice(wordStart, wordEnd);
  if (word === 'EOF' && ctx.format === 'openmetrics' && skipBlanks(text, wordEnd, end) === end) return 'eof';
  if (word !== 'HELP' && word !== 'TYPE' && word !== 'UNIT') return 'comment';
  const nameStart = skipBlanks(text, wordEnd, end);
  const nameEnd = readMetricName(text, nameStart, end, word, ctx);
  const name = text.slice(nameStart, nameEnd);
  const restStart = skipBlanks(text, nameEnd, end);
  if (word === 'HELP') parseHelp(text, restStart, end, name, ctx);
  else if (word === 'TYPE') parseType(text, restStart, end, name, ctx);
  else parseUnit(text, restStart, end, name, ctx);
  return 'metadata';
}

function readMetricName(text: string, start: number, end: number, word: string, ctx: CommentContext): number {
  if (start >= end || !isMetricNameStart(text.charCodeAt(start))) {
    ctx.fail(start, `expected a metric name after '# ${word}', got ${describeChar(text, start, end)}`);
  }
  let pos = start + 1;
  while (pos < end && isMetricNameChar(text.charCodeAt(pos))) pos++;
  if (pos < end && !isBlank(text.charCodeAt(pos))) {
    ctx.fail(
      pos,
      `expected a space after metric name "${text.slice(start, pos)}" in '# ${word}', got ${describeChar(text, pos, end)}`,
    );
  }
  return pos;
}

// Metadata outlives the scrape (the target keeps its last one for /api/v1/metadata): names and texts are
// detached copies, or each would keep the piece of the body it was cut from alive until the next scrape.
function update(ctx: CommentContext, name: string, patch: Partial<MetricMetadata>): void {
  const previous = ctx.metadata.get(name);
  if (previous !== undefined) {
    ctx.metadata.set(name, { ...previous, ...patch });
    return;
  }
  const blank: MetricMetadata = {
    type: ctx.format === 'openmetrics' ? 'unknown' : 'untyped',
    help: '',
    unit: '',
  };
  ctx.metadata.set(detachedCopy(name), { ...blank, ...patch });
}

function parseHelp(text: string, start: number, end: number, name: string, ctx: CommentContext): void {
  if (ctx.helpSeen.has(name)) {
    ctx.fail(start, `second HELP line for metric "${name}"; expected at most one per metric`);
  }
  ctx.helpSeen.add(name);
  update(ctx, name, { help: detachedCopy(unescapeHelp(text.slice(start, end))) });
}

function parseType(text: string, start: number, end: number, name: string, ctx: CommentContext): void {
  const typeEnd = tokenEnd(text, start, end);
  const typeName = text.slice(start, typeEnd);
  const type = metricTypes.find((t) => t === typeName);
  if (type === undefined) {
    const got = start === end ? 'end of line' : `'${typeName}'`;
    ctx.fail(start, `expected a metric type (${metricTypes.join(', ')}) for "${name}", got ${got}`);
  }
  const rest = skipBlanks(text, typeEnd, end);
  if (rest < end) {
    ctx.fail(
      rest,
      `unexpected ${describeChar(text, rest, end)} after the type of "${name}"; expected end of line`,
    );
  }
  if (ctx.typeSeen.has(name)) {
    ctx.fail(start, `second TYPE line for metric "${name}"; expected at most one per metric`);
  }
  const sampled = sampleSuffixes[type].find((suffix) => ctx.sampleNamesSeen.has(name + suffix));
  if (sampled !== undefined) {
    ctx.fail(
      start,
      `TYPE line for "${name}" comes after its samples ("${name + sampled}"); expected it before the first sample`,
    );
  }
  ctx.typeSeen.add(name);
  update(ctx, name, { type });
}

function parseUnit(text: string, start: number, end: number, name: string, ctx: CommentContext): void {
  const unitEnd = tokenEnd(text, start, end);
  const rest = skipBlanks(text, unitEnd, end);
  if (rest < end) {
    ctx.fail(
      rest,
      `unexpected ${describeChar(text, rest, end)} after the unit of "${name}"; expected end of line`,
    );
  }
  if (ctx.unitSeen.has(name)) {
    ctx.fail(start, `second UNIT line for metric "${name}"; expected at most one per metric`);
  }
  ctx.unitSeen.add(name);
  update(ctx, name, { unit: detachedCopy(text.slice(start, unitEnd)) });
}
