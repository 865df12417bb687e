import { describe, expect, it } from 'vitest';
import { formatMatchers, parseMatchers } from './silenceMatchers.js';
import type { AlertMatcher } from './silenceMatchers.js';

function parsed(text: string): AlertMatcher[] {
  const result = parseMatchers(text);
  if (!result.ok) throw new Error(`expected ${text} to parse, got: ${result.error}`);
  return result.matchers;
}

function parseError(text: string): string {
  const result = parseMatchers(text);
  if (result.ok) throw new Error(`expected ${text} to be refused, got ${JSON.stringify(result.matchers)}`);
  return result.error;
}

describe('parseMatchers', () => {
  it('reads all four match types, with or without braces and spaces', () => {
    const expected = [
      { name: 'alertname', type: '=', value: 'HostDown' },
      { name: 'instance', type: '=~', value: 'web-.*' },
      { name: 'env', type: '!=', value: 'dev' },
      { name: 'job', type: '!~', value: 'batch|cron' },
    ];
    expect(parsed('alertname="HostDown", instance=~"web-.*", env!="dev", job!~"batch|cron"')).toEqual(
      expected,
    );
    expect(parsed('{alertname="HostDown",instance=~"web-.*",env!="dev",job!~"batch|cron"}')).toEqual(
      expected,
    );
    expect(
      parsed('  { alertname = "HostDown" , instance =~ "web-.*", env != "dev", job !~ "batch|cron" }  '),
    ).toEqual(expected);
  });

  it('reads unquoted values up to the next comma, trimmed', () => {
    expect(parsed('alertname=HostDown, severity = critical ')).toEqual([
      { name: 'alertname', type: '=', value: 'HostDown' },
      { name: 'severity', type: '=', value: 'critical' },
    ]);
  });

  it('reads Go escapes and commas inside quoted values', () => {
    expect(parsed('msg="a \\"b\\", c\\\\d\\n\\te"')).toEqual([
      { name: 'msg', type: '=', value: 'a "b", c\\d\n\te' },
    ]);
  });

  it('reads an empty quoted value and a trailing comma', () => {
    expect(parsed('team="", alertname="X",')).toEqual([
      { name: 'team', type: '=', value: '' },
      { name: 'alertname', type: '=', value: 'X' },
    ]);
  });

  it.each([
    ['', /no matchers given; write e.g. alertname="HostDown"/],
    ['{}', /no matchers given/],
    ['   ', /no matchers given/],
    ['{alertname="X"', /at character 15: missing "}" at the end/],
    ['1alert="X"', /at character 1: expected a label name, found "1alert="X""/],
    ['alertname', /at character 10: expected one of =, !=, =~, !~ after "alertname"/],
    ['alertname=="X"', 'at character 11: the value "=\\"X\\"" of "alertname" needs quotes'],
    ['alertname~"X"', /at character 10: expected one of =, !=, =~, !~ after "alertname", found "~"X""/],
    ['alertname="X', /at character 13: the value of "alertname" has no closing quote/],
    ['alertname="X\\q"', /at character 13: unknown escape "\\q" in the value of "alertname"/],
    ['alertname="X" job="y"', /at character 15: expected "," between matchers, found "j"/],
    ['alertname=X"', 'at character 11: the value "X\\"" of "alertname" needs quotes'],
    ['alertname="X"}', /at character 14: expected "," between matchers, found "}"/],
    [' {a="1", ,b="2"}', /at character 10: expected a label name, found ",b="2""/],
  ])('refuses %j with a positioned message', (text, message: RegExp | string) => {
    expect(parseError(text)).toMatch(message);
  });
});

describe('formatMatchers', () => {
  it('writes matchers the way parseMatchers reads them', () => {
    const matchers: AlertMatcher[] = [
      { name: 'alertname', type: '=', value: 'HostDown' },
      { name: 'instance', type: '=~', value: 'web-.*' },
    ];
    expect(formatMatchers(matchers)).toBe('alertname="HostDown", instance=~"web-.*"');
    expect(parsed(formatMatchers(matchers))).toEqual(matchers);
  });

  it('round-trips quotes, backslashes, control characters and non-ASCII text', () => {
    const matchers: AlertMatcher[] = [
      { name: 'a', type: '!=', value: 'say "hi"\\ there\n\t\r' },
      { name: 'b', type: '!~', value: 'back\bspace\fform\u0001 – ünïcode, 🚀' },
      { name: 'c', type: '=', value: '' },
    ];
    expect(parsed(formatMatchers(matchers))).toEqual(matchers);
  });

  it('writes nothing for no matchers', () => {
    expect(formatMatchers([])).toBe('');
  });
});
