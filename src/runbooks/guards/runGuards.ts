import type { RunbookConfig } from '../../config/index.js';
import { isInWindow, parseCron, type GuardDecision } from '../../core/index.js';
import type { Quarantine, QuarantineRepository, Run, RunRepository } from '../../store/index.js';
import type { AllowedWindow } from '../planRun.js';
import { targetKey } from '../runSteps.js';

/**
 * Whether `at` falls in one of the windows; with the windows described for messages. No windows means
 * any time.
 */
export function windowDecision(windows: readonly AllowedWindow[] | undefined, at: number): GuardDecision {
  if (windows === undefined || windows.length === 0)
    return { guard: 'window', ok: true, detail: 'allowed at any time' };
  const described = windows.map(describeWindow).join('; ');
  const open = windows.some((w) => {
    const parsed = parseCron(w.schedule);
    return (
      parsed.ok &&
      isInWindow({ schedule: parsed.schedule, durationMs: w.duration, timeZone: w.time_zone }, at)
    );
  });
  return {
    guard: 'window',
    ok: open,
    detail: open
      ? `inside an allowed window (${described})`
      : // Reads right after "may act only" / "may start only", the callers' prefixes.
        `inside an allowed window (${described}), but none is open at ${new Date(at).toISOString()}`,
  };
}

function describeWindow(w: AllowedWindow): string {
  const minutes = Math.round(w.duration / 60_000);
  const length = minutes % 60 === 0 ? `${minutes / 60}h` : `${minutes}m`;
  return `"${w.schedule}" for ${length} ${w.time_zone}`;
}

/** What the start guards decided; a refusal says whether a human must hear of it. */
export type StartGuardOutcome =
  | { readonly ok: true; readonly decisions: readonly GuardDecision[] }
  | {
      readonly ok: false;
      readonly decisions: readonly GuardDecision[];
      readonly reason: string;
      /** False when people already know (an existing quarantine): the refusal is only noted. */
      readonly escalate: boolean;
      /** Set when this refusal quarantined the target just now. */
      readonly quarantined?: { readonly quarantine: Quarantine; readonly history: readonly Run[] };
    };

/** What {@link checkStartGuards} reads. */
export interface StartGuardInput {
  readonly runbook: RunbookConfig;
  readonly target: Readonly<Record<string, string>>;
  readonly targetKey: string;
  /** How many members the run acts on (1 for a plain run). */
  readonly targetCount: number;
  readonly runs: RunRepository;
  readonly quarantines: QuarantineRepository;
  readonly now: number;
  /** True for a dry run: report what would happen, quarantine nothing. */
  readonly dryRun?: boolean;
}

// Runs older than the window are not read; a target with more runs than this in one window is past any budget.
const HISTORY_LIMIT = 500;

/**
 * The guards a run must pass before it is created (DESIGN §6.1, §6.4, §6.7): target sanity, an active
 * quarantine, the flap budget (spending it quarantines the target) and the runbook's allowed windows.
 */
export async function checkStartGuards(input: StartGuardInput): Promise<StartGuardOutcome> {
  const { runbook, now } = input;
  const decisions: GuardDecision[] = [];
  const refuse = (reason: string, escalate: boolean, extra = {}): StartGuardOutcome => ({
    ok: false,
    decisions,
    reason,
    escalate,
    ...extra,
  });

  const max = runbook.guards.max_targets;
  const sane = input.targetCount >= 1 && input.targetCount <= max;
  decisions.push({
    guard: 'target_sanity',
    ok: sane,
    detail:
      input.targetCount === 0
        ? 'the target set is empty; a run never widens to "all"'
        : `${input.targetCount} target(s), at most ${max} allowed (guards.max_targets)`,
  });
  if (!sane) return refuse(`target sanity: ${decisions.at(-1)?.detail ?? ''}`, true);

  const active = await input.quarantines.active(input.targetKey);
  decisions.push({
    guard: 'quarantine',
    ok: active === null,
    detail:
      active === null
        ? 'the target is not quarantined'
        : `quarantined since ${new Date(active.createdAt).toISOString()}: ${active.reason}; release it with \`swas runbook quarantine release ${active.id}\``,
  });
  if (active !== null) return refuse(decisions.at(-1)?.detail ?? '', false);

  const budget = runbook.guards.flap_budget;
  // A person who released a quarantine gives the target a fresh budget: runs before the release do not count.
  const released = (await input.quarantines.list({ limit: HISTORY_LIMIT }))
    .filter((q) => q.targetKey === input.targetKey && q.releasedAt !== null)
    .reduce((latest, q) => Math.max(latest, (q.releasedAt ?? 0) + 1), 0);
  const recent = (
    await input.runs.list({ since: Math.max(now - budget.window, released), limit: HISTORY_LIMIT })
  )
    .filter((r) => sameTarget(r, input.targetKey))
    .reverse();
  const within = recent.length < budget.runs;
  const windowText = `${Math.round(budget.window / 60_000)} min`;
  decisions.push({
    guard: 'flap_budget',
    ok: within,
    detail: `${recent.length} run(s) on this target in the last ${windowText}; the budget is ${budget.runs}`,
  });
  if (!within) {
    const reason = `flap budget spent: ${recent.length} runs in ${windowText} (budget ${budget.runs}): ${recent
      .map((r) => `${r.id} ${r.status}`)
      .join(', ')}`;
    if (input.dryRun === true) return refuse(`${reason}; the target would be quarantined`, true);
    const { quarantine, created } = await input.quarantines.create({
      targetKey: input.targetKey,
      target: input.target,
      runbook: runbook.name,
      reason,
      runIds: recent.map((r) => r.id),
      createdAt: now,
    });
    return refuse(
      `target quarantined: ${quarantine.reason}`,
      created,
      created ? { quarantined: { quarantine, history: recent } } : {},
    );
  }

  const window = windowDecision(runbook.guards.allowed_windows, now);
  decisions.push(window);
  if (!window.ok) return refuse(`runbook ${runbook.name} may start only ${window.detail}`, true);
  return { ok: true, decisions };
}

function sameTarget(run: Run, key: string): boolean {
  return targetKey(run.target) === key;
}
