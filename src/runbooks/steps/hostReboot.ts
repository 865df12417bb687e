import { setTimeout as sleep } from 'node:timers/promises';
import { checkCondition } from './promqlCondition.js';
import { auditAction, missingPort, stringParam, type StepContext, type StepHandler } from './StepContext.js';

/**
 * Reboots a host through its configured command, then waits until the `up` condition holds again. With
 * `expect_down` (the default) the condition must first be seen false, so a host that has not yet gone
 * down is not taken for one that is already back.
 */
export const hostReboot: StepHandler = async (ctx, params) => {
  if (ctx.hosts === undefined) return missingPort('host.reboot', 'host control');
  const host = stringParam(params, 'host');
  const up = stringParam(params, 'up');
  const expectDown = params.expect_down !== false;
  if (!ctx.hosts.has(host))
    return {
      ok: false,
      error: `host "${host}" declares no reboot command; add hosts.${host}.reboot to swas.yaml`,
    };
  const outcome = await ctx.hosts.reboot(host, ctx.signal);
  await auditAction(ctx, {
    action: 'host.reboot',
    target: host,
    reason: `runbook ${ctx.runbook}`,
    before: null,
    after: { exitCode: outcome.exitCode, durationMs: outcome.durationMs },
    result: outcome.ok ? 'ok' : `error: ${outcome.error}`,
  });
  const output = outcome.output.slice(-2000);
  if (!outcome.ok)
    return { ok: false, error: `reboot of ${host} failed: ${outcome.error}`, result: { output } };
  const waited = await waitBack(ctx, up, expectDown);
  const result = { output, sawDown: waited.sawDown, last: waited.last };
  if (!waited.back)
    return {
      ok: false,
      error:
        waited.sawDown || !expectDown
          ? `${host} did not come back before the step timeout: \`${up}\` still false (${waited.last})`
          : `${host} never went down after its reboot command: \`${up}\` kept holding (${waited.last})`,
      result,
    };
  return { ok: true, message: `${host} rebooted and back: \`${up}\` holds`, result };
};

async function waitBack(
  ctx: StepContext,
  up: string,
  expectDown: boolean,
): Promise<{ back: boolean; sawDown: boolean; last: string }> {
  let sawDown = false;
  let last = 'not evaluated';
  for (;;) {
    ctx.signal.throwIfAborted();
    const check = await checkCondition(ctx, up);
    last = check.seen;
    const holds = check.kind === 'value' && check.holds;
    if (!holds) sawDown = true;
    else if (sawDown || !expectDown) return { back: true, sawDown, last };
    const now = ctx.now();
    if (now >= ctx.deadline) return { back: false, sawDown, last };
    await sleep(Math.min(ctx.pollMs, Math.max(1, ctx.deadline - now)), undefined, { signal: ctx.signal });
  }
}
