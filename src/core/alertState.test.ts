import { describe, expect, it } from 'vitest';
import {
  advanceAlert,
  alertFingerprint,
  dropAlert,
  type AlertInstance,
  type AlertObservation,
  type AlertTiming,
} from './alertState.js';

const id = { fingerprint: 'fp', rule: 'R' };
const seen = (value = 1): AlertObservation => ({
  present: true,
  value,
  labels: { alertname: 'R' },
  annotations: {},
});
const gone: AlertObservation = { present: false };

function run(steps: [number, AlertObservation][], timing: AlertTiming = { forMs: 2000, keepFiringForMs: 0 }) {
  let alert: AlertInstance | undefined;
  const transitions: string[] = [];
  for (const [t, obs] of steps) {
    const out = advanceAlert(alert, obs, id, timing, t);
    alert = out.next;
    transitions.push(out.transition);
  }
  return { alert, transitions };
}

describe('advanceAlert', () => {
  it('goes pending, then firing once `for` has passed, then resolved', () => {
    const { alert, transitions } = run([
      [0, seen()],
      [1000, seen()],
      [2000, seen()],
      [3000, seen()],
      [4000, gone],
    ]);
    expect(transitions).toEqual(['pending', 'none', 'firing', 'none', 'resolved']);
    expect(alert).toMatchObject({ state: 'resolved', activeAt: 0, firedAt: 2000, resolvedAt: 4000 });
  });

  it('fires at once when `for` is zero', () => {
    expect(run([[5, seen()]], { forMs: 0, keepFiringForMs: 0 }).transitions).toEqual(['firing']);
  });

  it('cancels a pending alert whose condition stops holding, and restarts the clock', () => {
    const { transitions, alert } = run([
      [0, seen()],
      [1000, gone],
      [1500, seen()],
      [3000, seen()],
      [3500, seen()],
    ]);
    expect(transitions).toEqual(['pending', 'cancelled', 'pending', 'none', 'firing']);
    expect(alert?.activeAt).toBe(1500);
  });

  it('keeps firing for keep_firing_for, counted from the first evaluation where the condition stopped', () => {
    const timing = { forMs: 0, keepFiringForMs: 3000 };
    const { transitions } = run(
      [
        [0, seen()],
        [1000, gone],
        [3999, gone],
        [4000, gone],
      ],
      timing,
    );
    expect(transitions).toEqual(['firing', 'none', 'none', 'resolved']);
  });

  it('starts a new episode when a resolved alert holds again', () => {
    const { transitions, alert } = run([
      [0, seen()],
      [2000, seen()],
      [3000, gone],
      [4000, seen()],
    ]);
    expect(transitions).toEqual(['pending', 'firing', 'resolved', 'pending']);
    expect(alert).toMatchObject({ state: 'pending', activeAt: 4000, firedAt: null, resolvedAt: null });
  });

  it('tracks the latest value and labels while firing', () => {
    const { alert } = run([
      [0, seen(5)],
      [2000, seen(7)],
      [3000, seen(9)],
    ]);
    expect(alert?.value).toBe(9);
  });
});

describe('alertFingerprint', () => {
  it('depends on the rule and the label set, not on label order', () => {
    const a = alertFingerprint('HighLatency', { instance: 'web-1', job: 'web' });
    expect(a).toMatch(/^[0-9a-f]{16}$/);
    expect(alertFingerprint('HighLatency', { job: 'web', instance: 'web-1' })).toBe(a);
    expect(alertFingerprint('HighErrors', { instance: 'web-1', job: 'web' })).not.toBe(a);
    expect(alertFingerprint('HighLatency', { instance: 'web-2', job: 'web' })).not.toBe(a);
  });
});

describe('advanceAlert with resolve_when and min_firing_for', () => {
  const holds: AlertObservation = { present: false, resolve: 'holds' };
  const band = (value?: number): AlertObservation => ({ present: false, resolve: 'band', value });
  const unseen: AlertObservation = { present: false, resolve: 'unseen' };
  const hysteresis = { unseenResolveMs: 5000 };
  type Row = [
    name: string,
    timing: {
      forMs: number;
      keepFiringForMs: number;
      minFiringForMs?: number;
      hysteresis?: typeof hysteresis;
    },
    steps: [number, AlertObservation][],
    transitions: string[],
  ];
  const rows: Row[] = [
    [
      'keeps firing between the thresholds, resolves when resolve_when holds',
      { forMs: 0, keepFiringForMs: 0, hysteresis },
      [
        [0, seen(95)],
        [1000, band(80)],
        [2000, band(75)],
        [60_000, band(72)],
        [61_000, holds],
      ],
      ['firing', 'none', 'none', 'none', 'resolved'],
    ],
    [
      'cancels a pending alert whose expr stops holding, even inside the band',
      { forMs: 2000, keepFiringForMs: 0, hysteresis },
      [
        [0, seen(95)],
        [1000, band(80)],
        [1500, seen(95)],
      ],
      ['pending', 'cancelled', 'pending'],
    ],
    [
      'resolves a series no expression sees any more after unseenResolveMs',
      { forMs: 0, keepFiringForMs: 0, hysteresis },
      [
        [0, seen()],
        [1000, unseen],
        [5999, unseen],
        [6000, unseen],
      ],
      ['firing', 'none', 'none', 'resolved'],
    ],
    [
      'restarts the unseen clock when the series is seen again',
      { forMs: 0, keepFiringForMs: 0, hysteresis },
      [
        [0, seen()],
        [1000, unseen],
        [4000, band()],
        [5000, unseen],
        [9999, unseen],
        [10_000, unseen],
      ],
      ['firing', 'none', 'none', 'none', 'none', 'resolved'],
    ],
    [
      'holds a firing alert for min_firing_for, then resolves at the next evaluation where it may',
      { forMs: 0, keepFiringForMs: 0, minFiringForMs: 10_000 },
      [
        [0, seen()],
        [1000, gone],
        [9999, gone],
        [10_000, gone],
      ],
      ['firing', 'none', 'none', 'resolved'],
    ],
    [
      'min_firing_for counts from firedAt, not from when the condition first held',
      { forMs: 2000, keepFiringForMs: 0, minFiringForMs: 3000 },
      [
        [0, seen()],
        [2000, seen()],
        [3000, gone],
        [4999, gone],
        [5000, gone],
      ],
      ['pending', 'firing', 'none', 'none', 'resolved'],
    ],
    [
      'with resolve_when, min_firing_for needs the resolve condition at the evaluation that resolves',
      { forMs: 0, keepFiringForMs: 0, minFiringForMs: 3000, hysteresis },
      [
        [0, seen()],
        [1000, holds],
        [3000, band()],
        [4000, holds],
      ],
      ['firing', 'none', 'none', 'resolved'],
    ],
    [
      'keep_firing_for counts from the first evaluation where resolve_when held',
      { forMs: 0, keepFiringForMs: 3000, hysteresis },
      [
        [0, seen()],
        [1000, band()],
        [2000, holds],
        [4999, holds],
        [5000, holds],
      ],
      ['firing', 'none', 'none', 'none', 'resolved'],
    ],
    [
      'expr holding again resets keep_firing_for',
      { forMs: 0, keepFiringForMs: 3000, hysteresis },
      [
        [0, seen()],
        [1000, holds],
        [2000, seen()],
        [3000, holds],
        [5999, holds],
        [6000, holds],
      ],
      ['firing', 'none', 'none', 'none', 'none', 'resolved'],
    ],
    [
      'without resolve_when, the resolve hint is ignored: absence resolves',
      { forMs: 0, keepFiringForMs: 0 },
      [
        [0, seen()],
        [1000, band()],
      ],
      ['firing', 'resolved'],
    ],
  ];
  it.each(rows)('%s', (_name, timing, steps, transitions) => {
    expect(run(steps, timing).transitions).toEqual(transitions);
  });

  it('updates the value from the band and keeps the last one when none is known', () => {
    const timing = { forMs: 0, keepFiringForMs: 0, hysteresis };
    expect(
      run(
        [
          [0, seen(95)],
          [1000, band(80)],
        ],
        timing,
      ).alert?.value,
    ).toBe(80);
    expect(
      run(
        [
          [0, seen(95)],
          [1000, band()],
        ],
        timing,
      ).alert?.value,
    ).toBe(95);
    expect(
      run(
        [
          [0, seen(95)],
          [1000, band(80)],
          [2000, holds],
        ],
        timing,
      ).alert,
    ).toMatchObject({
      state: 'resolved',
      value: 80,
      resolvedAt: 2000,
      lastActiveAt: 0,
    });
  });

  it('is also resolved by resolve_when when expr is absent but the series never entered the band', () => {
    const timing = { forMs: 0, keepFiringForMs: 0, hysteresis };
    expect(
      run(
        [
          [0, seen(95)],
          [1000, holds],
        ],
        timing,
      ).transitions,
    ).toEqual(['firing', 'resolved']);
  });
});

describe('dropAlert', () => {
  it('cancels pending alerts and resolves firing ones at once', () => {
    const pending = run([[0, seen()]]).alert;
    const firing = run([[0, seen()]], { forMs: 0, keepFiringForMs: 60_000 }).alert;
    if (pending === undefined || firing === undefined) throw new Error('no alert');
    expect(dropAlert(pending, 10)).toEqual({ next: undefined, transition: 'cancelled' });
    expect(dropAlert(firing, 10)).toMatchObject({
      next: { state: 'resolved', resolvedAt: 10 },
      transition: 'resolved',
    });
  });
});
