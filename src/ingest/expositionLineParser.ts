import * as core from '../core/index.js';
import * as series from './expositionSeries.js';
import * as tokens from './expositionTokens.js';
import type { ExpositionFormat } from './expositionTypes.js';

// Local copies of the hot-path helpers: under tsx and vitest every use of an imported binding is a
// getter call, which doubled the parse time of large bodies.
const { METRIC_NAME_LABEL } = core;
const { labelPairHash } = series;
const { CHAR_BACKSLASH, CHAR_CLOSE_BRACE, CHAR_COMMA, CHAR_EQUALS, CHAR_HASH, CHAR_QUOTE } = tokens;
const { describeChar, skipBlanks, tokenEnd } = tokens;
const { isLabelNameChar, isLabelNameStart, parseFloatRange, parseIntegerRange, parseNumberRange } = tokens;

/** Thrown inside the parser only, to unwind to `parseExposition`, which turns it into a value. */
export class ParseFailure extends Error {
  constructor(
    readonly line: number,
    readonly column: number,
    readonly reason: string,
  ) {
    super(reason);
  }
}

/**
 * The parts of one exposition line after the metric name: the label block, the value and the timestamp (and an
 * OpenMetrics exemplar, skipped), each rejected with its line and column. The body parser extends it.
 */
export class ExpositionLineParser {
  /** The line being parsed: its number, and where it starts and ends in `text`. */
  protected lineNo = 0;
  protected lineStart = 0;
  protected end = 0;
  /** Hash of the labels parsed so far for the current sample, summed pair by pair. */
  protected labelsHash = 0;
  /** Where the value token parsed last ends. */
  protected valueEnd = 0;
  /** Label names of the sample being parsed, reused across samples to spare an allocation per line. */
  private readonly labelNames: string[] = [];

  constructor(
    /** The body, or the piece of it being parsed (a body may come in pieces that each end with a line). */
    protected text: string,
    protected readonly format: ExpositionFormat,
  ) {}

  /** Stops the parse with `reason` at `pos` in the current line. */
  protected fail(pos: number, reason: string): never {
    throw new ParseFailure(this.lineNo, pos - this.lineStart + 1, reason);
  }

  /** Parses the sample value at `pos`; `valueEnd` then says where it ends. */
  protected parseValue(pos: number, labels: core.Labels): number {
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
  protected parseTimestampAndRest(pos: number, name: string): number | undefined {
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
  protected parseLabels(from: number, labels: Record<string, string>, metric: string): number {
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
}
