import { parseDuration } from '../core/index.js';

/** Parses the text of a number literal as Prometheus does (decimal, hex, octal, binary, Inf, NaN, or a duration in seconds). */
export function parseNumberText(raw: string): number | null {
  const text = raw.replace(/\s+/g, '');
  let sign = 1;
  let body = text;
  if (body.startsWith('+') || body.startsWith('-')) {
    if (body.startsWith('-')) sign = -1;
    body = body.slice(1);
  }
  const value = parseUnsigned(body);
  return value === null ? null : sign * value;
}

function parseUnsigned(body: string): number | null {
  if (body === '') return null;
  const lower = body.toLowerCase();
  if (lower === 'inf' || lower === 'infinity') return Infinity;
  if (lower === 'nan') return NaN;
  if (/^\d+(?:ms|s|m|h|d|w|y)/.test(body)) {
    const ms = parseDuration(body);
    return ms === null ? null : ms / 1000;
  }
  const digits = body.replace(/_/g, '');
  if (/^0[xX][0-9a-fA-F]+$/.test(digits)) return parseInt(digits.slice(2), 16);
  if (/^0[bB][01]+$/.test(digits)) return parseInt(digits.slice(2), 2);
  if (/^0[oO][0-7]+$/.test(digits)) return parseInt(digits.slice(2), 8);
  // A leading zero means octal, as in Go's ParseInt with base 0.
  if (/^0[0-7]+$/.test(digits)) return parseInt(digits.slice(1), 8);
  if (!/^(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/.test(digits)) return null;
  return Number(digits);
}

/** Parses a duration written in a range or offset (`5m`, `1h30m`, or plain seconds such as `90` or `1.5`) into milliseconds. */
export function parseDurationTextMs(text: string): number | null {
  if (/^\d+(?:ms|s|m|h|d|w|y)/.test(text)) return parseDuration(text);
  const seconds = parseNumberText(text);
  if (seconds === null || !Number.isFinite(seconds)) return null;
  return Math.round(seconds * 1000);
}

const simpleEscapes: Record<string, string> = {
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
  '\\': '\\',
  "'": "'",
  '"': '"',
};

/** The outcome of unquoting a PromQL string literal. */
export type UnquoteResult = { ok: true; value: string } | { ok: false; error: string };

/** Unquotes a PromQL string literal: "…" and '…' with Go escapes, or `…` taken verbatim. */
export function unquoteString(literal: string): UnquoteResult {
  const quote = literal[0];
  if (literal.length < 2 || literal[literal.length - 1] !== quote)
    return { ok: false, error: 'unterminated quoted string' };
  const body = literal.slice(1, -1);
  if (quote === '`') return { ok: true, value: body };
  if (quote !== '"' && quote !== "'") return { ok: false, error: 'invalid syntax' };
  const bytes: number[] = [];
  const encoder = new TextEncoder();
  const pushText = (s: string): void => {
    for (const b of encoder.encode(s)) bytes.push(b);
  };
  for (let i = 0; i < body.length; i++) {
    const c = body[i] ?? '';
    if (c !== '\\') {
      const cp = body.codePointAt(i) ?? 0;
      const ch = String.fromCodePoint(cp);
      pushText(ch);
      i += ch.length - 1;
      continue;
    }
    const e = body[++i];
    if (e === undefined) return { ok: false, error: 'invalid syntax' };
    const simple = simpleEscapes[e];
    if (simple !== undefined) {
      pushText(simple);
      continue;
    }
    const fixed = e === 'x' ? 2 : e === 'u' ? 4 : e === 'U' ? 8 : /[0-7]/.test(e) ? 3 : 0;
    if (fixed === 0) return { ok: false, error: `invalid escape sequence \\${e}` };
    const digits =
      e === 'x' || e === 'u' || e === 'U' ? body.slice(i + 1, i + 1 + fixed) : body.slice(i, i + fixed);
    const radix = /[0-7]/.test(e) ? 8 : 16;
    const pattern = radix === 8 ? /^[0-7]{3}$/ : /^[0-9a-fA-F]+$/;
    if (digits.length !== fixed || !pattern.test(digits))
      return { ok: false, error: `invalid escape sequence \\${e}` };
    const code = parseInt(digits, radix);
    i += radix === 8 ? fixed - 1 : fixed;
    if (e === 'x' || radix === 8) {
      if (code > 255) return { ok: false, error: 'octal escape value > 255' };
      bytes.push(code);
    } else {
      if (code > 0x10ffff || (code >= 0xd800 && code < 0xe000))
        return { ok: false, error: 'invalid unicode code point' };
      pushText(String.fromCodePoint(code));
    }
  }
  return { ok: true, value: new TextDecoder().decode(new Uint8Array(bytes)) };
}

/** True when text is valid UTF-8 once unquoted (Prometheus rejects label names that are not). */
export function isValidUtf8LabelName(name: string): boolean {
  return name !== '' && !name.includes('\uFFFD');
}
