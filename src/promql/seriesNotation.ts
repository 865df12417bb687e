import { STALE_NAN } from '../core/index.js';
import type { Labels, SampleAppender } from '../core/index.js';
import { parseExpr } from './parser.js';

/**
 * One expanded value of promtool's series notation: a number, a staleness marker, or a gap (null).
 * Staleness is a tag, not STALE_NAN itself: JavaScript arrays may canonicalize NaN payloads.
 */
export type NotationValue = number | 'stale' | null;

const valuePattern =
  /^([+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|Inf|NaN))(?:([+-](?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+|Inf))?x(\d+))?$/i;

function parseFloatToken(text: string): number {
  const lower = text.toLowerCase();
  if (lower === 'inf' || lower === '+inf') return Infinity;
  if (lower === '-inf') return -Infinity;
  if (lower === 'nan' || lower === '+nan' || lower === '-nan') return NaN;
  return Number(text);
}

/**
 * Expands promtool's series values (`1 2 _ stale 0+10x3 5x2 _x2`): `a+bxn` is a, a+b, …, a+n·b; `axn` repeats a
 * n+1 times; `_` is a missing sample; `stale` a staleness marker. Throws on malformed input (test data).
 */
export function expandSeriesValues(text: string): NotationValue[] {
  const out: NotationValue[] = [];
  for (const token of text.split(/\s+/).filter((t) => t !== '')) {
    if (token === '_') {
      out.push(null);
      continue;
    }
    if (token === 'stale') {
      out.push('stale');
      continue;
    }
    const gaps = /^_x(\d+)$/.exec(token);
    if (gaps !== null) {
      for (let i = 0; i < Number(gaps[1]); i++) out.push(null);
      continue;
    }
    const m = valuePattern.exec(token);
    if (m === null)
      throw new SyntaxError(
        `invalid series value ${JSON.stringify(token)}; expected e.g. 1, 0+10x5, _ or stale`,
      );
    const start = parseFloatToken(m[1] ?? '');
    if (m[3] === undefined) {
      out.push(start);
      continue;
    }
    const delta = m[2] === undefined ? 0 : parseFloatToken(m[2]);
    for (let i = 0, v = start; i <= Number(m[3]); i++, v += delta) out.push(v);
  }
  return out;
}

/** Parses a series descriptor such as `http_requests_total{job="api"}` into labels. */
export function parseSeriesDescriptor(text: string): Labels {
  const parsed = parseExpr(text);
  if (
    !parsed.ok ||
    parsed.expr.kind !== 'VectorSelector' ||
    parsed.expr.matchers.some((m) => m.type !== '=')
  ) {
    throw new SyntaxError(
      `invalid series descriptor ${JSON.stringify(text)}; expected e.g. metric{label="value"}`,
    );
  }
  const labels: Record<string, string> = {};
  for (const m of parsed.expr.matchers) labels[m.name] = m.value;
  return labels;
}

/**
 * Appends series written in promtool notation, one per line (`metric{a="b"} 0+1x10`), the n-th value at
 * startMs + n·intervalMs. Used to load test data and rule unit tests.
 */
export function appendSeriesNotation(
  appender: SampleAppender,
  lines: string,
  intervalMs: number,
  startMs = 0,
): void {
  for (const line of lines.split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const split = descriptorEnd(trimmed);
    const labels = parseSeriesDescriptor(trimmed.slice(0, split));
    expandSeriesValues(trimmed.slice(split)).forEach((v, i) => {
      if (v !== null) appender.append(labels, startMs + i * intervalMs, v === 'stale' ? STALE_NAN : v);
    });
  }
}

/** Where the descriptor ends: the first whitespace outside braces and quotes. */
function descriptorEnd(line: string): number {
  let depth = 0;
  let quote: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i] ?? '';
    if (quote !== null) {
      if (c === '\\') i++;
      else if (c === quote) quote = null;
      continue;
    }
    if (c === '"' || c === "'" || c === '`') quote = c;
    else if (c === '{') depth++;
    else if (c === '}') depth--;
    else if (depth === 0 && /\s/.test(c)) return i;
  }
  return line.length;
}
