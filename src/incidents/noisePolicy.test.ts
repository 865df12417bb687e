import { describe, expect, it } from 'vitest';
import { alertFingerprint, type AlertInstance, type Labels } from '../core/index.js';
import { swasConfigSchema } from '../config/index.js';
import { compileNoisePolicy, describeSuppression, suppressionOf, type NoisePolicy } from './noisePolicy.js';

function incidentsConfig(incidents: unknown) {
  return swasConfigSchema.parse({ incidents }).incidents;
}

function policy(incidents: unknown): NoisePolicy {
  const compiled = compileNoisePolicy(incidentsConfig(incidents));
  if (!compiled.ok) throw new Error(JSON.stringify(compiled.problems));
  return compiled.policy;
}

function alert(labels: Labels): AlertInstance {
  const rule = labels.alertname ?? 'Test';
  return {
    fingerprint: alertFingerprint(rule, labels),
    rule,
    labels,
    annotations: {},
    state: 'firing',
    activeAt: 0,
    firedAt: 0,
    resolvedAt: null,
    lastActiveAt: 0,
    value: 1,
  };
}

describe('compileNoisePolicy', () => {
  it('defaults to no wait, no rules, no windows', () => {
    expect(policy({})).toEqual({ groupWaitMs: 0, inhibitRules: [], maintenanceWindows: [] });
    expect(policy({ group_wait: '10s' }).groupWaitMs).toBe(10_000);
  });

  it('names the field of a bad schedule, for callers that did not validate the config', () => {
    const valid = incidentsConfig({
      maintenance_windows: [
        { name: 'ok', schedule: '0 2 * * SUN', duration: '2h', matchers: ['service="db"'] },
        { name: 'bad', schedule: '0 3 * * *', duration: '1h', matchers: ['service="db"'] },
      ],
    });
    const [ok, bad] = valid.maintenance_windows;
    if (ok === undefined || bad === undefined) throw new Error('two windows expected');
    const compiled = compileNoisePolicy({
      ...valid,
      maintenance_windows: [ok, { ...bad, schedule: '0 25 * * *' }],
    });
    expect(compiled).toEqual({
      ok: false,
      problems: [
        {
          field: 'incidents.maintenance_windows[1].schedule',
          message: 'hour field "25": 25 is out of range; hour runs from 0 to 23',
        },
      ],
    });
  });

  it('rejects bad matchers and time zones already in the config schema', () => {
    const result = swasConfigSchema.safeParse({
      incidents: {
        inhibit_rules: [{ source_matchers: ['alertname=~"(x"'], target_matchers: [] }],
        maintenance_windows: [
          { name: 'x', schedule: '0 2 * * *', duration: '30s', time_zone: 'Mars/Base', matchers: ['a'] },
        ],
      },
    });
    expect(result.success).toBe(false);
    const issues = (result.error?.issues ?? []).map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(issues).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^incidents\.inhibit_rules\.0\.source_matchers\.0: invalid regular expression/),
        expect.stringMatching(
          /^incidents\.inhibit_rules\.0\.target_matchers: name the alerts that are inhibited/,
        ),
        expect.stringMatching(/^incidents\.maintenance_windows\.0\.duration: 30s is too short/),
        expect.stringMatching(
          /^incidents\.maintenance_windows\.0\.time_zone: "Mars\/Base" is not a time zone/,
        ),
        expect.stringMatching(/^incidents\.maintenance_windows\.0\.matchers\.0: invalid matcher "a"/),
      ]),
    );
  });
});

describe('suppressionOf', () => {
  const noisy = policy({
    inhibit_rules: [
      {
        source_matchers: ['alertname="HostDown"'],
        target_matchers: ['alertname!="HostDown"'],
        equal: ['instance'],
      },
    ],
    maintenance_windows: [
      {
        name: 'db-patching',
        schedule: '0 2 * * SUN',
        duration: '2h',
        time_zone: 'Europe/Berlin',
        matchers: ['service="db"'],
      },
    ],
  });
  const sunday0230 = Date.parse('2026-11-22T01:30:00Z');
  const monday = Date.parse('2026-11-23T01:30:00Z');
  const down = alert({ alertname: 'HostDown', instance: 'db-1' });
  const dbSlow = alert({ alertname: 'DbSlow', instance: 'db-1', service: 'db' });
  const silence = {
    id: 7,
    matchers: [{ name: 'alertname', type: '=' as const, value: 'DbSlow' }],
    startsAt: 0,
    endsAt: Date.parse('2026-12-01T00:00:00Z'),
    createdBy: 'ops',
    comment: 'db upgrade',
    createdAt: 0,
    expiredAt: null,
  };

  it('prefers a silence, then a maintenance window, then inhibition', () => {
    const context = { policy: noisy, silences: [silence], firing: [down, dbSlow], at: sunday0230 };
    const silenced = suppressionOf(dbSlow, context);
    expect(silenced?.kind).toBe('silenced');
    expect(describeSuppression(silenced!)).toBe(
      'silenced by silence #7 (db upgrade) until 2026-12-01T00:00:00.000Z',
    );
    const windowed = suppressionOf(dbSlow, { ...context, silences: [] });
    expect(describeSuppression(windowed!)).toBe(
      'in maintenance window "db-patching" until 2026-11-22T03:00:00.000Z',
    );
    const inhibited = suppressionOf(dbSlow, { ...context, silences: [], at: monday });
    expect(describeSuppression(inhibited!)).toBe(
      'inhibited by HostDown (instance=db-1) (incidents.inhibit_rules[0])',
    );
    expect(suppressionOf(dbSlow, { ...context, silences: [], at: monday }, false)).toBeNull();
    expect(suppressionOf(dbSlow, { ...context, silences: [], at: monday, firing: [dbSlow] })).toBeNull();
  });
});
