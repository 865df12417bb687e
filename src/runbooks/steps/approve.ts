import { setTimeout as sleep } from 'node:timers/promises';
import { auditAction, missingPort, runIdOf, stringParam, type StepHandler } from './StepContext.js';

/**
 * A human gate: waits until someone approves (`POST /api/v1/runs/:id/approve`, `swas runbook approve RUN`)
 * or rejects. The request and the decision live in the step's stored result, so a restart of swas while
 * waiting keeps both, and the timeout counts from the first request, not from the restart.
 */
export const approve: StepHandler = async (ctx, params) => {
  if (ctx.approvals === undefined) return missingPort('approve', 'approval store');
  const runId = runIdOf(ctx);
  const prompt = stringParam(params, 'prompt');
  const onTimeout = params.on_timeout === 'continue' ? 'continue' : 'fail';
  const timeoutMs = Math.max(0, ctx.deadline - ctx.now());
  const request = await ctx.approvals.request(runId, { prompt, requestedAt: ctx.now() });
  const deadline = request.requestedAt + timeoutMs;
  for (;;) {
    ctx.signal.throwIfAborted();
    const decided = await ctx.approvals.decision(runId);
    if (decided !== null) {
      const result = { prompt, requestedAt: request.requestedAt, approval: decided };
      const by = `${decided.by}${decided.comment ? ` (“${decided.comment}”)` : ''}`;
      await auditAction(ctx, {
        action: 'approve',
        target: `run:${runId}`,
        reason: prompt,
        before: null,
        after: decided,
        result: decided.decision,
      });
      if (decided.decision === 'approved') return { ok: true, message: `approved by ${by}`, result };
      return { ok: false, error: `rejected by ${by}`, result };
    }
    const now = ctx.now();
    if (now >= deadline) break;
    await sleep(Math.min(ctx.pollMs, Math.max(1, deadline - now)), undefined, { signal: ctx.signal });
  }
  const result = { prompt, requestedAt: request.requestedAt, approval: null };
  const waited = `${Math.round(timeoutMs / 1000)} s`;
  if (onTimeout === 'continue')
    return {
      ok: true,
      message: `nobody decided within ${waited}; continuing (on_timeout: continue)`,
      result,
    };
  return {
    ok: false,
    error: `nobody approved within ${waited}; approve with \`swas runbook approve ${runId}\` next time, or raise the step timeout`,
    result,
  };
};
