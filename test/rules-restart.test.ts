import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ruleFileSchema } from '../src/config/index.js';
import { EmbeddedPromqlQuery } from '../src/promql/index.js';
import { compileRuleGroups, RuleManager, type AlertChange } from '../src/rules/index.js';
import { alertStateFromStore } from '../src/server/adapters.js';
import { openStateStore } from '../src/store/index.js';
import { MemorySeriesStore } from '../src/tsdb/index.js';
import { makeTempDir } from './support/tmp.js';

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups) await cleanup();
});

const RULES = `
groups:
  - name: g
    rules:
      - alert: Down
        expr: up == 0
        for: 2m
      - alert: Hot
        expr: temperature > 90
        resolve_when: temperature < 70
`;

/** One swas "process": a rule manager over the SQLite state store in `dataDir`, fresh metrics in memory. */
async function boot(dataDir: string) {
  const store = await openStateStore({ dataDir });
  const metrics = new MemorySeriesStore();
  metrics.append({ __name__: 'up', job: 'web' }, 0, 0);
  metrics.append({ __name__: 'temperature', room: 'a' }, 0, 95);
  const changes: AlertChange[] = [];
  const manager = RuleManager.create({
    query: EmbeddedPromqlQuery.create({ reader: metrics }),
    appender: metrics,
    alertState: alertStateFromStore(store),
    onAlertChange: (change) => {
      changes.push(change);
      return Promise.resolve();
    },
    logger: pino({ level: 'silent' }),
  });
  const restored = await manager.restore();
  const groups = compileRuleGroups(
    [{ file: 'rules.yml', groups: ruleFileSchema.parse(parse(RULES)).groups }],
    60_000,
  );
  await manager.setGroups(groups);
  const group = groups[0];
  if (group === undefined) throw new Error('no group');
  const evaluate = (t: number) => manager.evaluateGroup(group, t);
  const seen = () => changes.map((c) => `${c.alert.rule}:${c.transition}@${c.at / 1000}`);
  return { store, metrics, manager, restored, evaluate, seen };
}

describe('alert state across a restart, kept in SQLite', () => {
  it('continues `for` where it was and does not announce firing alerts again', async () => {
    const tmp = await makeTempDir('rules-restart');
    cleanups.push(tmp.remove);

    const first = await boot(tmp.dir);
    await first.evaluate(0);
    await first.evaluate(60_000);
    expect(first.seen()).toEqual(['Down:pending@0', 'Hot:firing@0']);
    await first.store.close();

    const second = await boot(tmp.dir);
    expect(second.restored).toBe(2);
    second.metrics.append({ __name__: 'temperature', room: 'a' }, 100_000, 80);
    await second.evaluate(100_000);
    expect(second.seen()).toEqual([]);
    await second.evaluate(120_000);
    expect(second.seen()).toEqual(['Down:firing@120']);
    expect(second.manager.activeAlerts().find((a) => a.rule === 'Hot')).toMatchObject({
      state: 'firing',
      activeAt: 0,
      firedAt: 0,
      value: 80,
    });
    second.metrics.append({ __name__: 'temperature', room: 'a' }, 180_000, 60);
    await second.evaluate(180_000);
    expect(second.seen()).toEqual(['Down:firing@120', 'Hot:resolved@180']);
    await second.store.close();
  });
});
