import type { ServiceVerb } from '../ports.js';
import { auditAction, stringParam, type StepHandler } from './StepContext.js';

const tail = (text: string) => (text.length > 2000 ? `…${text.slice(-2000)}` : text);

/** Runs a service's declared restart/start/stop command and reports its output. */
export function serviceStep(verb: ServiceVerb): StepHandler {
  return async (ctx, params) => {
    const service = stringParam(params, 'service');
    if (!ctx.services.has(service, verb)) {
      return {
        ok: false,
        error: `service "${service}" declares no ${verb} command; add services.${service}.${verb} to swas.yaml`,
      };
    }
    const outcome = await ctx.services.run(service, verb, ctx.signal);
    await auditAction(ctx, {
      action: `service.${verb}`,
      target: service,
      reason: `runbook ${ctx.runbook}`,
      before: null,
      after: { durationMs: outcome.durationMs },
      result: outcome.ok ? 'ok' : `error: ${outcome.error}`,
    });
    const result = { output: tail(outcome.output), durationMs: outcome.durationMs };
    if (!outcome.ok) return { ok: false, error: `${verb} of ${service} failed: ${outcome.error}`, result };
    return {
      ok: true,
      message: `${service} ${verb === 'stop' ? 'stopped' : `${verb}ed`} in ${(outcome.durationMs / 1000).toFixed(1)} s`,
      result,
    };
  };
}
