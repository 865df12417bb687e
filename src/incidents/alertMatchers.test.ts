import { describe, expect, it } from 'vitest';
import { alertFingerprint, type AlertInstance, type Labels } from '../core/index.js';
import type { Silence } from '../store/index.js';
import {
  alertMatches,
  compileMatcherTexts,
  findInhibition,
  findSilence,
  silenceActive,
  type InhibitRule,
} from './alertMatchers.js';

function matchers(...texts: string[]) {
  const compiled = compileMatcherTexts(texts);
  if (!compiled.ok) throw new Error(compiled.error);
  return compiled.matchers;
}

function alert(labels: Labels, state: AlertInstance['state'] = 'firing'): AlertInstance {
  const rule = labels.alertname ?? 'Test';
  return {
    fingerprint: alertFingerprint(rule, labels),
    rule,
    labels,
    annotations: {},
    state,
    activeAt: 0,
    firedAt: 0,
    resolvedAt: null,
    lastActiveAt: 0,
    value: 1,
  };
}

function silence(
  id: number,
  texts: string[],
  startsAt: number,
  endsAt: number,
  expiredAt: number | null = null,
) {
  const parsed = texts.map((t) => {
    const [, name, type, value] = /^(\w+)(=~|!~|!=|=)"(.*)"$/.exec(t) ?? [];
    return { name: name ?? '', type: type as '=' | '!=' | '=~' | '!~', value: value ?? '' };
  });
  return {
    id,
    matchers: parsed,
    startsAt,
    endsAt,
    createdBy: 'test',
    comment: '',
    createdAt: startsAt,
    expiredAt,
  } satisfies Silence;
}

describe('compileMatcherTexts', () => {
  it.each([
    [['alertname="HostDown"'], { alertname: 'HostDown' }, true],
    [['alertname="HostDown"'], { alertname: 'HostDownSoon' }, false],
    [['alertname=~"Host.*"'], { alertname: 'HostDown' }, true],
    // Fully anchored, as Alertmanager: "Host" alone does not match "HostDown".
    [['alertname=~"Host"'], { alertname: 'HostDown' }, false],
    [['severity!="info"'], { alertname: 'X' }, true],
    [['severity!~"info|debug"'], { severity: 'debug' }, false],
    // A missing label is the empty value.
    [['instance=""'], { alertname: 'X' }, true],
    [['instance=~".+"'], { alertname: 'X' }, false],
    // One text may hold several matchers; all must hold.
    [['alertname="A", pool="web"'], { alertname: 'A', pool: 'web' }, true],
    [['{alertname="A", pool="web"}'], { alertname: 'A', pool: 'db' }, false],
  ])('%j against %j → %s', (texts, labels, expected) => {
    expect(alertMatches(matchers(...texts), labels)).toBe(expected);
  });

  it('names the text and the problem for bad input', () => {
    expect(compileMatcherTexts(['alertname="A"', 'severity'])).toEqual({
      ok: false,
      index: 1,
      error: expect.stringMatching(
        /at character 9: expected one of =, !=, =~, !~ after "severity"/,
      ) as string,
    });
    expect(compileMatcherTexts(['alertname=~"(unclosed"'])).toMatchObject({
      ok: false,
      index: 0,
      error: expect.stringMatching(/invalid regular expression in matcher alertname=~"\(unclosed"/) as string,
    });
    expect(compileMatcherTexts(['alertname="x'])).toMatchObject({ ok: false, index: 0 });
  });
});

describe('findInhibition', () => {
  const hostDown: InhibitRule = {
    index: 0,
    source: matchers('alertname="HostDown"'),
    target: matchers('alertname!="HostDown"'),
    equal: ['instance'],
  };
  const poolDown: InhibitRule = {
    index: 1,
    source: matchers('alertname="PoolDown"'),
    target: matchers('alertname=~"WebMember.*"'),
    equal: ['pool'],
  };
  const down = alert({ alertname: 'HostDown', instance: 'web-1' });
  const service = alert({ alertname: 'ServiceDown', instance: 'web-1', service: 'nginx' });
  const otherHost = alert({ alertname: 'ServiceDown', instance: 'web-2', service: 'nginx' });

  it('inhibits targets sharing the equal labels with a firing source', () => {
    expect(findInhibition([hostDown], service, [down, service])).toEqual({ rule: hostDown, source: down });
    expect(findInhibition([hostDown], otherHost, [down, otherHost])).toBeNull();
    expect(findInhibition([hostDown], service, [service])).toBeNull();
    // A source that is not firing (resolved) inhibits nothing.
    expect(findInhibition([hostDown], service, [{ ...down, state: 'resolved' }])).toBeNull();
  });

  it('needs equal labels to agree, a missing label counting as empty', () => {
    const noPool = alert({ alertname: 'PoolDown' });
    const member = alert({ alertname: 'WebMemberDown', pool: 'web', member: 'web-1' });
    const pooled = alert({ alertname: 'PoolDown', pool: 'web' });
    expect(findInhibition([poolDown], member, [noPool])).toBeNull();
    expect(findInhibition([poolDown], member, [pooled])).toMatchObject({ source: pooled });
    expect(findInhibition([poolDown], alert({ alertname: 'WebMemberDown' }), [noPool])).toMatchObject({
      source: noPool,
    });
  });

  it('never lets an alert inhibit itself, nor two alerts matching both sides inhibit each other', () => {
    const critical: InhibitRule = {
      index: 2,
      source: matchers('severity="critical"'),
      target: matchers('severity=~"critical|warning"'),
      equal: ['instance'],
    };
    const a = alert({ alertname: 'A', severity: 'critical', instance: 'x' });
    const b = alert({ alertname: 'B', severity: 'critical', instance: 'x' });
    const warning = alert({ alertname: 'C', severity: 'warning', instance: 'x' });
    expect(findInhibition([critical], a, [a])).toBeNull();
    expect(findInhibition([critical], a, [a, b])).toBeNull();
    expect(findInhibition([critical], warning, [a, warning])).toMatchObject({ source: a });
  });
});

describe('silences', () => {
  it('apply from startsAt up to (not including) endsAt, and never once expired', () => {
    const s = silence(1, ['alertname="A"'], 1000, 2000);
    expect([999, 1000, 1999, 2000].map((t) => silenceActive(s, t))).toEqual([false, true, true, false]);
    expect(silenceActive(silence(2, ['alertname="A"'], 1000, 5000, 1500), 1600)).toBe(false);
    expect(silenceActive(silence(2, ['alertname="A"'], 1000, 5000, 1500), 1400)).toBe(true);
  });

  it('finds the first active silence whose matchers all hold', () => {
    const silences = [
      silence(3, ['alertname="A"', 'instance="web-2"'], 0, 10_000),
      silence(2, ['alertname=~"A|B"'], 5000, 10_000),
      silence(1, ['alertname="A"'], 0, 10_000, 100),
    ];
    expect(findSilence(silences, { alertname: 'A', instance: 'web-1' }, 150)).toBeNull();
    expect(findSilence(silences, { alertname: 'A', instance: 'web-2' }, 150)?.id).toBe(3);
    expect(findSilence(silences, { alertname: 'B' }, 6000)?.id).toBe(2);
    expect(findSilence(silences, { alertname: 'B' }, 4000)).toBeNull();
  });

  it('ignores a stored silence whose regex cannot compile instead of silencing everything', () => {
    const broken = silence(9, ['alertname=~"(x"'], 0, 10_000);
    expect(findSilence([broken], { alertname: '(x' }, 10)).toBeNull();
  });
});
