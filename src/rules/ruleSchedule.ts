import type { Logger } from 'pino';
import type { Counter } from 'prom-client';
import type { RuleGroupSpec } from './ruleGroups.js';
import { groupKey } from './ruleState.js';

/** What {@link RuleScheduler} runs at each tick of a group. */
export interface ScheduledWork {
  /** Evaluates the group at its tick. */
  evaluate(group: RuleGroupSpec, tick: number): Promise<void>;
  /** Called after an evaluation, at `now`, with the number of ticks it made the group skip. */
  afterEvaluation(group: RuleGroupSpec, skipped: number, now: number): Promise<void>;
}

/**
 * Runs each group on its interval. Each group's ticks sit on a fixed grid, offset within the interval by a hash
 * of the group's file and name (as Prometheus does), so groups spread over the interval instead of all
 * evaluating at once, and a group keeps its phase across restarts; evaluation does not drift, and overruns
 * skip ticks and count them.
 */
export class RuleScheduler {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly inFlight = new Set<Promise<void>>();
  private running = false;
  /** Bumped on every (re)schedule, so an evaluation in flight from before a reload does not schedule again. */
  private generation = 0;

  constructor(
    private readonly work: ScheduledWork,
    private readonly now: () => number,
    private readonly missed: Counter,
    private readonly logger: Logger,
  ) {}

  /** Starts running every group that is not broken. */
  start(groups: readonly RuleGroupSpec[]): void {
    this.running = true;
    this.scheduleAll(groups);
  }

  /** Replaces the groups being run, if running. */
  reschedule(groups: readonly RuleGroupSpec[]): void {
    if (!this.running) return;
    this.stopTimers();
    this.scheduleAll(groups);
  }

  /** Stops scheduling and waits for evaluations in flight. */
  async stop(): Promise<void> {
    this.running = false;
    this.stopTimers();
    await Promise.allSettled([...this.inFlight]);
  }

  private scheduleAll(groups: readonly RuleGroupSpec[]): void {
    this.generation += 1;
    const now = this.now();
    for (const group of groups.filter((g) => g.broken === undefined))
      this.schedule(group, firstTick(group, now), this.generation);
  }

  private schedule(group: RuleGroupSpec, tick: number, generation: number): void {
    const delay = Math.max(0, tick - this.now());
    this.timers.set(
      groupKey(group),
      setTimeout(() => {
        if (!this.isCurrent(generation)) return;
        const evaluation = this.runTick(group, tick, generation)
          .catch((error: unknown) => {
            this.logger.error({ err: error, group: group.name }, 'rule group evaluation failed');
          })
          .finally(() => this.inFlight.delete(evaluation));
        this.inFlight.add(evaluation);
      }, delay),
    );
  }

  private async runTick(group: RuleGroupSpec, tick: number, generation: number): Promise<void> {
    await this.work.evaluate(group, tick);
    if (!this.isCurrent(generation)) return;
    let next = tick + group.intervalMs;
    const now = this.now();
    let skipped = 0;
    if (now >= next) {
      skipped = Math.floor((now - next) / group.intervalMs) + 1;
      this.missed.inc({ group: group.name }, skipped);
      next += skipped * group.intervalMs;
    }
    await this.work.afterEvaluation(group, skipped, now);
    if (!this.isCurrent(generation)) return;
    this.schedule(group, next, generation);
  }

  /** Whether work scheduled in `generation` may go on: still running, and no reschedule since. */
  private isCurrent(generation: number): boolean {
    return this.running && generation === this.generation;
  }

  private stopTimers(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }
}

/** The group's first tick at or after `now`: the next time that is its offset modulo its interval. */
export function firstTick(group: RuleGroupSpec, now: number): number {
  const interval = group.intervalMs;
  const offset = fnv1a(groupKey(group)) % interval;
  return now + ((((offset - now) % interval) + interval) % interval);
}

/** FNV-1a with a final avalanche (MurmurHash3's fmix32), so names that differ in one character spread well. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash >>> 0;
}
