import { describe, expect, it } from 'vitest';
import { advanceAlert, alertFingerprint, type AlertInstance, type AlertObservation } from './alertState.js';

const id = { fingerprint: 'fp', rule: 'R' };
const seen = (value = 1): AlertObservation => ({
  present: true,
  value,
  labels: { alertname: 'R' },
  annotations: {},
});
const gone: AlertObservation = { present: false };

function run(steps: [number, AlertObservation][], timing = { forMs: 2000, keepFiringForMs: 0 }) {
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
