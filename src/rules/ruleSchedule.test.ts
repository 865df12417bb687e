import { describe, expect, it } from 'vitest';
import type { RuleGroupSpec } from './ruleGroups.js';
import { firstTick } from './ruleSchedule.js';

const group = (name: string, intervalMs = 15_000): RuleGroupSpec => ({
  name,
  file: 'rules.yml',
  intervalMs,
  queryOffsetMs: 0,
  limit: 0,
  rules: [],
});

describe('firstTick', () => {
  const now = 1_700_000_000_123;

  it('starts each group within one interval, on a phase that depends only on the group', () => {
    for (const name of ['api', 'db', 'web']) {
      const tick = firstTick(group(name), now);
      expect(tick).toBeGreaterThanOrEqual(now);
      expect(tick).toBeLessThan(now + 15_000);
      // The same phase after a restart at any other time.
      const later = firstTick(group(name), now + 123_456);
      expect((later - tick) % 15_000).toBe(0);
    }
  });

  it('spreads many groups over the interval instead of starting them all at once', () => {
    const phases = new Set(
      Array.from({ length: 20 }, (_, i) => Math.floor((firstTick(group(`g${i}`), now) - now) / 1500)),
    );
    // 20 groups over 10 slices of the interval: nearly every slice has one.
    expect(phases.size).toBeGreaterThanOrEqual(7);
  });
});
