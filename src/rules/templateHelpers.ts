import { isIP } from 'node:net';
import { expandRegexpReplacement, parseDuration } from '../core/index.js';
import { formatGoFloat, formatGoValue, goSprint } from './templateFormat.js';
import { GoTime, goTypeName, type GoValue } from './templateValues.js';

/** An expected failure inside a template function; the evaluator reports it as `error calling NAME: …`. */
export class TemplateFuncError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateFuncError';
  }
}

/** Go's strconv.ParseFloat for the forms rule files use: decimals, exponents, Inf and NaN. */
export function parseGoFloat(s: string): number {
  if (/^[+-]?(?:inf|infinity)$/i.test(s)) return s.startsWith('-') ? -Infinity : Infinity;
  if (/^[+-]?nan$/i.test(s)) return NaN;
  if (!/^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/.test(s)) {
    throw new TemplateFuncError(`strconv.ParseFloat: parsing ${JSON.stringify(s)}: invalid syntax`);
  }
  const v = Number(s);
  if (!Number.isFinite(v)) {
    throw new TemplateFuncError(`strconv.ParseFloat: parsing ${JSON.stringify(s)}: value out of range`);
  }
  return v;
}

/** Prometheus's ConvertToFloat: numbers as they are, strings parsed as Go floats. */
export function toFloat(v: GoValue): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string') return parseGoFloat(v);
  throw new TemplateFuncError(`can't convert ${v === null ? '<nil>' : goTypeName(v)} to float`);
}

/** Prometheus's floatToTime: seconds since the epoch to a time with millisecond precision. */
export function floatToTime(v: number): GoTime | null {
  if (Number.isNaN(v) || !Number.isFinite(v)) return null;
  const ns = v * 1e9;
  if (ns >= 2 ** 63 || ns < -(2 ** 63)) {
    throw new TemplateFuncError(
      `${formatGoValue(v)} cannot be represented as a nanoseconds timestamp since it overflows int64`,
    );
  }
  return new GoTime(Number(BigInt(Math.trunc(ns)) / 1_000_000n));
}

/** Prometheus's model.ParseDuration, in seconds. */
export function parseDurationSeconds(text: string): number {
  const ms = text === '0' ? 0 : parseDuration(text);
  if (ms === null) throw new TemplateFuncError(`not a valid duration string: ${JSON.stringify(text)}`);
  return ms / 1000;
}

/** Compiles a Go (RE2) regular expression as a JS one: leading (?flags) and (?P<name>…) are translated. */
export function compileGoRegexp(pattern: string, extraFlags = ''): RegExp {
  let flags = extraFlags;
  let body = pattern;
  const lead = /^\(\?([ims]+)\)/.exec(body);
  if (lead !== null) {
    flags += (lead[1] ?? '').replaceAll(/(.)(?=.*\1)/g, '');
    body = body.slice(lead[0].length);
  }
  body = body.replaceAll('(?P<', '(?<').replaceAll('\\z', '$').replaceAll('\\A', '^');
  try {
    return new RegExp(body, flags);
  } catch (err) {
    throw new TemplateFuncError(
      `error parsing regexp ${JSON.stringify(pattern)}: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
}

/** Go's Regexp.ReplaceAllString: `$1`, `${name}` and `$$` in repl; empty matches right after a match are skipped. */
export function replaceAllGo(pattern: string, repl: string, text: string): string {
  const re = compileGoRegexp(pattern, 'g');
  let out = '';
  let last = 0;
  let prevEnd = -1;
  let pos = 0;
  while (pos <= text.length) {
    re.lastIndex = pos;
    const m = re.exec(text);
    if (m === null) break;
    const start = m.index;
    const end = start + m[0].length;
    if (start === end && start === prevEnd) {
      pos = start + 1;
      continue;
    }
    out += text.slice(last, start) + expandRegexpReplacement(repl, m);
    last = end;
    prevEnd = end;
    pos = start === end ? end + 1 : end;
  }
  return out + text.slice(last);
}

/** Go's strings.Title: upper-cases the first letter of each word. */
export function titleCase(s: string): string {
  let prev = ' ';
  let out = '';
  for (const ch of s) {
    const separator = /[\p{L}\p{N}_]/u.test(prev)
      ? false
      : /[\s\p{P}\p{S}]/u.test(prev) || prev.charCodeAt(0) < 0x80;
    out += separator ? ch.toUpperCase() : ch;
    prev = ch;
  }
  return out;
}

/** Go's net.SplitHostPort; null where Go returns an error. */
export function splitHostPort(hostport: string): { host: string; port: string } | null {
  const i = hostport.lastIndexOf(':');
  if (i < 0) return null;
  let host: string;
  let j = 0;
  let k = 0;
  if (hostport.startsWith('[')) {
    const end = hostport.indexOf(']');
    if (end < 0 || end + 1 !== i) return null;
    host = hostport.slice(1, end);
    j = 1;
    k = end + 1;
  } else {
    host = hostport.slice(0, i);
    if (host.includes(':')) return null;
  }
  if (hostport.slice(j).includes('[') || hostport.slice(k).includes(']')) return null;
  return { host, port: hostport.slice(i + 1) };
}

/** Prometheus's stripPort: the host of host:port, or the input when it has no port. */
export function stripPort(hostport: string): string {
  return splitHostPort(hostport)?.host ?? hostport;
}

/** Prometheus's stripDomain: the first label of a host name, keeping the port; IP addresses unchanged. */
export function stripDomain(hostport: string): string {
  if (hostport === '') return '';
  const split = splitHostPort(hostport);
  const host = split?.host ?? hostport;
  if (isIP(host) !== 0) return hostport;
  const first = host.split('.')[0] ?? '';
  if (split === null || split.port === '') return first;
  return `${first.includes(':') ? `[${first}]` : first}:${split.port}`;
}

/** Go's url.QueryEscape: space as '+', everything but letters, digits and -_.~ percent-encoded. */
export function queryEscape(s: string): string {
  return encodeURIComponent(s)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replaceAll('%20', '+');
}

/** Go's template.HTMLEscapeString. */
export function htmlEscape(s: string): string {
  const map: Record<string, string> = {
    '"': '&#34;',
    "'": '&#39;',
    '&': '&amp;',
    '<': '&lt;',
    '>': '&gt;',
    '\0': '\uFFFD',
  };
  return s.replace(/["'&<>\0]/g, (c) => map[c] ?? c);
}

/** Go's template.JSEscapeString. */
export function jsEscape(s: string): string {
  const map: Record<string, string> = {
    '\\': '\\\\',
    "'": "\\'",
    '"': '\\"',
    '<': '\\u003C',
    '>': '\\u003E',
    '&': '\\u0026',
    '=': '\\u003D',
  };
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    out += map[ch] ?? (c < 0x20 ? `\\u${c.toString(16).toUpperCase().padStart(4, '0')}` : ch);
  }
  return out;
}

/** The text the escaping builtins (html, js, urlquery) work on: a single string as is, else fmt.Sprint. */
export function escaperInput(args: readonly GoValue[]): string {
  const [only] = args;
  return args.length === 1 && typeof only === 'string' ? only : goSprint(args);
}

/** Prometheus's humanize: SI prefixes with 4 significant digits (1234567 → 1.235M, 0.12 → 120m). */
export function humanize(v: number): string {
  if (v === 0 || !Number.isFinite(v)) return formatGoFloat(v, 'g', 4);
  let x = v;
  let prefix = '';
  if (Math.abs(x) >= 1) {
    for (const p of ['k', 'M', 'G', 'T', 'P', 'E', 'Z', 'Y']) {
      if (Math.abs(x) < 1000) break;
      prefix = p;
      x /= 1000;
    }
  } else {
    for (const p of ['m', 'u', 'n', 'p', 'f', 'a', 'z', 'y']) {
      if (Math.abs(x) >= 1) break;
      prefix = p;
      x *= 1000;
    }
  }
  return formatGoFloat(x, 'g', 4) + prefix;
}

/** Prometheus's humanize1024: binary prefixes (1048576 → 1Mi). */
export function humanize1024(v: number): string {
  if (Math.abs(v) <= 1 || !Number.isFinite(v)) return formatGoFloat(v, 'g', 4);
  let x = v;
  let prefix = '';
  for (const p of ['ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei', 'Zi', 'Yi']) {
    if (Math.abs(x) < 1024) break;
    prefix = p;
    x /= 1024;
  }
  return formatGoFloat(x, 'g', 4) + prefix;
}

/** Prometheus's humanizeDuration: seconds as `1d 2h 3m 4s`, or `1.234s`, `100ms` below a minute. */
export function humanizeDuration(v: number): string {
  if (!Number.isFinite(v)) return formatGoFloat(v, 'g', 4);
  if (v === 0) return `${formatGoFloat(v, 'g', 4)}s`;
  if (Math.abs(v) >= 1) {
    const sign = v < 0 ? '-' : '';
    const abs = Math.abs(v);
    const whole = BigInt(Math.trunc(abs));
    const seconds = whole % 60n;
    const minutes = (whole / 60n) % 60n;
    const hours = (whole / 3600n) % 24n;
    const days = whole / 86400n;
    if (days !== 0n) return `${sign}${days}d ${hours}h ${minutes}m ${seconds}s`;
    if (hours !== 0n) return `${sign}${hours}h ${minutes}m ${seconds}s`;
    if (minutes !== 0n) return `${sign}${minutes}m ${seconds}s`;
    return `${sign}${formatGoFloat(abs, 'g', 4)}s`;
  }
  let x = v;
  let prefix = '';
  for (const p of ['m', 'u', 'n', 'p', 'f', 'a', 'z', 'y']) {
    if (Math.abs(x) >= 1) break;
    prefix = p;
    x *= 1000;
  }
  return `${formatGoFloat(x, 'g', 4)}${prefix}s`;
}
