import { parseDuration } from '../core/index.js';

/** A parsed parameter, or the Prometheus wording of why it is invalid. */
export type ParamResult<T> = { ok: true; value: T } | { ok: false; error: string };

// Prometheus's MinTime/MaxTime render as these strings; clients send them back for "unbounded".
const minTimeFormatted = '-292273086-05-16T16:47:06Z';
const maxTimeFormatted = '292277025-08-18T07:12:54.999999999Z';
/** The earliest timestamp an unbounded range stands for (milliseconds). */
export const minTimeMs = Number.MIN_SAFE_INTEGER;
/** The latest timestamp an unbounded range stands for (milliseconds). */
export const maxTimeMs = Number.MAX_SAFE_INTEGER;

const rfc3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})$/;

/** Parses a timestamp as Prometheus does: unix seconds (float, millisecond precision) or RFC 3339; milliseconds out. */
export function parseTime(text: string): ParamResult<number> {
  const s = text.trim();
  if (/^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/.test(s)) {
    const seconds = Number(s);
    const whole = Math.trunc(seconds);
    return { ok: true, value: whole * 1000 + Math.round((seconds - whole) * 1000) };
  }
  const m = rfc3339.exec(s);
  if (m !== null) {
    const [, y, mo, d, h, mi, sec, frac = '', zone = 'Z'] = m;
    const base = Date.parse(`${y}-${mo}-${d}T${h}:${mi}:${sec}${zone.toUpperCase()}`);
    if (!Number.isNaN(base)) return { ok: true, value: base + Math.trunc(Number(`0.${frac || '0'}`) * 1000) };
  }
  if (s === minTimeFormatted) return { ok: true, value: minTimeMs };
  if (s === maxTimeFormatted) return { ok: true, value: maxTimeMs };
  return { ok: false, error: `cannot parse ${JSON.stringify(text)} to a valid timestamp` };
}

/** Parses an optional time parameter, with Prometheus's wording when it is malformed. */
export function parseTimeParam(
  text: string | undefined,
  name: string,
  fallback: number,
): ParamResult<number> {
  if (text === undefined || text === '') return { ok: true, value: fallback };
  const parsed = parseTime(text);
  if (parsed.ok) return parsed;
  return { ok: false, error: `invalid time value for '${name}': ${parsed.error}` };
}

/** Parses a duration as Prometheus's API does: float seconds or a duration like `15s`, `1m30s`; milliseconds out. */
export function parseDurationParam(text: string): ParamResult<number> {
  const s = text.trim();
  if (/^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/.test(s)) {
    const seconds = Number(s);
    if (Math.abs(seconds) > 9.2e9)
      return {
        ok: false,
        error: `cannot parse ${JSON.stringify(text)} to a valid duration. It overflows int64`,
      };
    return { ok: true, value: seconds * 1000 };
  }
  const ms = parseDuration(s);
  if (ms !== null) return { ok: true, value: ms };
  return { ok: false, error: `cannot parse ${JSON.stringify(text)} to a valid duration` };
}

/** Parses the optional `limit` parameter: a non-negative integer, 0 meaning no limit. */
export function parseLimit(text: string | undefined): ParamResult<number> {
  if (text === undefined || text === '') return { ok: true, value: 0 };
  if (!/^[+-]?\d+$/.test(text.trim()))
    return { ok: false, error: `strconv.Atoi: parsing ${JSON.stringify(text)}: invalid syntax` };
  const limit = Number(text);
  if (limit < 0) return { ok: false, error: 'limit must be non-negative' };
  return { ok: true, value: limit };
}

/** Formats a sample value as Prometheus's JSON does: a string, "NaN", "+Inf", "-Inf", exponent with two digits. */
export function formatSampleValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v).replace(/e([+-])(\d)$/, 'e$10$2');
}
