import { GoMap, GoStruct, GoTime, goTypeName, sortedKeys, type GoValue } from './templateValues.js';

/** Decimal digits of a positive number without trailing zeros; the value is 0.digits × 10^dp. */
interface Decimal {
  digits: string;
  dp: number;
}

/** The exact decimal expansion of a finite positive double (every double has a finite one). */
function exactDecimal(v: number): Decimal {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, v);
  const bits = view.getBigUint64(0);
  const expBits = Number((bits >> 52n) & 0x7ffn);
  let mant = bits & ((1n << 52n) - 1n);
  let e = -1074;
  if (expBits !== 0) {
    mant |= 1n << 52n;
    e = expBits - 1075;
  }
  const text = e >= 0 ? (mant << BigInt(e)).toString() : (mant * 5n ** BigInt(-e)).toString();
  return trimZeros({ digits: text, dp: text.length + Math.min(e, 0) });
}

function trimZeros(d: Decimal): Decimal {
  let end = d.digits.length;
  while (end > 0 && d.digits[end - 1] === '0') end--;
  return end === 0 ? { digits: '', dp: 0 } : { digits: d.digits.slice(0, end), dp: d.dp };
}

/** Rounds to n significant digits, ties to even, as Go's strconv does with exact values. */
function roundDecimal(d: Decimal, n: number): Decimal {
  if (n >= d.digits.length) return d;
  if (n < 0) return { digits: '', dp: 0 };
  const next = d.digits.charCodeAt(n) - 48;
  const rest = /[1-9]/.test(d.digits.slice(n + 1));
  const prevOdd = n > 0 && (d.digits.charCodeAt(n - 1) - 48) % 2 === 1;
  const up = next > 5 || (next === 5 && (rest || prevOdd));
  if (!up) return trimZeros({ digits: d.digits.slice(0, n), dp: d.dp });
  const kept = [...d.digits.slice(0, n)];
  let i = kept.length - 1;
  while (i >= 0 && kept[i] === '9') kept[i--] = '0';
  if (i < 0) return { digits: '1', dp: d.dp + 1 };
  kept[i] = String(Number(kept[i]) + 1);
  return trimZeros({ digits: kept.join(''), dp: d.dp });
}

/** The shortest digits that read back as v (JS and Go agree on these). */
function shortestDecimal(v: number): Decimal {
  const [mant = '', exp = '0'] = v.toExponential().split('e');
  return trimZeros({ digits: mant.replace('.', ''), dp: Number(exp) + 1 });
}

function digitAt(d: Decimal, i: number): string {
  return d.digits[i] ?? '0';
}

function formatE(d: Decimal, prec: number, upper: boolean): string {
  let out = digitAt(d, 0);
  if (prec > 0) {
    out += '.';
    for (let i = 1; i <= prec; i++) out += digitAt(d, i);
  }
  const exp = d.digits === '' ? 0 : d.dp - 1;
  const abs = Math.abs(exp);
  return `${out}${upper ? 'E' : 'e'}${exp < 0 ? '-' : '+'}${abs < 10 ? '0' : ''}${abs}`;
}

function formatF(d: Decimal, prec: number): string {
  let out = '';
  if (d.dp > 0) for (let i = 0; i < d.dp; i++) out += digitAt(d, i);
  else out = '0';
  if (prec > 0) {
    out += '.';
    for (let i = 0; i < prec; i++) out += digitAt(d, d.dp + i);
  }
  return out;
}

/**
 * Formats a float64 as Go's fmt does for %e, %f, %g and %v (prec < 0 means "shortest"), without sign
 * handling for NaN/Inf flags; the result carries a leading '-' for negative numbers.
 */
export function formatGoFloat(v: number, verb: 'e' | 'E' | 'f' | 'g' | 'G' | 'v', prec = -1): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf';
  const neg = v < 0 || Object.is(v, -0);
  const abs = Math.abs(v);
  const sign = neg ? '-' : '';
  const shortest = prec < 0;
  const zero: Decimal = { digits: '', dp: 0 };
  if (verb === 'e' || verb === 'E') {
    const p = shortest ? -1 : prec;
    const d = abs === 0 ? zero : shortest ? shortestDecimal(abs) : roundDecimal(exactDecimal(abs), p + 1);
    return sign + formatE(d, shortest ? Math.max(d.digits.length - 1, 0) : p, verb === 'E');
  }
  if (verb === 'f') {
    if (shortest) {
      const d = abs === 0 ? zero : shortestDecimal(abs);
      return sign + formatF(d, Math.max(d.digits.length - d.dp, 0));
    }
    const exact = abs === 0 ? zero : exactDecimal(abs);
    return sign + formatF(roundDecimal(exact, exact.dp + prec), prec);
  }
  let p = shortest ? -1 : prec === 0 ? 1 : prec;
  const d = abs === 0 ? zero : shortest ? shortestDecimal(abs) : roundDecimal(exactDecimal(abs), p);
  const nd = d.digits.length;
  let eprec = p;
  if (eprec > nd && nd >= d.dp) eprec = nd;
  if (shortest) {
    eprec = 6;
    p = nd;
  }
  const exp = d.dp - 1;
  if (exp < -4 || exp >= eprec) return sign + formatE(d, Math.min(p, nd) - 1, verb === 'G');
  if (p > d.dp) p = nd;
  return sign + formatF(d, Math.max(p - d.dp, 0));
}

/** Go's time.Time.String() for a UTC time: `2015-06-23 13:19:44.128 +0000 UTC`. */
export function formatGoTime(t: GoTime): string {
  const date = new Date(t.ms);
  const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
  const ms = ((t.ms % 1000) + 1000) % 1000;
  const frac = ms === 0 ? '' : `.${pad(ms, 3).replace(/0+$/, '')}`;
  return (
    `${pad(date.getUTCFullYear(), 4)}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())} ` +
    `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}${frac} +0000 UTC`
  );
}

/** Formats a value as Go's %v does; `top` is false inside containers (pointers then print as addresses in Go). */
export function formatGoValue(v: GoValue, nil = '<nil>'): string {
  if (v === null) return nil;
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return formatGoFloat(v, 'v');
  if (typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  if (v instanceof GoTime) return formatGoTime(v);
  if (v instanceof GoMap) {
    return `map[${sortedKeys(v)
      .map((k) => `${k}:${formatGoValue(v.entries.get(k) ?? null)}`)
      .join(' ')}]`;
  }
  if (v instanceof GoStruct) {
    const body = [...v.fields.values()].map((f) => formatGoValue(f)).join(' ');
    return `${v.typeName.startsWith('*') ? '&' : ''}{${body}}`;
  }
  return `[${v.map((e) => formatGoValue(e)).join(' ')}]`;
}

/** Go's fmt.Sprint: operands formatted with %v, a space between two operands when neither is a string. */
export function goSprint(args: readonly GoValue[]): string {
  let out = '';
  args.forEach((a, i) => {
    if (i > 0 && typeof a !== 'string' && typeof args[i - 1] !== 'string') out += ' ';
    out += formatGoValue(a);
  });
  return out;
}

/** Go's strconv.Quote: a double-quoted string with Go escapes for control and non-printable characters. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    const named: Record<string, string> = {
      '\x07': '\\a',
      '\b': '\\b',
      '\f': '\\f',
      '\n': '\\n',
      '\r': '\\r',
      '\t': '\\t',
      '\v': '\\v',
      '\\': '\\\\',
      '"': '\\"',
    };
    const esc = named[ch];
    if (esc !== undefined) out += esc;
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else if (/[\p{C}\p{Zl}\p{Zp}]/u.test(ch)) {
      out += c > 0xffff ? `\\U${c.toString(16).padStart(8, '0')}` : `\\u${c.toString(16).padStart(4, '0')}`;
    } else out += ch;
  }
  return `${out}"`;
}

interface Spec {
  plus: boolean;
  minus: boolean;
  space: boolean;
  zero: boolean;
  width: number | null;
  prec: number | null;
}

function pad(text: string, spec: Spec, numeric: boolean): string {
  if (spec.width === null || text.length >= spec.width) return text;
  const fill = spec.width - text.length;
  if (spec.minus) return text + ' '.repeat(fill);
  if (spec.zero && numeric && !/Inf|NaN/.test(text)) {
    const signLen = /^[+\- ]/.test(text) ? 1 : 0;
    return text.slice(0, signLen) + '0'.repeat(fill) + text.slice(signLen);
  }
  return ' '.repeat(fill) + text;
}

function withSign(text: string, spec: Spec): string {
  if (text.startsWith('-')) return text;
  return spec.plus ? `+${text}` : spec.space ? ` ${text}` : text;
}

function badVerb(verb: string, arg: GoValue): string {
  return arg === null ? `%!${verb}(<nil>)` : `%!${verb}(${goTypeName(arg)}=${formatGoValue(arg)})`;
}

function formatInt(verb: string, n: bigint, spec: Spec): string | null {
  const abs = n < 0n ? -n : n;
  const minus = n < 0n ? '-' : '';
  switch (verb) {
    case 'd':
    case 'v':
      return withSign(minus + abs.toString(), spec);
    case 'b':
      return withSign(minus + abs.toString(2), spec);
    case 'o':
      return withSign(minus + abs.toString(8), spec);
    case 'x':
      return withSign(minus + abs.toString(16), spec);
    case 'X':
      return withSign(minus + abs.toString(16).toUpperCase(), spec);
    case 'c':
      return String.fromCodePoint(Number(n));
    case 'q':
      return `'${String.fromCodePoint(Number(n))}'`;
    default:
      return null;
  }
}

function formatOne(verb: string, arg: GoValue, spec: Spec): string {
  if (verb === 'T') return pad(arg === null ? '<nil>' : goTypeName(arg), spec, false);
  if (typeof arg === 'bigint') {
    const text = formatInt(verb, arg, spec);
    return text === null ? badVerb(verb, arg) : pad(text, spec, verb !== 'c' && verb !== 'q');
  }
  if (typeof arg === 'number') {
    const floatVerb = verb === 'F' ? 'f' : verb;
    if (!['e', 'E', 'f', 'g', 'G', 'v'].includes(floatVerb)) return badVerb(verb, arg);
    const prec = spec.prec ?? (floatVerb === 'e' || floatVerb === 'E' || floatVerb === 'f' ? 6 : -1);
    return pad(withSign(formatGoFloat(arg, floatVerb as 'e', prec), spec), spec, true);
  }
  if (typeof arg === 'string') {
    const text = spec.prec === null ? arg : [...arg].slice(0, spec.prec).join('');
    if (verb === 's' || verb === 'v') return pad(text, spec, false);
    if (verb === 'q') return pad(goQuote(text), spec, false);
    if (verb === 'x' || verb === 'X') {
      const hex = Buffer.from(text, 'utf8').toString('hex');
      return pad(verb === 'X' ? hex.toUpperCase() : hex, spec, false);
    }
    return badVerb(verb, arg);
  }
  if (typeof arg === 'boolean')
    return verb === 't' || verb === 'v' ? pad(String(arg), spec, false) : badVerb(verb, arg);
  if (verb === 'v' || (verb === 's' && arg !== null)) return pad(formatGoValue(arg), spec, false);
  return badVerb(verb, arg);
}

/** Go's fmt.Sprintf for the verbs templates use (%s %d %v %f %.Nf %g %e %q %x %t %c %b %o %%), with widths and flags. */
export function goSprintf(format: string, args: readonly GoValue[]): string {
  let out = '';
  let argIndex = 0;
  let i = 0;
  while (i < format.length) {
    const pct = format.indexOf('%', i);
    if (pct < 0) {
      out += format.slice(i);
      break;
    }
    out += format.slice(i, pct);
    i = pct + 1;
    const spec: Spec = { plus: false, minus: false, space: false, zero: false, width: null, prec: null };
    for (; i < format.length; i++) {
      const c = format[i];
      if (c === '+') spec.plus = true;
      else if (c === '-') spec.minus = true;
      else if (c === ' ') spec.space = true;
      else if (c === '0') spec.zero = true;
      else if (c !== '#') break;
    }
    const width = /^\d+/.exec(format.slice(i));
    if (width !== null) {
      spec.width = Number(width[0]);
      i += width[0].length;
    }
    if (format[i] === '.') {
      const prec = /^\d*/.exec(format.slice(i + 1))?.[0] ?? '';
      spec.prec = Number(prec === '' ? 0 : prec);
      i += 1 + prec.length;
    }
    const verb = format[i];
    if (verb === undefined) {
      out += '%!(NOVERB)';
      break;
    }
    i++;
    if (verb === '%') {
      out += '%';
      continue;
    }
    if (argIndex >= args.length) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    out += formatOne(verb, args[argIndex++] ?? null, spec);
  }
  if (argIndex < args.length) {
    const extra = args
      .slice(argIndex)
      .map((a) => (a === null ? '<nil>' : `${goTypeName(a)}=${formatGoValue(a)}`));
    out += `%!(EXTRA ${extra.join(', ')})`;
  }
  return out;
}
