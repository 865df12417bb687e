import * as core from '../core/index.js';
import * as series from './expositionSeries.js';
import * as tokens from './expositionTokens.js';
import { parseCommentLine, type CommentContext } from './expositionComments.js';
import type {
  CachedSeriesText,
  ExpositionFormat,
  ExpositionSeriesCache,
  ExpositionResult,
  MetricMetadata,
  ParsedSample,
  ParseExpositionOptions,
} from './expositionTypes.js';

export type {
  CachedSeriesText,
  ExpositionError,
  ExpositionSeriesCache,
  ExpositionFormat,
  ExpositionResult,
  MetricMetadata,
  MetricType,
  ParsedSample,
  ParseExpositionOptions,
} from './expositionTypes.js';

// Local copies of the hot-path helpers: under tsx and vitest every use of an imported binding is a
// getter call, which doubled the parse time of large bodies.
const { METRIC_NAME_LABEL } = core;
const { finalMix, hashRange, labelBlockEnd, labelPairHash, SeriesSet } = series;
const { CHAR_BACKSLASH, CHAR_CLOSE_BRACE, CHAR_COMMA, CHAR_CR, CHAR_EQUALS, CHAR_HASH } = tokens;
const { CHAR_OPEN_BRACE, CHAR_QUOTE, describeChar, isBlank, skipBlanks, tokenEnd } = tokens;
const { isLabelNameChar, isLabelNameStart, isMetricNameChar, isMetricNameStart } = tokens;
const { parseFloatRange, parseIntegerRange, parseNumberRange } = tokens;

/** Lines longer than this (64 KiB of characters) are rejected unless the caller allows more. */
export const DEFAULT_MAX_LINE_LENGTH = 65_536;

/** Thrown inside the parser only, to unwind to {@link parseExposition} which turns it into a value. */
class ParseFailure extends Error {
  constructor(
    readonly line: number,
    readonly column: number,
    readonly reason: string,
  ) {
    super(reason);
  }
}

/** Parses a Prometheus text-format (0.0.4) or OpenMetrics text body in one pass. */
export function parseExposition(text: string, options: ParseExpositionOptions = {}): ExpositionResult {
  const parser = new ExpositionParser(
    text,
    options.format ?? 'prometheus',
    options.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH,
    options.seriesCache ?? null,
  );
  try {
    parser.parseBody();
  } catch (error) {
    if (!(error instanceof ParseFailure)) throw error;
    const message = `line ${error.line}, column ${error.column}: ${error.reason}`;
    return { ok: false, error: { line: error.line, column: error.column, message } };
  }
  return { ok: true, samples: parser.samples, metadata: parser.metadata };
}

let parses = 0;

class ExpositionParser {
  readonly samples: ParsedSample[] = [];
  readonly metadata = new Map<string, MetricMetadata>();
  private readonly series = new SeriesSet();
  /** Tells this parse from others sharing the cache's entries. */
  private readonly parseId = ++parses;
  private checkEverySample = false;
  /** Hash of the labels parsed so far for the current sample, summed pair by pair. */
  private labelsHash = 0;
  private readonly comments: CommentContext;
  private lineNo = 0;
  private lineStart = 0;
  private end = 0;
  private eofSeen = false;
  private lastName = '';
  /** Label names of the sample being parsed, reused across samples to spare an allocation per line. */
  private readonly labelNames: string[] = [];
  /** Labels of the sample being parsed, and its series cache entry when there is a cache. */
  private current: core.Labels = {};
  private currentCached: CachedSeriesText | undefined = undefined;
  /** The cache entry of the previous sample line, and the one that followed it in the last body. */
  private previousCached: CachedSeriesText | undefined = undefined;
  private predicted: CachedSeriesText | undefined;
  /** Where the value token parsed last ends. */
  private valueEnd = 0;

  constructor(
    private readonly text: string,
    private readonly format: ExpositionFormat,
    private readonly maxLineLength: number,
    private readonly cache: ExpositionSeriesCache | null,
  ) {
    this.comments = {
      format,
      metadata: this.metadata,
      sampleNamesSeen: new Set(),
      helpSeen: new Set(),
      typeSeen: new Set(),
      unitSeen: new Set(),
      fail: (pos, reason) => this.fail(pos, reason),
    };
    this.predicted = cache?.first;
  }

  parseBody(): void {
    const text = this.text;
    let start = 0;
    while (start < text.length) {
      let newline = text.indexOf('\n', start);
      if (newline < 0) newline = text.length;
      let end = newline;
      if (end > start && text.charCodeAt(end - 1) === CHAR_CR) end--;
      this.lineNo++;
      this.lineStart = start;
      this.end = end;
      if (end - start > this.maxLineLength) {
        this.fail(
          start + this.maxLineLength,
          `line is ${end - start} characters long, over the limit of ${this.maxLineLength}; ` +
            'expected shorter lines (check the exporter for runaway label values)',
        );
      }
      this.parseLine(start);
      start = newline + 1;
    }
    // The chain ends here; a link left from an older body would only mispredict.
    if (this.previousCached !== undefined) this.previousCached.next = undefined;
  }

  private fail(pos: number, reason: string): never {
    throw new ParseFailure(this.lineNo, pos - this.lineStart + 1, reason);
  }

  private parseLine(start: number): void {
    const pos = skipBlanks(this.text, start, this.end);
    if (pos === this.end) return;
    if (this.eofSeen) {
      this.fail(
        pos,
        `unexpected ${describeChar(this.text, pos, this.end)} after '# EOF'; expected the body to end there`,
      );
    }
    if (this.text.charCodeAt(pos) === CHAR_HASH) {
      const comment = parseCommentLine(this.text, pos, this.end, this.comments);
      if (comment === 'eof') this.eofSeen = true;
      return;
    }
    this.parseSample(pos);
  }

  private parseSample(start: number): void {
    const text = this.text;
    const end = this.end;
    // Bodies repeat in the same order: the line is most likely the series that followed the last one
    // in the previous body, which one comparison confirms without hashing or parsing labels. (Comparing
    // a slice with === is several times faster in V8 than startsWith() or a loop over char codes.)
    const predicted = this.predicted;
    if (predicted !== undefined) {
      const raw = predicted.raw;
      const after = start + raw.length;
      if (after < end && isBlank(text.charCodeAt(after)) && text.slice(start, after) === raw) {
        this.current = predicted.labels;
        this.currentCached = predicted;
        this.labelsHash = predicted.hash;
        this.parseValueAndRest(start, after, predicted.labels);
        return;
      }
    }
    if (!isMetricNameStart(text.charCodeAt(start))) {
      const hint =
        text.charCodeAt(start) === CHAR_OPEN_BRACE
          ? ' (quoted metric names inside braces are not supported)'
          : '';
      this.fail(
        start,
        `expected a metric name (letters, digits, '_' or ':', not starting with a digit), got ${describeChar(text, start, end)}${hint}`,
      );
    }
    let pos = start + 1;
    while (pos < end && isMetricNameChar(text.charCodeAt(pos))) pos++;
    const afterName = skipBlanks(text, pos, end);
    const hasLabels = afterName < end && text.charCodeAt(afterName) === CHAR_OPEN_BRACE;
    if (!hasLabels && afterName === pos && pos < end) {
      this.fail(
        pos,
        `expected '{' or a space after metric name "${text.slice(start, pos)}", got ${describeChar(text, pos, end)}`,
      );
    }
    pos = this.parseSeries(start, pos, hasLabels ? afterName : -1);
    const labels = this.current;
    if (pos < end && !isBlank(text.charCodeAt(pos))) {
      const name = labels[METRIC_NAME_LABEL] ?? '';
      this.fail(pos, `expected a space before the value of "${name}", got ${describeChar(text, pos, end)}`);
    }
    this.parseValueAndRest(start, pos, labels);
  }

  /** Parses what follows the series part (which ends at `seriesEnd`) and records the sample. */
  private parseValueAndRest(start: number, seriesEnd: number, labels: core.Labels): void {
    const text = this.text;
    const end = this.end;
    let pos = skipBlanks(text, seriesEnd, end);
    const value = this.parseValue(pos, labels);
    pos = skipBlanks(text, this.valueEnd, end);
    const timestampMs =
      pos === end ? undefined : this.parseTimestampAndRest(pos, labels[METRIC_NAME_LABEL] ?? '');
    this.addSample(start, seriesEnd, labels, value, timestampMs);
  }

  /**
   * Reads the series part (name and optional label block at `brace`, -1 when none) into `current`,
   * `currentCached` and `labelsHash`; returns the index after it. Known text skips label parsing.
   */
  private parseSeries(start: number, nameEnd: number, brace: number): number {
    const text = this.text;
    const cache = this.cache;
    const rawEnd = cache === null ? -1 : brace < 0 ? nameEnd : labelBlockEnd(text, brace + 1, this.end);
    const raw = rawEnd < 0 ? '' : text.slice(start, rawEnd);
    const hit = cache === null || rawEnd < 0 ? undefined : cache.get(raw);
    if (hit !== undefined) {
      this.current = hit.labels;
      this.currentCached = hit;
      this.labelsHash = hit.hash;
      return rawEnd;
    }
    const name = text.slice(start, nameEnd);
    // A literal key (not `[METRIC_NAME_LABEL]`) keeps V8 on its fast object path; this runs once per sample.
    const labels: Record<string, string> = { __name__: name };
    this.labelsHash = finalMix(hashRange(text, start, nameEnd));
    const pos = brace < 0 ? nameEnd : this.parseLabels(brace + 1, labels, name) + 1;
    this.current = labels;
    this.currentCached = cache === null || rawEnd < 0 ? undefined : cache.add(raw, labels, this.labelsHash);
    return pos;
  }

  private parseValue(pos: number, labels: core.Labels): number {
    const valueEnd = tokenEnd(this.text, pos, this.end);
    this.valueEnd = valueEnd;
    if (valueEnd === pos)
      this.fail(pos, `expected a value for "${labels[METRIC_NAME_LABEL] ?? ''}", got end of line`);
    const value = parseNumberRange(this.text, pos, valueEnd);
    if (value === undefined) {
      this.fail(
        pos,
        `invalid value '${this.text.slice(pos, valueEnd)}' for "${labels[METRIC_NAME_LABEL] ?? ''}"; expected a number like 1, -2.5e3, NaN, +Inf or -Inf`,
      );
    }
    return value;
  }

  /** Parses the optional timestamp, and in OpenMetrics skips an exemplar (`# {…} v`), which swas does not keep. */
  private parseTimestampAndRest(pos: number, name: string): number | undefined {
    const text = this.text;
    const end = this.end;
    if (pos === end || this.isExemplarStart(pos)) return undefined;
    const tsEnd = tokenEnd(text, pos, end);
    const timestampMs = this.parseTimestamp(pos, tsEnd, name);
    const rest = skipBlanks(text, tsEnd, end);
    if (rest < end && !this.isExemplarStart(rest)) {
      this.fail(
        rest,
        `unexpected ${describeChar(text, rest, end)} after the timestamp of "${name}"; expected end of line`,
      );
    }
    return timestampMs;
  }

  private isExemplarStart(pos: number): boolean {
    return this.format === 'openmetrics' && this.text.charCodeAt(pos) === CHAR_HASH;
  }

  /**
   * True when the body had this series before. An entry whose labels no other entry can have is a
   * duplicate only if its own text came before; once one that may share them shows up, every sample
   * (those before it too) goes through the set of label hashes.
   */
  private isDuplicate(cached: CachedSeriesText | undefined, labels: core.Labels): boolean {
    if (!this.checkEverySample) {
      if (cached !== undefined && !cached.mayAlias) return cached.parsedIn === this.parseId;
      this.checkEverySample = true;
      // Only samples with entries came before (a parse without a cache starts checking at its first).
      for (const sample of this.samples) this.series.add(sample.cached?.hash ?? 0, sample.labels);
    }
    return !this.series.add(this.labelsHash, labels);
  }

  /** Records that `cached` followed the previous sample line, so the next body can predict it. */
  private linkCached(cached: CachedSeriesText): void {
    const previous = this.previousCached;
    if (previous === undefined) {
      if (this.cache !== null) this.cache.first = cached;
    } else previous.next = cached;
    this.previousCached = cached;
    this.predicted = cached.next;
  }

  private parseTimestamp(pos: number, tsEnd: number, name: string): number {
    const token = this.text.slice(pos, tsEnd);
    if (this.format === 'openmetrics') {
      const seconds = parseFloatRange(this.text, pos, tsEnd);
      if (seconds === undefined || !Number.isFinite(seconds)) {
        this.fail(
          pos,
          `invalid timestamp '${token}' for "${name}"; expected seconds since the epoch like 1700000000.123`,
        );
      }
      return Math.round(seconds * 1000);
    }
    const ms = parseIntegerRange(this.text, pos, tsEnd);
    if (ms === undefined) {
      this.fail(
        pos,
        `invalid timestamp '${token}' for "${name}"; expected integer milliseconds since the epoch like 1700000000123`,
      );
    }
    return ms;
  }

  /** Parses `name="value", …}` starting after `{`; returns the index of the closing `}`. */
  private parseLabels(from: number, labels: Record<string, string>, metric: string): number {
    const text = this.text;
    const end = this.end;
    const names = this.labelNames;
    names.length = 0;
    let pos = skipBlanks(text, from, end);
    while (pos >= end || text.charCodeAt(pos) !== CHAR_CLOSE_BRACE) {
      const nameStart = pos;
      if (pos >= end || !isLabelNameStart(text.charCodeAt(pos))) {
        const what = names.length === 0 ? "a label name or '}'" : 'a label name';
        this.fail(pos, `expected ${what} in the labels of "${metric}", got ${describeChar(text, pos, end)}`);
      }
      pos++;
      while (pos < end && isLabelNameChar(text.charCodeAt(pos))) pos++;
      const labelName = text.slice(nameStart, pos);
      this.checkLabelName(nameStart, labelName, names, metric);
      pos = this.expectChar(skipBlanks(text, pos, end), CHAR_EQUALS, `'=' after label name "${labelName}"`);
      pos = skipBlanks(text, pos, end);
      pos = this.expectChar(pos, CHAR_QUOTE, `'"' to start the value of label "${labelName}"`);
      pos = this.readLabelValue(pos, nameStart, labelName, labels);
      pos = skipBlanks(text, pos, end);
      if (pos < end && text.charCodeAt(pos) === CHAR_COMMA) {
        pos = skipBlanks(text, pos + 1, end);
      } else if (pos >= end || text.charCodeAt(pos) !== CHAR_CLOSE_BRACE) {
        this.fail(
          pos,
          `expected ',' or '}' after the value of label "${labelName}", got ${describeChar(text, pos, end)}`,
        );
      }
    }
    return pos;
  }

  private checkLabelName(pos: number, labelName: string, names: string[], metric: string): void {
    if (labelName === METRIC_NAME_LABEL) {
      this.fail(pos, `label name "${METRIC_NAME_LABEL}" is reserved for the metric name; rename the label`);
    }
    if (names.includes(labelName)) {
      this.fail(
        pos,
        `duplicate label "${labelName}" in one sample of "${metric}"; each label name may appear once`,
      );
    }
    names.push(labelName);
  }

  private expectChar(pos: number, char: number, what: string): number {
    if (pos >= this.end || this.text.charCodeAt(pos) !== char) {
      this.fail(pos, `expected ${what}, got ${describeChar(this.text, pos, this.end)}`);
    }
    return pos + 1;
  }

  /** Reads a label value after its opening quote; returns the index after the closing quote. */
  private readLabelValue(
    from: number,
    nameStart: number,
    labelName: string,
    labels: Record<string, string>,
  ): number {
    const text = this.text;
    const end = this.end;
    let pos = from;
    let chunkStart = from;
    let value = '';
    for (;;) {
      if (pos >= end) this.failUnterminated(from - 1, labelName);
      const c = text.charCodeAt(pos);
      if (c === CHAR_QUOTE) break;
      if (c !== CHAR_BACKSLASH) {
        pos++;
        continue;
      }
      value += text.slice(chunkStart, pos);
      const escaped = pos + 1 < end ? text.charCodeAt(pos + 1) : -1;
      if (escaped === CHAR_BACKSLASH || escaped === CHAR_QUOTE) value += String.fromCharCode(escaped);
      else if (escaped === 110) value += '\n';
      else if (escaped === -1) this.failUnterminated(from - 1, labelName);
      else {
        this.fail(
          pos,
          `invalid escape '\\${String.fromCharCode(escaped)}' in the value of label "${labelName}"; only \\\\, \\" and \\n are allowed`,
        );
      }
      pos += 2;
      chunkStart = pos;
    }
    value += text.slice(chunkStart, pos);
    // An empty value means "no such label" in Prometheus; keeping it would make `a=""` differ from absent.
    if (value !== '') {
      core.assignLabel(labels, labelName, value);
      const pairHash = labelPairHash(text, nameStart, nameStart + labelName.length, from, pos);
      this.labelsHash = (this.labelsHash + pairHash) | 0;
    }
    return pos + 1;
  }

  private failUnterminated(quotePos: number, labelName: string): never {
    this.fail(
      quotePos,
      `unterminated value of label "${labelName}": expected a closing '"' before the end of the line`,
    );
  }

  private addSample(
    start: number,
    seriesEnd: number,
    labels: core.Labels,
    value: number,
    timestampMs: number | undefined,
  ): void {
    const cached = this.currentCached;
    if (this.isDuplicate(cached, labels)) {
      const series = this.text.slice(start, seriesEnd);
      this.fail(start, `duplicate series ${series} in one body; expected each series at most once`);
    }
    // Label objects come in many shapes, so reading the name from them is a slow lookup; entries keep it.
    const name = cached === undefined ? (labels[METRIC_NAME_LABEL] ?? '') : cached.name;
    // Samples of one metric come in runs, so skipping the set for a repeated name saves most lookups.
    if (name !== this.lastName) {
      this.comments.sampleNamesSeen.add(name);
      this.lastName = name;
    }
    if (cached !== undefined) {
      cached.parsedIn = this.parseId;
      this.linkCached(cached);
      this.samples.push(
        timestampMs === undefined ? { labels, value, cached } : { labels, value, timestampMs, cached },
      );
    } else {
      this.samples.push(timestampMs === undefined ? { labels, value } : { labels, value, timestampMs });
    }
  }
}
