/** A parsed five-field cron schedule (minute hour day-of-month month day-of-week). */
export interface CronSchedule {
  readonly text: string;
  readonly minutes: ReadonlySet<number>;
  readonly hours: ReadonlySet<number>;
  readonly daysOfMonth: ReadonlySet<number>;
  readonly months: ReadonlySet<number>;
  /** 0 = Sunday … 6 = Saturday (7 is read as Sunday). */
  readonly daysOfWeek: ReadonlySet<number>;
  /** As in Vixie cron: when both day fields are restricted (not `*…`), a day matches if either does. */
  readonly dayOfMonthRestricted: boolean;
  readonly dayOfWeekRestricted: boolean;
}

/** The outcome of parsing a cron schedule. */
export type CronParse = { ok: true; schedule: CronSchedule } | { ok: false; error: string };

interface FieldSpec {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
}

const FIELDS: readonly FieldSpec[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day-of-month', min: 1, max: 31 },
  {
    name: 'month',
    min: 1,
    max: 12,
    names: ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'],
  },
  { name: 'day-of-week', min: 0, max: 7, names: ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] },
];

const MACROS: Readonly<Record<string, string>> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

/**
 * Parses a cron schedule: five fields with lists (`1,15`), ranges (`1-5`), steps (`*\/15`, `0-30/10`,
 * `5/10` = from 5 to the end), names (`MON-FRI`, `JAN`), or one of @yearly @monthly @weekly @daily @hourly.
 */
export function parseCron(text: string): CronParse {
  const trimmed = text.trim();
  const expanded = MACROS[trimmed.toLowerCase()] ?? trimmed;
  if (expanded.startsWith('@'))
    return { ok: false, error: `unknown macro "${trimmed}"; use ${Object.keys(MACROS).join(', ')}` };
  const parts = expanded.split(/\s+/);
  if (parts.length !== 5)
    return {
      ok: false,
      error: `"${trimmed}" has ${parts.length} field${parts.length === 1 ? '' : 's'}; a schedule has 5: minute hour day-of-month month day-of-week, e.g. "0 2 * * SUN"`,
    };
  const sets: Set<number>[] = [];
  for (const [i, spec] of FIELDS.entries()) {
    const field = parseField(parts[i] ?? '', spec);
    if (typeof field === 'string') return { ok: false, error: `${spec.name} field "${parts[i]}": ${field}` };
    sets.push(field);
  }
  const [minutes, hours, daysOfMonth, months, daysOfWeek] = sets as [
    Set<number>,
    Set<number>,
    Set<number>,
    Set<number>,
    Set<number>,
  ];
  return {
    ok: true,
    schedule: {
      text: trimmed,
      minutes,
      hours,
      daysOfMonth,
      months,
      daysOfWeek,
      dayOfMonthRestricted: !(parts[2] ?? '').startsWith('*'),
      dayOfWeekRestricted: !(parts[4] ?? '').startsWith('*'),
    },
  };
}

function parseField(text: string, spec: FieldSpec): Set<number> | string {
  const values = new Set<number>();
  for (const item of text.split(',')) {
    if (item === '') return 'has an empty list item';
    const [range, stepText, extra] = item.split('/');
    if (extra !== undefined) return `"${item}" has more than one "/"`;
    let step = 1;
    if (stepText !== undefined) {
      if (!/^\d+$/.test(stepText) || Number(stepText) === 0)
        return `step "${stepText}" must be a whole number above 0`;
      step = Number(stepText);
    }
    const bounds = rangeOf(range ?? '', spec, stepText !== undefined);
    if (typeof bounds === 'string') return bounds;
    const [lo, hi] = bounds;
    // 7 is Sunday too, as in most crons.
    for (let v = lo; v <= hi; v += step) values.add(spec.name === 'day-of-week' && v === 7 ? 0 : v);
  }
  return values;
}

function rangeOf(text: string, spec: FieldSpec, stepped: boolean): [number, number] | string {
  // `*` in day-of-week means every day once: 0-6, not 0-7.
  if (text === '*') return [spec.min, spec.name === 'day-of-week' ? 6 : spec.max];
  const dash = text.indexOf('-');
  if (dash < 0) {
    const v = valueOf(text, spec);
    if (typeof v === 'string') return v;
    return [v, stepped ? spec.max : v];
  }
  const lo = valueOf(text.slice(0, dash), spec);
  if (typeof lo === 'string') return lo;
  const hi = valueOf(text.slice(dash + 1), spec);
  if (typeof hi === 'string') return hi;
  if (lo > hi) return `range "${text}" runs backwards; write the smaller value first`;
  return [lo, hi];
}

function valueOf(text: string, spec: FieldSpec): number | string {
  let value: number;
  if (/^\d+$/.test(text)) value = Number(text);
  else {
    const index = spec.names?.indexOf(text.toUpperCase()) ?? -1;
    if (index < 0) {
      const names = spec.names ? ` or a name (${spec.names[0]}…${spec.names.at(-1)})` : '';
      return `"${text}" is not a number${names}`;
    }
    value = index + spec.min;
  }
  if (value < spec.min || value > spec.max)
    return `${value} is out of range; ${spec.name} runs from ${spec.min} to ${spec.max}`;
  return value;
}

const MINUTE_MS = 60_000;
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (formatter === undefined) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/** Null when the IANA time zone is known (e.g. `Europe/Berlin`, `UTC`), else why not. */
export function timeZoneProblem(timeZone: string): string | null {
  try {
    formatterFor(timeZone);
    return null;
  } catch {
    return `"${timeZone}" is not a time zone this system knows; use an IANA name such as UTC or Europe/Berlin`;
  }
}

/** The wall-clock time in `timeZone` at an instant, as minutes since the epoch of that wall time read as UTC. */
function wallMinute(timeZone: string, minute: number): number {
  const parts = formatterFor(timeZone).formatToParts(new Date(minute * MINUTE_MS));
  const get = (type: Intl.DateTimeFormatPartTypes): number =>
    Number(parts.find((p) => p.type === type)?.value ?? 0);
  return Date.UTC(get('year'), get('month') - 1, get('day'), get('hour') % 24, get('minute')) / MINUTE_MS;
}

/** True when the schedule names this wall-clock minute (minutes since the epoch, wall time read as UTC). */
export function cronMatchesWall(schedule: CronSchedule, wall: number): boolean {
  const d = new Date(wall * MINUTE_MS);
  if (!schedule.minutes.has(d.getUTCMinutes()) || !schedule.hours.has(d.getUTCHours())) return false;
  if (!schedule.months.has(d.getUTCMonth() + 1)) return false;
  const dom = schedule.daysOfMonth.has(d.getUTCDate());
  const dow = schedule.daysOfWeek.has(d.getUTCDay());
  if (schedule.dayOfMonthRestricted && schedule.dayOfWeekRestricted) return dom || dow;
  return dom && dow;
}

/**
 * True when the schedule starts at this minute (minutes since the epoch, UTC) in `timeZone`. DST rules:
 * a wall time skipped when clocks go forward starts at the first minute after the gap; a wall time that
 * happens twice when clocks go back starts only the first time.
 */
export function cronStartsAt(schedule: CronSchedule, timeZone: string, minute: number): boolean {
  const wall = wallMinute(timeZone, minute);
  const offset = wall - minute;
  const previousOffset = wallMinute(timeZone, minute - 1) - (minute - 1);
  if (previousOffset < offset) {
    for (let skipped = minute + previousOffset; skipped < wall; skipped++)
      if (cronMatchesWall(schedule, skipped)) return true;
  }
  if (!cronMatchesWall(schedule, wall)) return false;
  // Clocks went back within the last day: if this wall minute already happened, it started then.
  const dayBefore = minute - 1440;
  const earlierOffset = wallMinute(timeZone, dayBefore) - dayBefore;
  if (earlierOffset > offset) {
    const first = minute - (earlierOffset - offset);
    if (wallMinute(timeZone, first) === wall) return false;
  }
  return true;
}

/** A recurring window: starts when the schedule says, in its time zone, and lasts `durationMs`. */
export interface RecurringWindow {
  readonly schedule: CronSchedule;
  readonly durationMs: number;
  readonly timeZone: string;
}

// The latest start found per window for the minute last asked about: alerts are checked many times a minute.
const latestStarts = new WeakMap<RecurringWindow, { minute: number; start: number | null }>();

/** When the occurrence of the window that contains `at` started (epoch ms), or null when `at` is outside. */
export function windowStartAt(window: RecurringWindow, at: number): number | null {
  const atMinute = Math.floor(at / MINUTE_MS);
  let cached = latestStarts.get(window);
  if (cached?.minute !== atMinute) {
    cached = { minute: atMinute, start: latestStart(window, atMinute) };
    latestStarts.set(window, cached);
  }
  const { start } = cached;
  return start !== null && start <= at && at < start + window.durationMs ? start : null;
}

// The latest minute at or before `atMinute` that starts the window, looking back one duration.
function latestStart(window: RecurringWindow, atMinute: number): number | null {
  const span = Math.ceil(window.durationMs / MINUTE_MS);
  for (let minute = atMinute; minute >= atMinute - span; minute--)
    if (cronStartsAt(window.schedule, window.timeZone, minute)) return minute * MINUTE_MS;
  return null;
}

/** True when `at` (epoch ms) falls inside an occurrence of the window. */
export function isInWindow(window: RecurringWindow, at: number): boolean {
  return windowStartAt(window, at) !== null;
}
