import type { Logger } from 'pino';
import type { Counter } from 'prom-client';
import type { MetricsQuery } from '../promql/index.js';
import type { RuleState } from './ruleState.js';

// After this many empty evaluations, check whether the rule names metrics nobody exposes.
const UNKNOWN_METRIC_CHECK_AFTER = 3;

/** Keeps each rule's health after its evaluations: errors, how long it took, and warnings about unknown metrics. */
export class RuleHealthTracker {
  constructor(
    private readonly query: MetricsQuery,
    private readonly failures: Counter,
    private readonly logger: Logger,
  ) {}

  /** Records how an evaluation went; logs when an error starts, changes or ends, not at every tick it persists. */
  record(state: RuleState, error: string | null, at: number, ms: number): void {
    const { health, group, rule } = state;
    const before = health.health === 'err' ? health.lastError : null;
    health.health = error === null ? 'ok' : 'err';
    health.lastError = error ?? '';
    health.lastEvaluationMs = at;
    health.evaluationMs = ms;
    const where = { group: group.name, file: group.file, rule: rule.name };
    if (error !== null) this.failures.inc({ group: group.name });
    if (error !== null && error !== before)
      this.logger.warn({ ...where, error }, `rule ${rule.name} failed: ${error}`);
    if (error === null && before !== null)
      this.logger.info(where, `rule ${rule.name} evaluates again after failing`);
  }

  /** Warns once a rule has found nothing a few times in a row and names metrics no target exposes. */
  async checkUnknownMetrics(state: RuleState, samples: number): Promise<void> {
    const { health, group, rule } = state;
    if (samples > 0) {
      health.emptyEvaluations = 0;
      health.warnings = [];
      return;
    }
    health.emptyEvaluations += 1;
    if (health.emptyEvaluations !== UNKNOWN_METRIC_CHECK_AFTER) return;
    const unknown = await this.query.unknownMetrics(rule.expr);
    if (unknown.length === 0) return;
    health.warnings = [
      `no target exposes ${unknown.map((m) => `"${m}"`).join(', ')}; check the metric name in ${group.file}`,
    ];
    this.logger.warn(
      { group: group.name, rule: rule.name, metrics: unknown },
      `rule ${rule.name} names metrics no target exposes`,
    );
  }
}
