import { auditAction, stringParam, type StepHandler } from './StepContext.js';

const EXCERPT_LIMIT = 2000;

/** One accepted status: an exact code, a class (`2xx`) or a range (`200-299`). */
export function statusMatches(status: number, accepted: readonly (number | string)[]): boolean {
  return accepted.some((a) => {
    if (typeof a === 'number') return a === status;
    if (/^[1-5]xx$/.test(a)) return Math.floor(status / 100) === Number(a[0]);
    const [low, high] = a.split('-').map(Number);
    return low !== undefined && high !== undefined && status >= low && status <= high;
  });
}

/**
 * Calls a URL (http or https only) and checks the status and optionally the body. Header values never
 * reach the result or the audit log: only their names do. `headers_from_env` reads values from swas's
 * environment at call time, so secrets stay out of runbook files.
 */
export const httpCall: StepHandler = async (ctx, params) => {
  const url = stringParam(params, 'url');
  const method = typeof params.method === 'string' ? params.method : 'GET';
  const accepted = (params.expect_status as (number | string)[] | undefined) ?? ['2xx'];
  const bodyContains = typeof params.body_contains === 'string' ? params.body_contains : null;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { ok: false, error: `with.url ${JSON.stringify(url)} is not a valid URL` };
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    return { ok: false, error: `with.url must use http or https, not ${parsed.protocol.replace(':', '')}` };
  const headers: Record<string, string> = {
    ...((params.headers as Record<string, string> | undefined) ?? {}),
  };
  for (const [header, variable] of Object.entries(
    (params.headers_from_env as Record<string, string>) ?? {},
  )) {
    const value = process.env[variable];
    if (value === undefined || value === '')
      return {
        ok: false,
        error: `with.headers_from_env.${header}: environment variable ${variable} is not set in swas's environment`,
      };
    headers[header] = value;
  }
  const shown = `${method} ${parsed.origin}${parsed.pathname}`;
  const request = { method, url: shown, headers: Object.keys(headers) };
  const started = ctx.now();
  let status: number;
  let excerpt: string;
  try {
    const response = await fetch(parsed, {
      method,
      headers,
      body:
        typeof params.body === 'string' && method !== 'GET' && method !== 'HEAD' ? params.body : undefined,
      redirect: 'manual',
      signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(Math.max(1, ctx.deadline - started))]),
    });
    status = response.status;
    const text = await response.text();
    excerpt = text.length > EXCERPT_LIMIT ? `${text.slice(0, EXCERPT_LIMIT)}…` : text;
    if (bodyContains !== null && !text.includes(bodyContains)) {
      return fail(
        `${shown} answered ${status} but the body does not contain ${JSON.stringify(bodyContains)}`,
      );
    }
  } catch (error) {
    ctx.signal.throwIfAborted();
    const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
    const why =
      error instanceof Error && error.name === 'TimeoutError'
        ? 'no answer before the step timeout'
        : `${error instanceof Error ? error.message : String(error)}${cause}`;
    await auditAction(ctx, {
      action: 'http',
      target: shown,
      reason: `runbook ${ctx.runbook}`,
      before: request,
      after: null,
      result: `error: ${why}`,
    });
    return { ok: false, error: `${shown} failed: ${why}`, result: { request } };
  }
  const durationMs = ctx.now() - started;
  const result = { request, status, durationMs, body: excerpt };
  await auditAction(ctx, {
    action: 'http',
    target: shown,
    reason: `runbook ${ctx.runbook}`,
    before: request,
    after: { status, durationMs },
    result: statusMatches(status, accepted) ? 'ok' : `error: status ${status}`,
  });
  if (!statusMatches(status, accepted))
    return { ok: false, error: `${shown} answered ${status}, expected ${accepted.join(', ')}`, result };
  return { ok: true, message: `${shown} answered ${status} in ${durationMs} ms`, result };

  function fail(error: string) {
    return { ok: false as const, error, result: { request, status, body: excerpt } };
  }
};
