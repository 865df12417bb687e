import { describe, expect, it } from 'vitest';
import { formatSampleValue, parseDurationParam, parseLimit, parseTime } from './httpParams.js';

describe('parseTime', () => {
  it('reads unix seconds with millisecond precision and RFC 3339', () => {
    expect(parseTime('1435781451.781')).toEqual({ ok: true, value: 1_435_781_451_781 });
    expect(parseTime('0')).toEqual({ ok: true, value: 0 });
    expect(parseTime('-1.5')).toEqual({ ok: true, value: -1500 });
    expect(parseTime('2015-07-01T20:10:51.781Z')).toEqual({ ok: true, value: 1_435_781_451_781 });
    expect(parseTime('2015-07-01T22:10:51.781123456+02:00')).toEqual({ ok: true, value: 1_435_781_451_781 });
    expect(parseTime('2015-07-01 20:10:51')).toEqual({
      ok: false,
      error: 'cannot parse "2015-07-01 20:10:51" to a valid timestamp',
    });
  });
});

describe('parseDurationParam', () => {
  it('reads float seconds and Prometheus durations', () => {
    expect(parseDurationParam('15')).toEqual({ ok: true, value: 15_000 });
    expect(parseDurationParam('0.5')).toEqual({ ok: true, value: 500 });
    expect(parseDurationParam('1m30s')).toEqual({ ok: true, value: 90_000 });
    expect(parseDurationParam('1x')).toEqual({ ok: false, error: 'cannot parse "1x" to a valid duration' });
  });
});

describe('parseLimit', () => {
  it('accepts non-negative integers', () => {
    expect(parseLimit(undefined)).toEqual({ ok: true, value: 0 });
    expect(parseLimit('10')).toEqual({ ok: true, value: 10 });
    expect(parseLimit('-1')).toEqual({ ok: false, error: 'limit must be non-negative' });
    expect(parseLimit('ten').ok).toBe(false);
  });
});

describe('formatSampleValue', () => {
  it('formats like Prometheus', () => {
    expect(formatSampleValue(1)).toBe('1');
    expect(formatSampleValue(0.1)).toBe('0.1');
    expect(formatSampleValue(1e-7)).toBe('1e-07');
    expect(formatSampleValue(-2.5e22)).toBe('-2.5e+22');
    expect(formatSampleValue(123456789012)).toBe('123456789012');
    expect(formatSampleValue(NaN)).toBe('NaN');
    expect(formatSampleValue(-Infinity)).toBe('-Inf');
  });
});
