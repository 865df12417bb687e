import { describe, expect, it } from 'vitest';
import { alertFingerprint } from '../core/index.js';
import type { AlertChange } from '../rules/index.js';
import {
  AlertmanagerIntake,
  alertChangeFromAlertmanager,
  parseAlertmanagerPayload,
  type AlertmanagerPayload,
} from './alertmanagerIntake.js';

const NOW = Date.parse('2026-11-22T12:00:00Z');

function alert(
  status: 'firing' | 'resolved',
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    status,
    labels: { alertname: 'HighLatency', instance: 'web-1:9100', severity: 'page' },
    annotations: { summary: 'web-1 is slow' },
    startsAt: '2026-11-22T11:50:00.123456789Z',
    endsAt: status === 'firing' ? '0001-01-01T00:00:00Z' : '2026-11-22T11:58:00Z',
    generatorURL: 'http://prometheus:9090/graph?g0.expr=up',
    fingerprint: 'c6eadffa33fcdf37',
    ...overrides,
  };
}

function body(alerts: unknown[], overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    version: '4',
    receiver: 'swas',
    status: 'firing',
    alerts,
    groupLabels: { alertname: 'HighLatency' },
    commonLabels: { alertname: 'HighLatency' },
    commonAnnotations: {},
    externalURL: 'http://alertmanager:9093',
    groupKey: '{}:{alertname="HighLatency"}',
    truncatedAlerts: 0,
    ...overrides,
  };
}

function payload(alerts: unknown[]): AlertmanagerPayload {
  const parsed = parseAlertmanagerPayload(body(alerts));
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.payload;
}

function errorOf(input: unknown): string {
  const parsed = parseAlertmanagerPayload(input);
  expect(parsed.ok).toBe(false);
  return parsed.ok ? '' : parsed.error;
}

describe('parseAlertmanagerPayload', () => {
  it('accepts a version 4 payload, with or without the fields older releases lack', () => {
    expect(parseAlertmanagerPayload(body([alert('firing')])).ok).toBe(true);
    const old = alert('firing');
    delete old.fingerprint;
    const minimal = {
      version: '4',
      alerts: [{ status: 'firing', labels: { alertname: 'A' }, startsAt: '2026-01-02T15:04:05+02:00' }],
    };
    expect(parseAlertmanagerPayload(body([old], { truncatedAlerts: undefined })).ok).toBe(true);
    expect(parseAlertmanagerPayload(minimal).ok).toBe(true);
  });

  it('names the bad field and what was expected', () => {
    expect(errorOf(body([alert('firing', { startsAt: 'yesterday' })]))).toContain(
      'alerts.0.startsAt: must be an RFC 3339 timestamp',
    );
    expect(errorOf(body([alert('maybe' as 'firing')]))).toMatch(/alerts\.0\.status: .*"firing"\|"resolved"/);
    expect(errorOf(body([alert('firing', { labels: { alertname: 'A', pool: 3 } })]))).toMatch(
      /alerts\.0\.labels\.pool: .*expected string/,
    );
    expect(errorOf(body([alert('firing', { labels: { instance: 'x' } })]))).toContain(
      'alerts.0.labels: needs a non-empty "alertname" label',
    );
    expect(errorOf(body([], { alerts: undefined }))).toMatch(/^alerts: .*expected array/);
    expect(errorOf(body([], { alerts: 'none' }))).toMatch(/^alerts: .*expected array, received string/);
  });

  it('refuses other payload versions and non-objects before looking at fields', () => {
    expect(errorOf(body([], { version: '5', alerts: 'other shape' }))).toMatch(/^version: .*"4", got "5"/);
    expect(errorOf({ alerts: [] })).toContain('got no version');
    expect(errorOf([])).toContain('expected a JSON object');
    expect(errorOf(null)).toContain('got null');
    expect(errorOf('text')).toContain('got a string');
  });
});

describe('alertChangeFromAlertmanager', () => {
  it('turns a firing alert into a firing instance that started at startsAt', () => {
    const [parsed] = payload([alert('firing')]).alerts;
    const change = alertChangeFromAlertmanager(parsed!, NOW);
    const startsAt = Date.parse('2026-11-22T11:50:00.123Z');
    const labels = {
      alertname: 'HighLatency',
      instance: 'web-1:9100',
      severity: 'page',
      swas_source: 'alertmanager',
    };
    expect(change).toMatchObject({ transition: 'firing', at: startsAt });
    expect(change.alert).toMatchObject({
      rule: 'HighLatency',
      state: 'firing',
      labels,
      activeAt: startsAt,
      firedAt: startsAt,
      resolvedAt: null,
      fingerprint: alertFingerprint('HighLatency', labels),
    });
    expect(change.alert.annotations).toEqual({
      summary: 'web-1 is slow',
      generator_url: 'http://prometheus:9090/graph?g0.expr=up',
    });
  });

  it('resolves at endsAt, and caps times from a clock ahead of ours at now', () => {
    const [resolved] = payload([alert('resolved')]).alerts;
    const change = alertChangeFromAlertmanager(resolved!, NOW);
    expect(change).toMatchObject({ transition: 'resolved', at: Date.parse('2026-11-22T11:58:00Z') });
    expect(change.alert).toMatchObject({ state: 'resolved', resolvedAt: Date.parse('2026-11-22T11:58:00Z') });
    const [ahead] = payload([
      alert('resolved', { startsAt: '2026-11-22T12:05:00Z', endsAt: '2026-11-22T12:10:00Z' }),
    ]).alerts;
    expect(alertChangeFromAlertmanager(ahead!, NOW)).toMatchObject({
      at: NOW,
      alert: { activeAt: NOW, resolvedAt: NOW },
    });
  });
});

describe('AlertmanagerIntake', () => {
  function setup(options: { failOn?: number; rememberForMs?: number; maxRemembered?: number } = {}) {
    const changes: AlertChange[] = [];
    let now = NOW;
    const intake = AlertmanagerIntake.create({
      sink: {
        handleAlertChange: (change) => {
          if (options.failOn === changes.length) {
            options.failOn = undefined;
            return Promise.reject(new Error('store down'));
          }
          changes.push(change);
          return Promise.resolve();
        },
      },
      now: () => now,
      rememberForMs: options.rememberForMs,
      maxRemembered: options.maxRemembered,
    });
    return { intake, changes, advance: (ms: number) => (now += ms) };
  }

  it('forwards a firing alert once per episode, however often Alertmanager repeats it', async () => {
    const { intake, changes } = setup();
    expect(await intake.receive(payload([alert('firing')]))).toEqual({
      received: 1,
      firing: 1,
      resolved: 0,
      forwarded: 1,
    });
    expect(await intake.receive(payload([alert('firing')]))).toEqual({
      received: 1,
      firing: 1,
      resolved: 0,
      forwarded: 0,
    });
    await intake.receive(payload([alert('resolved')]));
    await intake.receive(payload([alert('resolved')]));
    // A late repeat of the ended episode (an HA peer) does not reopen it; a new episode does.
    await intake.receive(payload([alert('firing')]));
    await intake.receive(payload([alert('firing', { startsAt: '2026-11-22T11:59:00Z' })]));
    expect(changes.map((c) => c.transition)).toEqual(['firing', 'resolved', 'firing']);
  });

  it('tells alerts apart by their labels, and forwards a resolve it never saw fire', async () => {
    const { intake, changes } = setup();
    const other = alert('firing', { labels: { alertname: 'HighLatency', instance: 'web-2:9100' } });
    const summary = await intake.receive(
      payload([alert('firing'), other, alert('resolved', { labels: { alertname: 'Gone' } })]),
    );
    expect(summary).toEqual({ received: 3, firing: 2, resolved: 1, forwarded: 3 });
    expect(new Set(changes.map((c) => c.alert.fingerprint)).size).toBe(3);
  });

  it('does not remember an alert the sink failed on, so the retry forwards it', async () => {
    const { intake, changes } = setup({ failOn: 0 });
    await expect(intake.receive(payload([alert('firing')]))).rejects.toThrow('store down');
    expect(intake.remembered()).toBe(0);
    expect((await intake.receive(payload([alert('firing')]))).forwarded).toBe(1);
    expect(changes).toHaveLength(1);
  });

  it('forgets alerts not delivered for a while, and the oldest beyond its bound', async () => {
    const { intake, changes, advance } = setup({ rememberForMs: 60_000, maxRemembered: 2 });
    await intake.receive(payload([alert('firing')]));
    advance(61_000);
    await intake.receive(payload([alert('firing')]));
    expect(changes).toHaveLength(2);
    const many = ['a', 'b', 'c'].map((i) => alert('firing', { labels: { alertname: 'X', i } }));
    await intake.receive(payload(many));
    await intake.receive(payload([alert('firing', { labels: { alertname: 'Y' } })]));
    expect(intake.remembered()).toBe(2);
  });
});
