import type { ExpressionChecker } from '../config/index.js';
import type { AlertInstance } from '../core/index.js';
import { parseExpr } from '../promql/index.js';
import type { AlertStatePort } from '../rules/index.js';
import type { AuditPort } from '../runbooks/index.js';
import type { StateStore } from '../store/index.js';

/** Keeps alert state in the state store, so `for` clocks and firing alerts survive restarts. */
export function alertStateFromStore(store: StateStore): AlertStatePort {
  return {
    async loadActive() {
      return (await store.alerts.listActive()).map((row): AlertInstance => ({
        fingerprint: row.fingerprint,
        rule: row.rule,
        labels: row.labels,
        annotations: row.annotations,
        state: row.state,
        activeAt: row.activeAt,
        firedAt: row.firedAt,
        resolvedAt: row.resolvedAt,
        lastActiveAt: row.updatedAt,
        value: row.lastValue,
      }));
    },
    async save(alert, now) {
      await store.alerts.upsert({
        fingerprint: alert.fingerprint,
        rule: alert.rule,
        labels: alert.labels,
        annotations: alert.annotations,
        state: alert.state,
        activeAt: alert.activeAt,
        firedAt: alert.firedAt,
        resolvedAt: alert.resolvedAt,
        lastValue: alert.value !== null && Number.isFinite(alert.value) ? alert.value : null,
        updatedAt: now,
      });
    },
  };
}

/** Writes runbook actions to the hash-chained audit log. */
export function auditFromStore(store: StateStore, now: () => number): AuditPort {
  return {
    async record(entry) {
      await store.audit.append({ ...entry, at: now() });
    },
  };
}

/** Validates PromQL in rule and runbook files with the real parser, for config loading. */
export const checkExpression: ExpressionChecker = (expr) => {
  const parsed = parseExpr(expr);
  if (parsed.ok) return null;
  const { position } = parsed.error;
  return {
    message: position
      ? `PromQL error at line ${position.line}, column ${position.column}: ${parsed.error.message}`
      : parsed.error.message,
  };
};
