import { auditAction, missingPort, runIdOf, stringParam, type StepHandler } from './StepContext.js';

/** Sends a message through the configured notification channels (low urgency: it informs, it does not page). */
export const notify: StepHandler = async (ctx, params) => {
  if (ctx.notifications === undefined) return missingPort('notify', 'notification channels');
  const message = stringParam(params, 'message');
  const sent = await ctx.notifications.notify({
    runId: runIdOf(ctx),
    runbook: ctx.runbook,
    message,
    urgency: 'low',
  });
  await auditAction(ctx, {
    action: 'notify',
    target: `run:${runIdOf(ctx)}`,
    reason: message,
    before: null,
    after: null,
    result: sent.ok ? 'ok' : `error: ${sent.error}`,
  });
  if (!sent.ok) return { ok: false, error: `notification not sent: ${sent.error}`, result: { message } };
  return { ok: true, message: `notified: ${sent.detail}`, result: { message } };
};

/**
 * Escalates the run's incident with an urgent page, then continues the run or stops it (`then`). Stopping
 * is a failed step on purpose: the run ends failed and its runbook's `on_failure` applies.
 */
export const page: StepHandler = async (ctx, params) => {
  if (ctx.notifications === undefined) return missingPort('page', 'notification channels');
  const message = stringParam(params, 'message');
  const then = params.then === 'stop' ? 'stop' : 'continue';
  const sent = await ctx.notifications.notify({
    runId: runIdOf(ctx),
    runbook: ctx.runbook,
    message,
    urgency: 'high',
  });
  await auditAction(ctx, {
    action: 'page',
    target: `run:${runIdOf(ctx)}`,
    reason: message,
    before: null,
    after: { then },
    result: sent.ok ? 'ok' : `error: ${sent.error}`,
  });
  if (!sent.ok) return { ok: false, error: `page not sent: ${sent.error}`, result: { message, then } };
  if (then === 'stop')
    return {
      ok: false,
      error: `paged (${sent.detail}) and stopped the run as the step says (then: stop)`,
      result: { message, then },
    };
  return { ok: true, message: `paged: ${sent.detail}; continuing`, result: { message, then } };
};
