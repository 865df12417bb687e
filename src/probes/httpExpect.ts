import { formatDuration, translateRe2 } from '../core/index.js';
import type { HttpExchange, HttpResponseSeen } from './httpRequest.js';
import { lookupJsonPath, parseJsonPath } from './jsonPath.js';

/** One assertion on a value in a JSON body; with none of equals/matches/exists the value must exist. */
export interface JsonExpectation {
  /** `$.a.b[0]`, see {@link parseJsonPath}. */
  readonly path: string;
  /** The JSON value expected there (deep equality). */
  readonly equals?: unknown;
  /** RE2 pattern the value (strings as-is, others as JSON) must match, unanchored. */
  readonly matches?: string | undefined;
  /** True: the path must exist; false: it must not. */
  readonly exists?: boolean | undefined;
}

/** What a response must look like for the probe (or scenario step) to pass. */
export interface HttpExpectConfig {
  /** Codes (`200`), classes (`2xx`) or ranges (`200-299`). */
  readonly status: readonly string[];
  readonly body_contains?: string | undefined;
  /** RE2 pattern the body must match, unanchored. */
  readonly body_matches?: string | undefined;
  readonly json: readonly JsonExpectation[];
  /** Header name → RE2 pattern its value must match, unanchored. */
  readonly headers: Readonly<Record<string, string>>;
  /** Milliseconds the request (with redirects) may take at most. */
  readonly max_latency?: number | undefined;
  /** Milliseconds the TLS certificate must still be valid for. */
  readonly cert_expires_after?: number | undefined;
}

/** A parsed status pattern: an inclusive range of codes. */
export type StatusPatternParse =
  | { readonly ok: true; readonly min: number; readonly max: number }
  | { readonly ok: false; readonly error: string };

/** Parses `200`, `2xx` or `200-299`. */
export function parseStatusPattern(text: string): StatusPatternParse {
  const trimmed = text.trim().toLowerCase();
  const single = /^([1-5]\d\d)$/.exec(trimmed);
  if (single) return { ok: true, min: Number(single[1]), max: Number(single[1]) };
  const family = /^([1-5])xx$/.exec(trimmed);
  if (family) return { ok: true, min: Number(family[1]) * 100, max: Number(family[1]) * 100 + 99 };
  const range = /^([1-5]\d\d)-([1-5]\d\d)$/.exec(trimmed);
  if (range && Number(range[1]) <= Number(range[2]))
    return { ok: true, min: Number(range[1]), max: Number(range[2]) };
  return {
    ok: false,
    error: `"${text}" is not a status; write a code (200), a class (2xx) or a range (200-299)`,
  };
}

/** A compiled pattern, or why it does not compile. */
export type ProbeRegexCompile =
  { readonly ok: true; readonly regex: RegExp } | { readonly ok: false; readonly error: string };

/** Compiles an RE2 (Go/Prometheus syntax) pattern for unanchored matching. */
export function compileProbeRegex(pattern: string): ProbeRegexCompile {
  const translated = translateRe2(pattern);
  if (!translated.ok)
    return { ok: false, error: `/${pattern}/ is not a valid regular expression: ${translated.error}` };
  try {
    return { ok: true, regex: new RegExp(translated.source) };
  } catch (error) {
    const reason = (error as Error).message.replace(/^Invalid regular expression: \/.*\/\w*: /, '');
    return { ok: false, error: `/${pattern}/ is not a valid regular expression: ${reason}` };
  }
}

/** Checks a response against its expectations; the first failure in words, or null when all hold. */
export function checkHttpExpectations(
  expect: HttpExpectConfig,
  exchange: HttpExchange,
  nowMs: number,
): string | null {
  const response = exchange.response;
  if (response === null) return exchange.error ?? 'no response';
  return (
    checkStatus(expect.status, response.status) ??
    checkLatency(expect.max_latency, exchange.durationSeconds) ??
    checkHeaders(expect.headers, response) ??
    checkBody(expect, response) ??
    checkCertificate(expect.cert_expires_after, exchange, nowMs)
  );
}

function checkStatus(patterns: readonly string[], status: number): string | null {
  const ok = patterns.some((text) => {
    const parsed = parseStatusPattern(text);
    return parsed.ok && status >= parsed.min && status <= parsed.max;
  });
  return ok ? null : `status ${status} not in [${patterns.join(', ')}]`;
}

function checkLatency(maxMs: number | undefined, seconds: number): string | null {
  if (maxMs === undefined || seconds * 1000 <= maxMs) return null;
  return `latency ${Math.round(seconds * 1000)}ms over max_latency ${formatDuration(maxMs)}`;
}

function checkHeaders(expected: Readonly<Record<string, string>>, response: HttpResponseSeen): string | null {
  for (const [name, pattern] of Object.entries(expected)) {
    const regex = mustCompile(pattern);
    const raw = response.headers[name.toLowerCase()];
    if (raw === undefined) return `header ${name} missing (expected to match /${pattern}/)`;
    const value = Array.isArray(raw) ? raw.join(', ') : raw;
    if (!regex.test(value)) return `header ${name}: ${quote(value)} does not match /${pattern}/`;
  }
  return null;
}

function checkBody(expect: HttpExpectConfig, response: HttpResponseSeen): string | null {
  const text = response.body.toString('utf8');
  const note = response.bodyTruncated ? ' (only the first 1 MiB of the body was read)' : '';
  if (expect.body_contains !== undefined && !text.includes(expect.body_contains))
    return `body does not contain ${quote(expect.body_contains)}${note}`;
  if (expect.body_matches !== undefined && !mustCompile(expect.body_matches).test(text))
    return `body does not match /${expect.body_matches}/${note}`;
  if (expect.json.length === 0) return null;
  let document: unknown;
  try {
    document = JSON.parse(text) as unknown;
  } catch (error) {
    return `body is not JSON (${(error as Error).message})${note}; json assertions need a JSON body`;
  }
  for (const expectation of expect.json) {
    const problem = checkJson(expectation, document);
    if (problem !== null) return problem;
  }
  return null;
}

/** Checks one JSON assertion against a parsed document. */
export function checkJson(expectation: JsonExpectation, document: unknown): string | null {
  const parsed = parseJsonPath(expectation.path);
  if (!parsed.ok) return parsed.error;
  const found = lookupJsonPath(document, parsed.segments);
  const { path } = expectation;
  if (expectation.exists === false)
    return found.found ? `${path}: expected to be absent, found ${preview(found.value)}` : null;
  if (!found.found) {
    const wanted = expectation.equals !== undefined ? ` (expected ${preview(expectation.equals)})` : '';
    return `${path}: not found in the JSON body${wanted}`;
  }
  if (expectation.equals !== undefined && !deepEqual(found.value, expectation.equals))
    return `${path}: expected ${preview(expectation.equals)}, got ${preview(found.value)}`;
  if (expectation.matches !== undefined) {
    const text = typeof found.value === 'string' ? found.value : JSON.stringify(found.value);
    if (!mustCompile(expectation.matches).test(text))
      return `${path}: ${preview(found.value)} does not match /${expectation.matches}/`;
  }
  return null;
}

function checkCertificate(minMs: number | undefined, exchange: HttpExchange, nowMs: number): string | null {
  if (minMs === undefined) return null;
  const certificate = exchange.certificate;
  if (certificate === null)
    return 'no TLS certificate seen (the URL is not https); cert_expires_after needs an https URL';
  const left = certificate.validToMs - nowMs;
  if (left >= minMs) return null;
  if (left <= 0) return `certificate of ${certificate.host} expired ${humanSpan(-left)} ago`;
  return `certificate of ${certificate.host} expires in ${humanSpan(left)} (< ${humanSpan(minMs)})`;
}

/** `3 days`, `5 hours`, `12 minutes`: precise enough to act on, short enough for a page. */
export function humanSpan(ms: number): string {
  const units: [number, string][] = [
    [86_400_000, 'day'],
    [3_600_000, 'hour'],
    [60_000, 'minute'],
  ];
  for (const [size, unit] of units) {
    if (ms >= size) {
      const count = Math.round(ms / size);
      return `${count} ${unit}${count === 1 ? '' : 's'}`;
    }
  }
  const seconds = Math.round(ms / 1000);
  return `${seconds} second${seconds === 1 ? '' : 's'}`;
}

/** Patterns were validated when the config loaded; a bad one here is a bug in the caller. */
function mustCompile(pattern: string): RegExp {
  const compiled = compileProbeRegex(pattern);
  if (!compiled.ok)
    throw new Error(`${compiled.error} (it should have been rejected when the config was loaded)`);
  return compiled.regex;
}

function quote(text: string): string {
  return JSON.stringify(text.length > 100 ? `${text.slice(0, 100)}…` : text);
}

function preview(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 100 ? `${text.slice(0, 100)}…` : text;
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((item, i) => deepEqual(item, b[i]));
  const ak = Object.keys(a);
  const bk = Object.keys(b);
  const br = b as Record<string, unknown>;
  const ar = a as Record<string, unknown>;
  return ak.length === bk.length && ak.every((k) => Object.hasOwn(br, k) && deepEqual(ar[k], br[k]));
}
