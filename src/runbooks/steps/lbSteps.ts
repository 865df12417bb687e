import type { LoadBalancer, MemberAdminState, PoolMember } from '../../lb/index.js';
import {
  auditAction,
  pollUntil,
  stringParam,
  type StepContext,
  type StepHandler,
  type StepOutcome,
} from './StepContext.js';
import { guardedChange, restoreShedWeight } from './guardedChange.js';
import {
  memberSnapshot as snapshot,
  rampWeight,
  rampWeights,
  setWeight,
  weightRampOf,
} from './weightRamp.js';

function lbFor(ctx: StepContext, pool: string): LoadBalancer {
  const lb = ctx.lbs.forPool(pool);
  if (lb === null)
    throw new Error(`no load balancer serves pool "${pool}"; add it to load_balancers[].pools in swas.yaml`);
  return lb;
}

/** Sets a member's admin state unless it is already there (idempotent), auditing the change. */
async function setState(
  ctx: StepContext,
  lb: LoadBalancer,
  member: PoolMember,
  state: MemberAdminState,
  reason: string,
): Promise<PoolMember> {
  if (member.admin === state) return member;
  const target = `${member.pool}/${member.name}`;
  try {
    await lb.setAdminState(member.pool, member.name, state);
  } catch (error) {
    await auditAction(ctx, {
      action: `lb.${state}`,
      target,
      reason,
      before: snapshot(member),
      after: null,
      result: `error: ${String(error)}`,
    });
    throw error;
  }
  const after = await lb.getMember(member.pool, member.name);
  await auditAction(ctx, {
    action: `lb.${state}`,
    target,
    reason,
    before: snapshot(member),
    after: snapshot(after),
    result: 'ok',
  });
  return after;
}

/** Takes a member out of rotation with `drain` if the pool guards allow it, then waits for its sessions to finish. */
export const drainMember: StepHandler = async (ctx, params) => {
  const pool = stringParam(params, 'pool');
  const name = stringParam(params, 'member');
  const lb = lbFor(ctx, pool);
  const before = await lb.getMember(pool, name);
  const changed =
    before.admin === 'ready'
      ? await guardedChange(ctx, lb, before, { kind: 'out' }, () =>
          setState(ctx, lb, before, 'drain', `runbook ${ctx.runbook}`),
        )
      : { ok: true as const, value: before, guards: [] };
  if (!changed.ok) return changed.outcome;
  // Already out (a resumed step): a crash may have come between the drain and giving back a shed weight.
  if (before.admin !== 'ready' && !ctx.undo) await restoreShedWeight(ctx, lb, before);
  const { value: member, guards } = changed;
  const idle = await pollUntil(ctx, async () => {
    const now = await lb.getMember(pool, name);
    return now.activeSessions === 0 ? now : null;
  });
  const was = before.admin === 'ready' ? 'drained' : `already in ${before.admin}`;
  if (idle !== null)
    return {
      ok: true,
      message: `${pool}/${name} ${was}; no active sessions`,
      result: { before: snapshot(before), after: snapshot(idle), guards },
    };
  const left = (await lb.getMember(pool, name)).activeSessions;
  if (params.on_timeout === 'fail')
    return { ok: false, error: `${pool}/${name} still has ${left} active sessions at the step timeout` };
  return {
    ok: true,
    message: `${pool}/${name} ${was}; ${left} sessions still active at the timeout, continuing`,
    result: { before: snapshot(before), after: snapshot(member), sessionsLeft: left, guards },
  };
};

/** Puts a member in maintenance (no traffic, no health-check transitions) if the pool guards allow it. */
export const maintMember: StepHandler = async (ctx, params) => {
  const pool = stringParam(params, 'pool');
  const name = stringParam(params, 'member');
  const lb = lbFor(ctx, pool);
  const before = await lb.getMember(pool, name);
  const changed = await guardedChange(ctx, lb, before, { kind: 'out' }, () =>
    setState(ctx, lb, before, 'maint', `runbook ${ctx.runbook}`),
  );
  if (!changed.ok) return changed.outcome;
  return {
    ok: true,
    message: `${pool}/${name} in maintenance`,
    result: { before: snapshot(before), after: snapshot(changed.value), guards: changed.guards },
  };
};

/** Sets a member's weight; lowering it passes the pool guards first. */
export const weighMember: StepHandler = async (ctx, params) => {
  const pool = stringParam(params, 'pool');
  const name = stringParam(params, 'member');
  const weight = Number(params.weight);
  const lb = lbFor(ctx, pool);
  const before = await lb.getMember(pool, name);
  // Checks before acting: a resumed or undo step whose weight is already set changes and audits nothing.
  const changed =
    weight < before.weight
      ? await guardedChange(ctx, lb, before, { kind: 'weight', weight }, () =>
          setWeight(ctx, lb, before, weight, `runbook ${ctx.runbook}`),
        )
      : {
          ok: true as const,
          value: await setWeight(ctx, lb, before, weight, `runbook ${ctx.runbook}`),
          guards: [],
        };
  if (!changed.ok) return changed.outcome;
  return {
    ok: true,
    message:
      before.weight === weight
        ? `${pool}/${name} weight already ${weight}`
        : `${pool}/${name} weight ${before.weight} → ${changed.value.weight}`,
    result: { before: snapshot(before), after: snapshot(changed.value), guards: changed.guards },
  };
};

/**
 * Returns a member to rotation with a ramp so a repaired server is not flooded: HAProxy's slow start
 * (which only applies from maint, so a drained member goes drain → maint → ready), swas's own weight
 * steps, or none. Done when the member is up and the ramp has finished; a weight ramp with a `check` must
 * also hold at every weight, or the member backs off to the first weight and the step fails.
 */
export const readyMember: StepHandler = async (ctx, params) => {
  const pool = stringParam(params, 'pool');
  const name = stringParam(params, 'member');
  const lb = lbFor(ctx, pool);
  const ramp = params.ramp ?? 'slowstart';
  const before = await lb.getMember(pool, name);
  const reason = `runbook ${ctx.runbook}`;
  if (ramp === 'slowstart' && before.admin === 'drain')
    await setState(ctx, lb, before, 'maint', `${reason}: drain → ready would skip slow start`);
  const weightRamp = weightRampOf(ramp);
  const weights = weightRamp === null ? [] : rampWeights(weightRamp, before.initialWeight);
  if (weights.length > 0 && before.admin !== 'ready')
    await setWeight(ctx, lb, before, weights[0] ?? before.initialWeight, reason);
  await setState(ctx, lb, await lb.getMember(pool, name), 'ready', reason);
  // 'starting' is HAProxy's slow start: health checks passed and the member is ramping up.
  const up = await pollUntil(ctx, async () => {
    const m = await lb.getMember(pool, name);
    return m.operational === 'up' || m.operational === 'starting' ? m : null;
  });
  if (up === null)
    return {
      ok: false,
      error: `${pool}/${name} is ready but its health checks did not pass before the step timeout`,
      result: { before: snapshot(before) },
    };
  if (ramp === 'slowstart') return awaitSlowStart(ctx, lb, before);
  if (weightRamp !== null) return rampWeight(ctx, lb, before, weights, weightRamp, reason);
  return {
    ok: true,
    message: `${pool}/${name} back in rotation (no ramp)`,
    result: { before: snapshot(before), after: snapshot(up), weights },
  };
};

async function awaitSlowStart(ctx: StepContext, lb: LoadBalancer, before: PoolMember): Promise<StepOutcome> {
  const { pool, name } = before;
  const throttle: number[] = [];
  const done = await pollUntil(ctx, async () => {
    const m = await lb.getMember(pool, name);
    if (m.throttlePercent !== null && throttle.at(-1) !== m.throttlePercent) throttle.push(m.throttlePercent);
    return m.throttlePercent === null ? m : null;
  });
  if (done === null)
    return {
      ok: false,
      error: `${pool}/${name} was still ramping (slow start at ${throttle.at(-1)}%) at the step timeout`,
      result: { throttle },
    };
  const how =
    throttle.length > 0
      ? `slow start ${throttle.join('% → ')}% → 100%`
      : 'HAProxy did not throttle it: set `slowstart` on the server line to ramp';
  return {
    ok: true,
    message: `${pool}/${name} back in rotation (${how})`,
    result: { before: snapshot(before), after: snapshot(done), throttle },
  };
}
