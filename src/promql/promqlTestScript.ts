import { labelsKey } from '../core/index.js';
import type { Labels } from '../core/index.js';
import { parseDurationTextMs } from './literals.js';
import { expandSeriesValues, parseSeriesDescriptor } from './seriesNotation.js';
import type { NotationValue } from './seriesNotation.js';

// The test script format of Prometheus's promqltest package (see conformance/promql/FORMAT.md): load, clear
// and eval commands with expected results. Native histogram samples ({{…}}) are recognised but not loaded.

/** One series of a `load` block; a value of undefined is a native histogram sample (not loaded). */
export interface LoadedSeries {
  readonly labels: Labels;
  readonly values: ReadonlyArray<NotationValue | undefined>;
}

/** An expected series: labels (null for a bare scalar) and its values, one per step. */
export interface ExpectedSeries {
  readonly labels: Labels | null;
  readonly values: readonly NotationValue[];
}

/** One `eval` command. */
export interface EvalCase {
  readonly line: number;
  readonly expr: string;
  readonly instant: boolean;
  /** Instant: the evaluation time; range: start, end and step (milliseconds). */
  readonly atMs: number;
  readonly endMs: number;
  readonly stepMs: number;
  readonly expectFail: boolean;
  readonly failMessage?: { readonly exact?: string; readonly regex?: string };
  readonly ordered: boolean;
  readonly expectedString?: string;
  /** For an instant query returning a range vector: the timestamps of the expected values. */
  readonly rangeVector?: { readonly startMs: number; readonly stepMs: number };
  readonly expected: readonly ExpectedSeries[];
  /** The expected output holds native histograms, which swas does not evaluate. */
  readonly expectsHistograms: boolean;
  /** `expect warn|info|no_warn|no_info` lines (and the eval_warn / eval_info variants). */
  readonly annotations: readonly AnnotationExpectation[];
}

/** One expectation about a query's warnings or infos; a message to match exactly or by regex, or any. */
export interface AnnotationExpectation {
  readonly type: 'warn' | 'info' | 'no_warn' | 'no_info';
  readonly exact?: string;
  readonly regex?: string;
}

/** A command of a test script. */
export type ScriptCommand =
  | {
      readonly kind: 'load';
      readonly line: number;
      readonly intervalMs: number;
      readonly series: readonly LoadedSeries[];
      readonly withNhcb: boolean;
    }
  | { readonly kind: 'clear'; readonly line: number }
  | { readonly kind: 'eval'; readonly case: EvalCase };

function ms(text: string, line: number): number {
  const negative = text.startsWith('-');
  const value = parseDurationTextMs(negative ? text.slice(1) : text);
  if (value === null) throw new SyntaxError(`line ${line}: invalid time or duration ${JSON.stringify(text)}`);
  return negative ? -value : value;
}

/** Splits "descriptor values" at the first whitespace outside braces and quotes. */
function splitSeriesLine(text: string): [string, string] {
  let depth = 0;
  let quote: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] ?? '';
    if (quote !== null) {
      if (c === '\\') i++;
      else if (c === quote) quote = null;
    } else if (c === '"' || c === "'" || c === '`') quote = c;
    else if (c === '{') depth++;
    else if (c === '}') depth--;
    else if (depth === 0 && /\s/.test(c)) return [text.slice(0, i), text.slice(i).trim()];
  }
  return [text, ''];
}

/** Expands values where native histogram samples (`{{…}}` with an optional `xN`) stand as undefined. */
function expandWithHistograms(text: string): Array<NotationValue | undefined> {
  const out: Array<NotationValue | undefined> = [];
  const parts = text.split(/(\{\{.*?\}\}(?:[+-]\{\{.*?\}\})?(?:x\d+)?)/);
  for (const part of parts) {
    const histogram = /^\{\{.*\}\}(?:x(\d+))?$/.exec(part);
    if (histogram === null) out.push(...expandSeriesValues(part));
    else for (let i = 0; i <= Number(histogram[1] ?? 0); i++) out.push(undefined);
  }
  return out;
}

function descriptorLabels(text: string): Labels {
  return text.trim() === '{}' ? {} : parseSeriesDescriptor(text);
}

function parseLoad(header: string, body: Array<[number, string]>, line: number): ScriptCommand {
  const [, interval = ''] = /^load(?:_with_nhcb)?\s+(\S+)/.exec(header) ?? [];
  const series = body.map(([, text]) => {
    const [descriptor, values] = splitSeriesLine(text.trim());
    return { labels: descriptorLabels(descriptor), values: expandWithHistograms(values) };
  });
  return {
    kind: 'load',
    line,
    intervalMs: ms(interval, line),
    series,
    withNhcb: header.startsWith('load_with_nhcb'),
  };
}

const evalPattern =
  /^eval(_fail|_ordered|_warn|_info)?\s+(?:instant\s+at\s+(\S+)|range\s+from\s+(\S+)\s+to\s+(\S+)\s+step\s+(\S+))\s+(.*)$/;

type Expectations = Pick<
  EvalCase,
  | 'expectFail'
  | 'failMessage'
  | 'ordered'
  | 'expectedString'
  | 'rangeVector'
  | 'expected'
  | 'expectsHistograms'
  | 'annotations'
>;

/** Reads the body of an eval: `expect …` lines, then expected series or a bare scalar. */
function parseExpectations(
  body: Array<[number, string]>,
  variant: string | undefined,
  line: number,
): Expectations {
  const out: { -readonly [K in keyof Expectations]: Expectations[K] } = {
    expectFail: variant === '_fail',
    ordered: variant === '_ordered',
    expected: [],
    expectsHistograms: false,
    annotations: variant === '_warn' ? [{ type: 'warn' }] : variant === '_info' ? [{ type: 'info' }] : [],
  };
  const annotations: AnnotationExpectation[] = [...out.annotations];
  const expected: ExpectedSeries[] = [];
  for (const [, raw] of body) {
    const text = raw.trim();
    const rangeExpectation = /^expect\s+range\s+vector\s+from\s+(\S+)\s+to\s+\S+\s+step\s+(\S+)$/.exec(text);
    const stringExpectation = /^expect\s+string\s+(.*)$/.exec(text);
    const expectation = /^expect\s+(\w+)(?:\s+(msg|regex)\s*:\s*(.*))?$/.exec(text);
    if (rangeExpectation !== null) {
      out.rangeVector = {
        startMs: ms(rangeExpectation[1] ?? '', line),
        stepMs: ms(rangeExpectation[2] ?? '', line),
      };
    } else if (stringExpectation !== null) {
      out.expectedString = (stringExpectation[1] ?? '').trim().slice(1, -1);
    } else if (expectation !== null) {
      const [, type, how, message = ''] = expectation;
      if (type === 'ordered') out.ordered = true;
      if (type === 'warn' || type === 'info' || type === 'no_warn' || type === 'no_info') {
        const text = unquoteExpectation(message);
        annotations.push({
          type,
          ...(how === 'msg' ? { exact: text } : how === 'regex' ? { regex: text } : {}),
        });
      }
      if (type !== 'fail') continue;
      out.expectFail = true;
      if (how === 'msg') out.failMessage = { exact: unquoteExpectation(message) };
      if (how === 'regex') out.failMessage = { regex: unquoteExpectation(message) };
    } else if (text.includes('{{')) {
      out.expectsHistograms = true;
    } else if (!/^expected_fail_(message|regexp)/.test(text)) {
      expected.push(parseExpectedSeries(text));
    }
  }
  return { ...out, expected, annotations };
}

function parseExpectedSeries(text: string): ExpectedSeries {
  const bare =
    /^[-+]?(?:[\d.]|Inf|NaN)/i.test(text) && !/[{a-zA-Z_:]/.test(text.replace(/\b(?:inf|nan)\b/gi, ''));
  if (bare) return { labels: null, values: expandSeriesValues(text) };
  const [descriptor, values] = splitSeriesLine(text);
  return { labels: descriptorLabels(descriptor), values: expandSeriesValues(values) };
}

function parseEval(header: string, body: Array<[number, string]>, line: number): ScriptCommand {
  const m = evalPattern.exec(header);
  if (m === null) throw new SyntaxError(`line ${line}: invalid eval command ${JSON.stringify(header)}`);
  const [, variant, at, from, to, step, expr = ''] = m;
  const instant = at !== undefined;
  const times = instant
    ? { atMs: ms(at, line), endMs: ms(at, line), stepMs: 0 }
    : { atMs: ms(from ?? '', line), endMs: ms(to ?? '', line), stepMs: ms(step ?? '', line) };
  return { kind: 'eval', case: { line, expr, instant, ...times, ...parseExpectations(body, variant, line) } };
}

function unquoteExpectation(text: string): string {
  const t = text.trim();
  return /^(["'`]).*\1$/.test(t) ? t.slice(1, -1) : t;
}

/** Parses a promqltest script into commands; a malformed line is a SyntaxError naming it. */
export function parsePromqlTestScript(text: string): ScriptCommand[] {
  const lines = text.split('\n');
  const commands: ScriptCommand[] = [];
  for (let i = 0; i < lines.length; i++) {
    const header = lines[i] ?? '';
    if (header.trim() === '' || header.trim().startsWith('#')) continue;
    const line = i + 1;
    const body: Array<[number, string]> = [];
    while (i + 1 < lines.length && /^\s+\S/.test(lines[i + 1] ?? '')) {
      i++;
      const bodyLine = lines[i] ?? '';
      if (!bodyLine.trim().startsWith('#')) body.push([i + 1, bodyLine]);
    }
    if (header.startsWith('clear')) commands.push({ kind: 'clear', line });
    else if (header.startsWith('load')) commands.push(parseLoad(header, body, line));
    else if (header.startsWith('eval')) commands.push(parseEval(header, body, line));
    else throw new SyntaxError(`line ${line}: unknown command ${JSON.stringify(header)}`);
  }
  return commands;
}

/** A key for expected and actual label sets. */
export function expectationKey(labels: Labels | null): string {
  return labelsKey(labels ?? {});
}
