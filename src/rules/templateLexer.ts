/** A token of a Go text/template; `pos` is the offset in the template text, `spaced` whether blanks preceded it. */
export interface TemplateToken {
  readonly kind:
    | 'text'
    | 'left'
    | 'right'
    | 'ident'
    | 'field'
    | 'variable'
    | 'dot'
    | 'string'
    | 'number'
    | 'lparen'
    | 'rparen'
    | 'pipe'
    | 'declare'
    | 'assign'
    | 'comma';
  readonly pos: number;
  readonly end: number;
  readonly text: string;
  /** The decoded value of a string or the numeric value of a number (bigint for Go ints) or a char. */
  readonly value?: string | number | bigint;
  readonly spaced: boolean;
}

/** A syntax error at an offset of the template text. */
export class TemplateSyntaxError extends Error {
  constructor(
    readonly pos: number,
    message: string,
  ) {
    super(message);
    this.name = 'TemplateSyntaxError';
  }
}

const SPACE = /[ \t\r\n]/;
const ALNUM = /[\p{L}\p{Nd}_]/u;

/** Splits a template into text and action tokens, applying `{{-`/`-}}` trimming and dropping comments. */
export function lexTemplate(src: string): TemplateToken[] {
  const out: TemplateToken[] = [];
  let i = 0;
  let trimNext = false;
  while (i < src.length) {
    const open = src.indexOf('{{', i);
    let text = src.slice(i, open < 0 ? src.length : open);
    if (trimNext) text = text.replace(/^[ \t\r\n]+/, '');
    const trimHere = open >= 0 && src[open + 2] === '-' && SPACE.test(src[open + 3] ?? '');
    if (trimHere) text = text.replace(/[ \t\r\n]+$/, '');
    if (text !== '')
      out.push({ kind: 'text', pos: i, end: open < 0 ? src.length : open, text, spaced: false });
    if (open < 0) break;
    const start = trimHere ? open + 4 : open + 2;
    const action = lexAction(src, open, start, out);
    i = action.end;
    trimNext = action.trim;
  }
  return out;
}

function rightDelimAt(src: string, j: number): { end: number; trim: boolean } | null {
  if (src.startsWith('}}', j)) return { end: j + 2, trim: false };
  if (SPACE.test(src[j] ?? '') && src.startsWith('-}}', j + 1)) return { end: j + 4, trim: true };
  return null;
}

function lexAction(
  src: string,
  open: number,
  start: number,
  out: TemplateToken[],
): { end: number; trim: boolean } {
  let j = start;
  if (src.startsWith('/*', start)) {
    const close = src.indexOf('*/', start + 2);
    if (close < 0) throw new TemplateSyntaxError(start, 'unclosed comment');
    const delim = rightDelimAt(src, close + 2);
    if (delim === null) throw new TemplateSyntaxError(close, 'comment ends before closing delimiter');
    return delim;
  }
  out.push({ kind: 'left', pos: open, end: start, text: src.slice(open, start), spaced: false });
  let depth = 0;
  let spaced = false;
  for (;;) {
    const delim = rightDelimAt(src, j);
    if (delim !== null) {
      if (depth > 0) throw new TemplateSyntaxError(j, 'unclosed left paren');
      out.push({ kind: 'right', pos: j, end: delim.end, text: src.slice(j, delim.end), spaced });
      return delim;
    }
    const c = src[j];
    if (c === undefined) throw new TemplateSyntaxError(open, 'unclosed action');
    if (SPACE.test(c)) {
      j++;
      spaced = true;
      continue;
    }
    const token = lexToken(src, j, spaced);
    if (token.kind === 'lparen') depth++;
    if (token.kind === 'rparen' && --depth < 0) throw new TemplateSyntaxError(j, 'unexpected right paren');
    out.push(token);
    j = token.end;
    spaced = false;
  }
}

function lexToken(src: string, j: number, spaced: boolean): TemplateToken {
  const c = src[j] ?? '';
  const make = (
    kind: TemplateToken['kind'],
    end: number,
    value?: string | number | bigint,
  ): TemplateToken => ({
    kind,
    pos: j,
    end,
    text: src.slice(j, end),
    spaced,
    ...(value === undefined ? {} : { value }),
  });
  const simple: Record<string, TemplateToken['kind']> = {
    '(': 'lparen',
    ')': 'rparen',
    '|': 'pipe',
    ',': 'comma',
    '=': 'assign',
  };
  if (src.startsWith(':=', j)) return make('declare', j + 2);
  const kind = simple[c];
  if (kind !== undefined) return make(kind, j + 1);
  if (c === '"') {
    const { value, end } = lexQuoted(src, j);
    return make('string', end, value);
  }
  if (c === '`') {
    const close = src.indexOf('`', j + 1);
    if (close < 0) throw new TemplateSyntaxError(j, 'unterminated raw quoted string');
    return make('string', close + 1, src.slice(j + 1, close));
  }
  if (c === "'") {
    const { value, end } = lexQuoted(src, j);
    const chars = [...value];
    if (chars.length !== 1)
      throw new TemplateSyntaxError(j, `malformed character constant: ${src.slice(j, end)}`);
    return make('number', end, BigInt(chars[0]?.codePointAt(0) ?? 0));
  }
  if (c === '$' || c === '.') {
    const word = /^[\p{L}\p{Nd}_]*/u.exec(src.slice(j + 1))?.[0] ?? '';
    if (c === '.' && /^\d/.test(word)) return lexNumber(src, j, make);
    const end = j + 1 + word.length;
    checkTermEnd(src, end);
    return make(c === '$' ? 'variable' : word === '' ? 'dot' : 'field', end);
  }
  if (/[0-9]/.test(c) || (/[+-]/.test(c) && /^[+-]\.?[0-9]/.test(src.slice(j, j + 3))))
    return lexNumber(src, j, make);
  if (ALNUM.test(c)) {
    const word = /^[\p{L}\p{Nd}_]+/u.exec(src.slice(j))?.[0] ?? c;
    checkTermEnd(src, j + word.length);
    return make('ident', j + word.length);
  }
  const code = c.codePointAt(0) ?? 0;
  throw new TemplateSyntaxError(
    j,
    `unrecognized character in action: U+${code.toString(16).toUpperCase().padStart(4, '0')}${/[\p{L}\p{M}\p{N}\p{P}\p{S}]/u.test(c) ? ` '${c}'` : ''}`,
  );
}

function checkTermEnd(src: string, end: number): void {
  const next = src[end];
  if (next === undefined || SPACE.test(next) || '.,|:)('.includes(next) || src.startsWith('}}', end)) return;
  throw new TemplateSyntaxError(
    end,
    `bad character U+${(next.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')} '${next}'`,
  );
}

function lexNumber(
  src: string,
  j: number,
  make: (kind: 'number', end: number, value: number | bigint) => TemplateToken,
): TemplateToken {
  const text =
    /^[+-]?(?:0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+|(?:[0-9][0-9_]*)?\.?[0-9_]*(?:[eE][+-]?[0-9_]+)?)/.exec(
      src.slice(j),
    )?.[0] ?? '';
  const end = j + text.length;
  if (text === '' || ALNUM.test(src[end] ?? '') || src[end] === '.')
    throw new TemplateSyntaxError(j, `bad number syntax: "${src.slice(j, end + 1)}"`);
  const plain = text.replaceAll('_', '');
  const isInt = /^[+-]?(?:0[xXbBoO][0-9a-fA-F]+|[0-9]+)$/.test(plain);
  if (isInt) {
    const neg = plain.startsWith('-');
    const body = plain.replace(/^[+-]/, '');
    const n = /^0[0-7]+$/.test(body) ? BigInt(`0o${body.slice(1)}`) : BigInt(body);
    return make('number', end, neg ? -n : n);
  }
  const value = Number(plain);
  if (Number.isNaN(value)) throw new TemplateSyntaxError(j, `bad number syntax: "${text}"`);
  return make('number', end, value);
}

const ESCAPES: Record<string, string> = {
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
  '\\': '\\',
  '"': '"',
  "'": "'",
};

/** Decodes a Go interpreted string literal ("…" or '…') starting at j. */
function lexQuoted(src: string, j: number): { value: string; end: number } {
  const quote = src[j];
  let value = '';
  let k = j + 1;
  for (;;) {
    const c = src[k];
    if (c === undefined || c === '\n')
      throw new TemplateSyntaxError(
        j,
        quote === '"' ? 'unterminated quoted string' : 'unterminated character constant',
      );
    if (c === quote) return { value, end: k + 1 };
    if (c !== '\\') {
      value += c;
      k++;
      continue;
    }
    const e = src[k + 1] ?? '';
    const named = ESCAPES[e];
    if (named !== undefined) {
      value += named;
      k += 2;
      continue;
    }
    const hex = e === 'x' ? 2 : e === 'u' ? 4 : e === 'U' ? 8 : 0;
    const digits = hex > 0 ? src.slice(k + 2, k + 2 + hex) : src.slice(k + 1, k + 4);
    const ok = hex > 0 ? new RegExp(`^[0-9a-fA-F]{${hex}}$`).test(digits) : /^[0-7]{3}$/.test(digits);
    if (!ok) throw new TemplateSyntaxError(k, `invalid escape sequence "\\${e}" in quoted string`);
    const code = parseInt(digits, hex > 0 ? 16 : 8);
    value += hex === 2 || hex === 0 ? Buffer.from([code]).toString('latin1') : String.fromCodePoint(code);
    k += hex > 0 ? 2 + hex : 4;
  }
}
