/** Instant queries against an engine's `/api/v1/query`, timed from the client as a user would see them. */
import type { Engine } from './engines.js';

/** One answered query: its latency and the label sets it returned. */
export type QueryOutcome =
  | { readonly ok: true; readonly ms: number; readonly series: readonly string[] }
  | { readonly ok: false; readonly ms: number; readonly error: string };

interface PromResponse {
  status: string;
  error?: string;
  data?: { resultType: string; result: unknown };
}

/** Runs `expr` at `timeSeconds` and returns the round-trip time and the sorted result label sets. */
export async function instantQuery(engine: Engine, expr: string, timeSeconds: number): Promise<QueryOutcome> {
  const params = new URLSearchParams({ query: expr, time: String(timeSeconds) });
  const started = performance.now();
  let response: Response;
  let text: string;
  try {
    response = await fetch(`${engine.url}/api/v1/query?${params}`, {
      headers: engine.headers,
      signal: AbortSignal.timeout(60_000),
    });
    text = await response.text();
  } catch (error) {
    return { ok: false, ms: performance.now() - started, error: String(error) };
  }
  const ms = performance.now() - started;
  let body: PromResponse;
  try {
    body = JSON.parse(text) as PromResponse;
  } catch {
    return { ok: false, ms, error: `HTTP ${response.status}, not JSON: ${text.slice(0, 200)}` };
  }
  if (body.status !== 'success')
    return { ok: false, ms, error: `HTTP ${response.status}: ${body.error ?? text}` };
  const result = body.data?.result;
  const series = Array.isArray(result)
    ? (result as { metric?: Record<string, string> }[]).map((r) =>
        JSON.stringify(Object.entries(r.metric ?? {}).sort(([a], [b]) => a.localeCompare(b))),
      )
    : [];
  return { ok: true, ms, series: series.sort() };
}

/** A scalar from a one-element vector result, e.g. `count(...)`; NaN when the query fails or is empty. */
export async function queryNumber(engine: Engine, expr: string): Promise<number> {
  const params = new URLSearchParams({ query: expr });
  try {
    const response = await fetch(`${engine.url}/api/v1/query?${params}`, {
      headers: engine.headers,
      signal: AbortSignal.timeout(60_000),
    });
    const body = (await response.json()) as { data?: { result?: { value?: [number, string] }[] } };
    return Number(body.data?.result?.[0]?.value?.[1] ?? Number.NaN);
  } catch {
    return Number.NaN;
  }
}
