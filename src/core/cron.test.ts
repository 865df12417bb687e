import { describe, expect, it } from 'vitest';
import {
  cronStartsAt,
  isInWindow,
  parseCron,
  timeZoneProblem,
  windowStartAt,
  type CronSchedule,
} from './cron.js';

function cron(text: string): CronSchedule {
  const parsed = parseCron(text);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.schedule;
}

const minuteOf = (iso: string): number => Date.parse(iso) / 60_000;
const sorted = (set: ReadonlySet<number>): number[] => [...set].sort((a, b) => a - b);

describe('parseCron', () => {
  it.each([
    ['*/15 * * * *', 'minutes', [0, 15, 30, 45]],
    ['0-30/10 * * * *', 'minutes', [0, 10, 20, 30]],
    ['5/20 * * * *', 'minutes', [5, 25, 45]],
    ['1,2,5-7 * * * *', 'minutes', [1, 2, 5, 6, 7]],
    ['0 22 * * *', 'hours', [22]],
    ['0 0 * JAN,mar-May *', 'months', [1, 3, 4, 5]],
    ['0 0 * * MON-FRI', 'daysOfWeek', [1, 2, 3, 4, 5]],
    ['0 0 * * 7', 'daysOfWeek', [0]],
    ['0 0 * * 5-7', 'daysOfWeek', [0, 5, 6]],
    ['0 0 * * */2', 'daysOfWeek', [0, 2, 4, 6]],
    ['@daily', 'hours', [0]],
    ['@hourly', 'hours', Array.from({ length: 24 }, (_, i) => i)],
  ] as const)('%s → %s %j', (text, field, expected) => {
    expect(sorted(cron(text)[field])).toEqual(expected);
  });

  it.each([
    ['0 2 * *', /has 4 fields; a schedule has 5/],
    ['0 2 * * * *', /has 6 fields/],
    ['60 * * * *', /minute field "60": 60 is out of range; minute runs from 0 to 59/],
    ['0 24 * * *', /hour field "24": 24 is out of range/],
    ['0 0 0 * *', /day-of-month field "0": 0 is out of range/],
    ['0 0 * 13 *', /month field "13"/],
    ['0 0 * * FOO', /day-of-week field "FOO": "FOO" is not a number or a name \(SUN…SAT\)/],
    ['5-1 * * * *', /range "5-1" runs backwards/],
    ['*/0 * * * *', /step "0" must be a whole number above 0/],
    ['*/x * * * *', /step "x"/],
    ['1/2/3 * * * *', /more than one "\/"/],
    ['1,,2 * * * *', /empty list item/],
    ['@fortnightly', /unknown macro "@fortnightly"/],
    ['', /has 1 field/],
  ])('rejects %j', (text, message) => {
    const parsed = parseCron(text);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error).toMatch(message);
  });
});

describe('cronStartsAt', () => {
  it.each([
    // UTC, plain.
    ['0 22 * * MON-FRI', 'UTC', '2026-11-23T22:00:00Z', true], // a Monday
    ['0 22 * * MON-FRI', 'UTC', '2026-11-22T22:00:00Z', false], // a Sunday
    ['0 22 * * MON-FRI', 'UTC', '2026-11-23T22:01:00Z', false],
    // Both day fields restricted: either matches (Friday the 13th rule of cron).
    ['0 0 13 * FRI', 'UTC', '2026-11-13T00:00:00Z', true], // a Friday and the 13th
    ['0 0 13 * FRI', 'UTC', '2026-11-20T00:00:00Z', true], // a Friday
    ['0 0 13 * FRI', 'UTC', '2026-10-13T00:00:00Z', true], // a Tuesday, the 13th
    ['0 0 13 * FRI', 'UTC', '2026-10-14T00:00:00Z', false],
    // Only day-of-month restricted: day-of-week `*` does not widen it.
    ['0 0 1 * *', 'UTC', '2026-11-02T00:00:00Z', false],
    // Time zones: 02:30 in Berlin is 01:30 UTC in winter, 00:30 UTC in summer.
    ['30 2 * * *', 'Europe/Berlin', '2026-01-15T01:30:00Z', true],
    ['30 2 * * *', 'Europe/Berlin', '2026-07-15T00:30:00Z', true],
    ['30 2 * * *', 'Europe/Berlin', '2026-07-15T01:30:00Z', false],
    ['0 9 * * *', 'America/New_York', '2026-01-15T14:00:00Z', true],
    ['0 9 * * *', 'Asia/Kolkata', '2026-01-15T03:30:00Z', true],
    // Spring forward (Berlin 2026-03-29 02:00 → 03:00 CEST): 02:30 does not exist; it starts at 03:00.
    ['30 2 * * *', 'Europe/Berlin', '2026-03-29T01:00:00Z', true],
    ['30 2 * * *', 'Europe/Berlin', '2026-03-29T00:30:00Z', false],
    ['30 2 * * *', 'Europe/Berlin', '2026-03-29T01:30:00Z', false],
    ['0 3 * * *', 'Europe/Berlin', '2026-03-29T01:00:00Z', true],
    ['0 1 * * *', 'Europe/Berlin', '2026-03-29T00:00:00Z', true],
    // New York springs forward 2026-03-08 02:00 → 03:00 EDT (07:00 UTC).
    ['15 2 * * *', 'America/New_York', '2026-03-08T07:00:00Z', true],
    // Fall back (Berlin 2026-10-25 03:00 CEST → 02:00 CET): 02:30 happens twice; it starts the first time only.
    ['30 2 * * *', 'Europe/Berlin', '2026-10-25T00:30:00Z', true],
    ['30 2 * * *', 'Europe/Berlin', '2026-10-25T01:30:00Z', false],
    ['30 2 * * *', 'Europe/Berlin', '2026-10-26T01:30:00Z', true],
    // Every 15 minutes keeps running through the repeated hour at its first occurrence only.
    ['*/15 * * * *', 'Europe/Berlin', '2026-10-25T01:15:00Z', false],
    ['*/15 * * * *', 'Europe/Berlin', '2026-10-25T02:15:00Z', true],
  ] as const)('%s in %s at %s → %s', (text, zone, iso, expected) => {
    expect(cronStartsAt(cron(text), zone, minuteOf(iso))).toBe(expected);
  });
});

describe('maintenance windows', () => {
  const nightly = { schedule: cron('0 23 * * *'), durationMs: 2 * 3_600_000, timeZone: 'UTC' };

  it.each([
    ['2026-11-22T22:59:59Z', null],
    ['2026-11-22T23:00:00Z', '2026-11-22T23:00:00.000Z'],
    ['2026-11-23T00:30:00Z', '2026-11-22T23:00:00.000Z'], // across midnight
    ['2026-11-23T00:59:59.999Z', '2026-11-22T23:00:00.000Z'],
    ['2026-11-23T01:00:00Z', null], // the end is outside
  ])('a 2 h window from 23:00 UTC at %s started at %s', (at, start) => {
    const found = windowStartAt(nightly, Date.parse(at));
    expect(found === null ? null : new Date(found).toISOString()).toBe(start);
    expect(isInWindow(nightly, Date.parse(at))).toBe(start !== null);
  });

  it('follows the time zone across DST: Sunday 02:00–04:00 Berlin is 01:00–03:00 UTC in winter', () => {
    const window = { schedule: cron('0 2 * * SUN'), durationMs: 2 * 3_600_000, timeZone: 'Europe/Berlin' };
    expect(isInWindow(window, Date.parse('2026-11-22T01:30:00Z'))).toBe(true);
    expect(isInWindow(window, Date.parse('2026-11-22T03:00:00Z'))).toBe(false);
    expect(isInWindow(window, Date.parse('2026-07-05T00:00:00Z'))).toBe(true); // 02:00 CEST
    expect(isInWindow(window, Date.parse('2026-07-05T02:00:00Z'))).toBe(false);
    // 2026-03-29 (spring forward): 02:00 does not exist, the window starts at 03:00 CEST = 01:00 UTC.
    expect(isInWindow(window, Date.parse('2026-03-29T00:59:00Z'))).toBe(false);
    expect(isInWindow(window, Date.parse('2026-03-29T02:59:00Z'))).toBe(true);
    expect(isInWindow(window, Date.parse('2026-03-29T03:00:00Z'))).toBe(false);
    // 2026-10-25 (fall back): starts at the first 02:00 (00:00 UTC) and lasts 2 real hours.
    expect(isInWindow(window, Date.parse('2026-10-25T00:00:00Z'))).toBe(true);
    expect(isInWindow(window, Date.parse('2026-10-25T01:59:00Z'))).toBe(true);
    expect(isInWindow(window, Date.parse('2026-10-25T02:00:00Z'))).toBe(false);
  });

  it('knows IANA time zones and names unknown ones', () => {
    expect(timeZoneProblem('Europe/Berlin')).toBeNull();
    expect(timeZoneProblem('UTC')).toBeNull();
    expect(timeZoneProblem('Mars/Olympus_Mons')).toMatch(/"Mars\/Olympus_Mons" is not a time zone/);
  });
});
