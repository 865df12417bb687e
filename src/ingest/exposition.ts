import * as core from '../core/index.js';
import * as series from './expositionSeries.js';
import * as tokens from './expositionTokens.js';
import { parseCommentLine, type CommentContext } from './expositionComments.js';
import { ExpositionLineParser, ParseFailure } from './expositionLineParser.js';
import type {
  CachedSeriesText,
  ExpositionFormat,
  ExpositionSeriesCache,
  ExpositionResult,
  MetricMetadata,
  ParsedSample,
  ParseExpositionOptions,
  SampleColumnSink,
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
const { finalMix, hashRange, labelBlockEnd, SeriesSet } = series;
const { CHAR_CR, CHAR_HASH, CHAR_OPEN_BRACE, describeChar, isBlank, skipBlanks } = tokens;
const { isMetricNameChar, isMetricNameStart } = tokens;

/** Lines longer than this (64 KiB of characters) are rejected unless the caller allows more. */
export const DEFAULT_MAX_LINE_LENGTH = 65_536;

/**
 * Parses a Prometheus text-format (0.0.4) or OpenMetrics text body in one pass. The body may be given in
 * pieces, each but the last ending with a newline (large bodies are decoded that way, see scrapeFetch.ts).
 */
export function parseExposition(
  text: string | readonly string[],
  options: ParseExpositionOptions = {},
): ExpositionResult {
  const pieces = typeof text === 'string' ? [text] : text;
  const parser = new ExpositionParser(
    pieces[0] ?? '',
    options.format ?? 'prometheus',
    options.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH,
    options.seriesCache ?? null,
    options.seriesCache === undefined ? null : (options.columns ?? null),
  );
  try {
    for (const piece of pieces) parser.parsePiece(piece);
    parser.finish();
  } catch (error) {
    if (!(error instanceof ParseFailure)) throw error;
    const message = `line ${error.line}, column ${error.column}: ${error.reason}`;
    return { ok: false, error: { line: error.line, column: error.column, message } };
  }
  return { ok: true, samples: parser.samples, metadata: parser.metadata };
}

let parses = 0;

/** One parse of one body: its lines and comments, series (predicted from the cache), duplicates and samples. */
class ExpositionParser extends ExpositionLineParser {
  readonly samples: ParsedSample[] = [];
  readonly metadata = new Map<string, MetricMetadata>();
  private readonly series = new SeriesSet();
  /** Tells this parse from others sharing the cache's entries. */
  private readonly parseId = ++parses;
  private checkEverySample = false;
  private readonly comments: CommentContext;
  private eofSeen = false;
  private lastName = '';
  /** Labels of the sample being parsed, and its series cache entry when there is a cache. */
  private current: core.Labels = {};
  private currentCached: CachedSeriesText | undefined = undefined;
  /** The cache entry of the previous sample line, and the one that followed it in the last body. */
  private previousCached: CachedSeriesText | undefined = undefined;
  private predicted: CachedSeriesText | undefined;

  constructor(
    text: string,
    format: ExpositionFormat,
    private readonly maxLineLength: number,
    private readonly cache: ExpositionSeriesCache | null,
    /** Where samples with a cache entry go instead of `samples`, when given. */
    private readonly columns: SampleColumnSink | null,
  ) {
    super(text, format);
    columns?.clear();
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

  /** Parses the next piece of the body: whole lines, continuing the line count and state of earlier pieces. */
  parsePiece(piece: string): void {
    this.text = piece;
    const text = piece;
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
  }

  /** Ends the body. */
  finish(): void {
    // The chain ends here; a link left from an older body would only mispredict.
    if (this.previousCached !== undefined) this.previousCached.next = undefined;
    this.columns?.trim();
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
      const columns = this.columns;
      if (columns !== null) {
        for (let i = 0; i < columns.length; i++) {
          const entry = columns.entries[i] as CachedSeriesText;
          this.series.add(entry.hash, entry.labels);
        }
      }
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
      // With a cache every sample line has an entry (the series text ends where its labels do).
      if (this.columns !== null) this.columns.push(cached, value, timestampMs);
      else
        this.samples.push(
          timestampMs === undefined ? { labels, value, cached } : { labels, value, timestampMs, cached },
        );
    } else {
      this.samples.push(timestampMs === undefined ? { labels, value } : { labels, value, timestampMs });
    }
  }
}
