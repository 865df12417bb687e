import { setTimeout as sleep } from 'node:timers/promises';
import type { AuditRecord, StepServices } from '../ports.js';
import type { StepExtensions } from './stepPorts.js';

/** The outcome of one step. A failure is data, so the executor decides what happens next. */
export type StepOutcome =
  | { readonly ok: true; readonly message: string; readonly result: Record<string, unknown> }
  | { readonly ok: false; readonly error: string; readonly result?: Record<string, unknown> };

/** Everything one step execution sees. */
export interface StepContext extends StepServices, StepExtensions {
  /** Who acts, for the audit log: `run:<id>`. */
  readonly actor: string;
  readonly runbook: string;
  /** Aborted at the step's hard deadline or when swas shuts down. */
  readonly signal: AbortSignal;
  /** When the step's own timeout ends (ms); steps that wait stop waiting here. */
  readonly deadline: number;
  /** True for a step of the run's undo path, which restores the state before the run. */
  readonly undo: boolean;
  /**
   * For a load-balancer step: the member's admin state and weight when this step first acted, as recorded
   * before it did (so a step resumed after a crash still knows them); null when none was recorded.
   */
  readonly memberBefore: { readonly admin: string; readonly weight: number } | null;
}

/** A step implementation: expanded params in, outcome out. */
export type StepHandler = (
  ctx: StepContext,
  params: Readonly<Record<string, unknown>>,
) => Promise<StepOutcome>;

/** Appends an audit entry for an action taken by a run. */
export async function auditAction(ctx: StepContext, entry: Omit<AuditRecord, 'actor'>): Promise<void> {
  await ctx.audit.record({ ...entry, actor: ctx.actor });
}

/**
 * Polls `probe` until it returns a value or the step's deadline passes; null at the deadline.
 * Aborts (throws) when the run is interrupted.
 */
export async function pollUntil<T>(ctx: StepContext, probe: () => Promise<T | null>): Promise<T | null> {
  for (;;) {
    ctx.signal.throwIfAborted();
    const value = await probe();
    if (value !== null) return value;
    if (ctx.now() >= ctx.deadline) return null;
    await sleep(Math.min(ctx.pollMs, Math.max(1, ctx.deadline - ctx.now())), undefined, {
      signal: ctx.signal,
    });
  }
}

/** Reads a string param the planner guaranteed. */
export function stringParam(params: Readonly<Record<string, unknown>>, name: string): string {
  const value = params[name];
  if (typeof value !== 'string' || value === '') throw new Error(`step parameter "${name}" is missing`);
  return value;
}

/** The run a step belongs to, from its actor (`run:<id>`). */
export function runIdOf(ctx: StepContext): string {
  return ctx.actor.startsWith('run:') ? ctx.actor.slice('run:'.length) : ctx.actor;
}

/** Fails a step whose port the composition root did not wire, saying what is missing. */
export function missingPort(action: string, port: string): StepOutcome {
  return {
    ok: false,
    error: `step ${action} cannot run: this swas server has no ${port} configured (a wiring bug; report it)`,
  };
}
