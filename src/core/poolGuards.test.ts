import { describe, expect, it } from 'vitest';
import {
  blastRadiusDecision,
  capacityDecision,
  describeRefusals,
  lastMemberDecision,
  type MemberView,
} from './poolGuards.js';

const member = (name: string, extra: Partial<MemberView> = {}): MemberView => ({
  name,
  serving: true,
  weight: 100,
  initialWeight: 100,
  statusText: 'UP',
  ...extra,
});

describe('pool guard arithmetic', () => {
  it('never lets the last serving member go', () => {
    expect(lastMemberDecision('web', 'a', [member('b', { serving: false })]).ok).toBe(false);
    expect(lastMemberDecision('web', 'a', [member('b')]).ok).toBe(true);
  });

  it('counts every member out of service, and applies the stricter of count and percent', () => {
    const others = [member('b', { serving: false, statusText: 'MAINT' }), member('c'), member('d')];
    expect(blastRadiusDecision(4, others, { maxOut: 2 })).toMatchObject({ ok: true });
    expect(blastRadiusDecision(4, others, { maxOut: 1 })).toMatchObject({
      ok: false,
      detail: 'over the limit of 1 member(s) of 4 out at once with this one; out now: b (MAINT)',
    });
    expect(blastRadiusDecision(4, others, { maxOut: 3, maxOutPercent: 25 }).ok).toBe(false);
    expect(blastRadiusDecision(4, others, { maxOut: 3, maxOutPercent: 50 }).ok).toBe(true);
  });

  it('allows a removal the rest carry with headroom, and otherwise says what the member must keep', () => {
    const others = [member('b'), member('c')];
    const base = { perMember: 10, headroom: 0.2, target: member('a'), weightAfter: 0, others };
    // The rest carry 2 × 10 × 0.8 = 16.
    expect(capacityDecision({ ...base, load: 16 })).toMatchObject({ decision: { ok: true }, shedTo: null });
    const refused = capacityDecision({ ...base, load: 20 });
    expect(refused.decision.ok).toBe(false);
    // 20 / 0.8 = 25 needed, 20 remain: the member keeps 5 of its 10, weight 50 of 100.
    expect(refused.shedTo).toBe(50);
    expect(refused.decision.detail).toContain('it must keep weight 50 of 100');
    // A member already at or below what it must keep can give up nothing.
    expect(capacityDecision({ ...base, load: 20, target: member('a', { weight: 50 }) }).shedTo).toBeNull();
    // Members at half weight carry half.
    const half = others.map((m) => ({ ...m, weight: 50 }));
    expect(capacityDecision({ ...base, load: 9, others: half }).decision.ok).toBe(false);
    expect(capacityDecision({ ...base, load: 8, others: half }).decision.ok).toBe(true);
    // Lowering a weight counts what the member keeps.
    expect(capacityDecision({ ...base, load: 20, weightAfter: 50 }).decision.ok).toBe(true);
  });

  it('describes only the refusing guards', () => {
    expect(
      describeRefusals([
        { guard: 'last_member', ok: true, detail: 'fine' },
        { guard: 'capacity', ok: false, detail: 'too much' },
      ]),
    ).toBe('capacity: too much');
  });
});
