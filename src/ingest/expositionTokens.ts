// Character-level helpers for the exposition parser. They work on char codes and index ranges of the
// whole body so the parser never allocates per character.

export const CHAR_TAB = 9;
export const CHAR_LF = 10;
export const CHAR_CR = 13;
export const CHAR_SPACE = 32;
export const CHAR_QUOTE = 34;
export const CHAR_HASH = 35;
export const CHAR_COMMA = 44;
export const CHAR_EQUALS = 61;
export const CHAR_BACKSLASH = 92;
export const CHAR_OPEN_BRACE = 123;
export const CHAR_CLOSE_BRACE = 125;

/** True for the blanks the text format allows between tokens. */
export function isBlank(c: number): boolean {
  return c === CHAR_SPACE || c === CHAR_TAB;
}

function isLetter(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** True for a character that may start a metric name: `[a-zA-Z_:]`. */
export function isMetricNameStart(c: number): boolean {
  return isLetter(c) || c === 95 || c === 58;
}

/** True for a character that may continue a metric name: `[a-zA-Z0-9_:]`. */
export function isMetricNameChar(c: number): boolean {
  return isLetter(c) || isDigit(c) || c === 95 || c === 58;
}

/** True for a character that may start a label name: `[a-zA-Z_]`. */
export function isLabelNameStart(c: number): boolean {
  return isLetter(c) || c === 95;
}

/** True for a character that may continue a label name: `[a-zA-Z0-9_]`. */
export function isLabelNameChar(c: number): boolean {
  return isLetter(c) || isDigit(c) || c === 95;
}

/** True when the whole string is a valid metric name. */
export function isValidMetricName(name: string): boolean {
  if (name.length === 0 || !isMetricNameStart(name.charCodeAt(0))) return false;
  for (let i = 1; i < name.length; i++) if (!isMetricNameChar(name.charCodeAt(i))) return false;
  return true;
}

/** True when the whole string is a valid label name. */
export function isValidLabelName(name: string): boolean {
  if (name.length === 0 || !isLabelNameStart(name.charCodeAt(0))) return false;
  for (let i = 1; i < name.length; i++) if (!isLabelNameChar(name.charCodeAt(i))) return false;
  return true;
}

/** Describes the character at `pos` for an error message: `'x'`, or "end of line" past `end`. */
export function describeChar(text: string, pos: number, end: number): string {
  if (pos >= end) return 'end of line';
  const cp = text.codePointAt(pos) ?? 0;
  if (cp === CHAR_TAB) return 'a tab';
  if (cp < 32) return `control character U+${cp.toString(16).padStart(4, '0').toUpperCase()}`;
  return `'${String.fromCodePoint(cp)}'`;
}

/** Index of the first blank (or `end`) at or after `pos`. */
export function tokenEnd(text: string, pos: number, end: number): number {
  let i = pos;
  while (i < end && !isBlank(text.charCodeAt(i))) i++;
  return i;
}

/** Index of the first non-blank (or `end`) at or after `pos`. */
export function skipBlanks(text: string, pos: number, end: number): number {
  let i = pos;
  while (i < end && isBlank(text.charCodeAt(i))) i++;
  return i;
}

function skipDigits(text: string, pos: number, end: number): number {
  let i = pos;
  while (i < end && isDigit(text.charCodeAt(i))) i++;
  return i;
}

function parseSpecialFloat(token: string): number | undefined {
  // Go's strconv.ParseFloat, which Prometheus uses, accepts these spellings case-insensitively.
  const lower = token.toLowerCase();
  if (lower === 'nan') return NaN;
  const unsigned = lower[0] === '+' || lower[0] === '-' ? lower.slice(1) : lower;
  if (unsigned !== 'inf' && unsigned !== 'infinity') return undefined;
  return lower[0] === '-' ? -Infinity : Infinity;
}

/**
 * Parses `text[start, end)` as a decimal float (`1`, `-2.5e3`, `.5`, `NaN`, `+Inf`, `-Inf`);
 * undefined when it is not one. Validates the grammar first because `Number()` accepts hex, blanks and ''.
 */
export function parseFloatRange(text: string, start: number, end: number): number | undefined {
  let i = start;
  const first = text.charCodeAt(i);
  if (first === 43 || first === 45) i++;
  if (i < end && isLetter(text.charCodeAt(i))) return parseSpecialFloat(text.slice(start, end));
  const intEnd = skipDigits(text, i, end);
  let mantissaDigits = intEnd - i;
  i = intEnd;
  if (i < end && text.charCodeAt(i) === 46) {
    const fracEnd = skipDigits(text, i + 1, end);
    mantissaDigits += fracEnd - (i + 1);
    i = fracEnd;
  }
  if (mantissaDigits === 0) return undefined;
  if (i < end && (text.charCodeAt(i) === 101 || text.charCodeAt(i) === 69)) {
    i++;
    if (i < end && (text.charCodeAt(i) === 43 || text.charCodeAt(i) === 45)) i++;
    const expEnd = skipDigits(text, i, end);
    if (expEnd === i) return undefined;
    i = expEnd;
  }
  if (i !== end) return undefined;
  return Number(text.slice(start, end));
}

// Powers of ten that are exact doubles: a mantissa below 2^53 times or divided by one is correctly rounded.
const EXACT_POWERS_OF_TEN = Array.from({ length: 23 }, (_, i) => 10 ** i);

/**
 * Parses `text[start, end)` like {@link parseFloatRange} without making a string, for the plain decimals
 * nearly every sample has (at most 15 significant digits, an exponent of at most 22 either way); anything
 * else goes to {@link parseFloatRange}, which gives the same result as `Number()`.
 */
export function parseNumberRange(text: string, start: number, end: number): number | undefined {
  let i = start;
  let c = text.charCodeAt(i);
  const negative = c === 45;
  if (negative || c === 43) c = text.charCodeAt(++i);
  let mantissa = 0;
  let digits = 0;
  let scale = 0;
  while (i < end && c >= 48 && c <= 57) {
    mantissa = mantissa * 10 + (c - 48);
    digits++;
    c = text.charCodeAt(++i);
  }
  if (i < end && c === 46) {
    c = text.charCodeAt(++i);
    while (i < end && c >= 48 && c <= 57) {
      mantissa = mantissa * 10 + (c - 48);
      digits++;
      scale--;
      c = text.charCodeAt(++i);
    }
  }
  if (i < end && (c === 101 || c === 69)) {
    c = text.charCodeAt(++i);
    const negativeExponent = c === 45;
    if (negativeExponent || c === 43) c = text.charCodeAt(++i);
    let exponent = 0;
    const exponentStart = i;
    while (i < end && c >= 48 && c <= 57 && i - exponentStart < 4) {
      exponent = exponent * 10 + (c - 48);
      c = text.charCodeAt(++i);
    }
    if (i === exponentStart) return parseFloatRange(text, start, end);
    scale += negativeExponent ? -exponent : exponent;
  }
  if (i !== end || digits === 0 || digits > 15 || scale < -22 || scale > 22) {
    return parseFloatRange(text, start, end);
  }
  const magnitude =
    scale < 0 ? mantissa / (EXACT_POWERS_OF_TEN[-scale] ?? 1) : mantissa * (EXACT_POWERS_OF_TEN[scale] ?? 1);
  return negative ? -magnitude : magnitude;
}

/** Parses `text[start, end)` as a signed integer; undefined when it is not one or not exactly representable. */
export function parseIntegerRange(text: string, start: number, end: number): number | undefined {
  let i = start;
  const first = text.charCodeAt(i);
  if (first === 43 || first === 45) i++;
  if (i === end || skipDigits(text, i, end) !== end) return undefined;
  const value = Number(text.slice(start, end));
  return Number.isSafeInteger(value) ? value : undefined;
}

/** Unescapes a HELP docstring: `\\` and `\n`; any other backslash is kept as written, as Prometheus does. */
export function unescapeHelp(raw: string): string {
  if (!raw.includes('\\')) return raw;
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    const next = raw[i + 1];
    if (c === '\\' && next === 'n') {
      out += '\n';
      i++;
    } else if (c === '\\' && next === '\\') {
      out += '\\';
      i++;
    } else {
      out += c;
    }
  }
  return out;
}
