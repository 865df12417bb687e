import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestServer, type TestServer } from './support/swasServer.js';
import { makeTempDir } from './support/tmp.js';

// Issue 4: a broken rule group is loaded, reported and not evaluated; every other group keeps evaluating.
const GOOD = `groups:
  - name: good
    rules:
      - alert: AlwaysOne
        expr: vector(1)
`;
const MIXED = (badExpr: string) => `groups:
  - name: bad
    rules:
      - alert: BadRule
        expr: ${badExpr}
      - alert: Innocent
        expr: vector(2)
  - name: fine
    rules:
      - alert: FineOne
        expr: vector(3)
`;

interface RulesBody {
  data: {
    groups: {
      name: string;
      file: string;
      health?: string;
      lastError?: string;
      rules: { name: string; health: string; lastError: string; type: string; lastEvaluation: string }[];
    }[];
  };
}
interface AlertsBody {
  data: { alerts: { labels: Record<string, string>; state: string }[] };
}

describe('broken rule groups', () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let swas: TestServer;
  let admin: string;
  const rules = async () => ((await swas.get('/api/v1/rules', admin)).body as RulesBody).data.groups;
  const firing = async () =>
    ((await swas.get('/api/v1/alerts', admin)).body as AlertsBody).data.alerts.filter(
      (a) => a.state === 'firing',
    );
  const firingNames = async () => (await firing()).map((a) => a.labels.alertname);
  const brokenGauge = async () =>
    /^swas_rule_groups_broken (\d+)$/m.exec(String((await swas.get('/metrics', admin)).body))?.[1];

  beforeAll(async () => {
    tmp = await makeTempDir('rules-broken');
    swas = await startTestServer(
      tmp.dir,
      'rules:\n  evaluation_interval: 1s\n  files: [good.yml, mixed.yml]\n',
      { 'good.yml': GOOD, 'mixed.yml': MIXED('vector(1) +') },
    );
    admin = await swas.token('admin');
  });
  afterAll(async () => {
    await swas.stop();
    await tmp.remove();
  });

  it('evaluates the good groups, shows the bad one with health err naming file:line, group and rule, and alerts', async () => {
    await eventually('the good groups to fire', async () => {
      const names = await firingNames();
      return names.includes('AlwaysOne') && names.includes('FineOne');
    });
    const groups = await rules();
    expect(groups.map((g) => [g.name, g.health ?? 'ok'])).toEqual([
      ['good', 'ok'],
      ['fine', 'ok'],
      ['bad', 'err'],
    ]);
    const bad = groups.find((g) => g.name === 'bad');
    const where = /mixed\.yml:5:9: groups\[0\]\.rules\[0\]\.expr: group "bad", alert "BadRule": PromQL error/;
    expect(bad?.lastError).toMatch(where);
    expect(bad?.rules.map((r) => [r.name, r.health, r.type])).toEqual([
      ['BadRule', 'err', 'alerting'],
      ['Innocent', 'err', 'alerting'],
    ]);
    expect(bad?.rules[0]?.lastError).toMatch(where);
    expect(bad?.rules[1]?.lastError).toMatch(
      /^not evaluated: another part of group "bad" is broken: .*mixed\.yml:5:9/,
    );
    expect(groups.find((g) => g.name === 'fine')?.rules[0]).toMatchObject({ health: 'ok', lastError: '' });

    const broken = (await firing()).find((a) => a.labels.alertname === 'SwasRuleGroupBroken');
    expect(broken?.labels).toMatchObject({
      group: 'bad',
      file: join(tmp.dir, 'mixed.yml'),
      severity: 'warning',
    });
    expect(await firingNames()).not.toContain('BadRule');
    expect(await brokenGauge()).toBe('1');
  });

  it('evaluates the group once a reload fixes it, and resolves SwasRuleGroupBroken', async () => {
    await writeFile(join(tmp.dir, 'mixed.yml'), MIXED('vector(4)'));
    expect((await swas.post('/-/reload', admin)).status).toBe(200);
    await eventually('the fixed group to fire', async () => (await firingNames()).includes('BadRule'));
    expect(await firingNames()).not.toContain('SwasRuleGroupBroken');
    expect((await rules()).find((g) => g.name === 'bad')?.health).toBeUndefined();
    expect(await brokenGauge()).toBe('0');
  });

  it('keeps the alerts of a group that breaks on reload as they were: a typo is not a recovery', async () => {
    await writeFile(join(tmp.dir, 'mixed.yml'), MIXED('vector(4) +'));
    expect((await swas.post('/-/reload', admin)).status).toBe(200);
    await eventually('SwasRuleGroupBroken again', async () =>
      (await firingNames()).includes('SwasRuleGroupBroken'),
    );
    expect(await firingNames()).toEqual(
      expect.arrayContaining(['AlwaysOne', 'BadRule', 'Innocent', 'FineOne']),
    );
  });

  it('loads a file that is not YAML as one broken entry named after the file; other files evaluate', async () => {
    await writeFile(join(tmp.dir, 'mixed.yml'), 'groups:\n  - name: [\n');
    expect((await swas.post('/-/reload', admin)).status).toBe(200);
    const groups = await rules();
    expect(groups.map((g) => [g.name, g.health ?? 'ok', g.rules.length])).toEqual([
      ['good', 'ok', 1],
      ['mixed.yml', 'err', 0],
    ]);
    expect(groups[1]?.lastError).toMatch(
      /mixed\.yml:\d+:\d+: .*a rule file is YAML with a top-level "groups:" list/,
    );
    await eventually('SwasRuleGroupBroken for the file', async () =>
      (await firing()).some(
        (a) => a.labels.alertname === 'SwasRuleGroupBroken' && a.labels.group === 'mixed.yml',
      ),
    );
    // A typo is not a recovery: the alerts of the unreadable file stay as they were until it is fixed.
    expect(await firingNames()).toEqual(expect.arrayContaining(['AlwaysOne', 'BadRule', 'FineOne']));
    const before = (await rules())[0]?.rules[0]?.lastEvaluation;
    await eventually('the good group to keep evaluating', async () => {
      const now = (await rules())[0]?.rules[0];
      return now?.health === 'ok' && now.lastEvaluation !== before;
    });
  });
});

describe('every rule group broken', () => {
  it('still starts, serves and raises SwasRuleGroupBroken, so someone is told', async () => {
    const tmp = await makeTempDir('rules-all-broken');
    const swas = await startTestServer(tmp.dir, 'rules:\n  evaluation_interval: 1s\n  files: [only.yml]\n', {
      'only.yml': MIXED('sum(').replace('vector(3)', 'rate(x[5m)'),
    });
    try {
      const admin = await swas.token('admin');
      expect((await swas.get('/-/ready', null)).status).toBe(200);
      const alerts = await eventually('both broken alerts', async () => {
        const body = (await swas.get('/api/v1/alerts', admin)).body as AlertsBody;
        const groups = body.data.alerts.filter((a) => a.labels.alertname === 'SwasRuleGroupBroken');
        return groups.length === 2 ? groups : null;
      });
      expect(alerts.map((a) => a.labels.group).sort()).toEqual(['bad', 'fine']);
      expect(swas.server.parts.config().warnings.at(-1)?.message).toMatch(
        /every rule group \(2\) is broken, so no rule is evaluated/,
      );
    } finally {
      await swas.stop();
      await tmp.remove();
    }
  });
});

describe('a group that is broken at restart', () => {
  it('keeps its restored alerts until the group is fixed, while the other groups run', async () => {
    const tmp = await makeTempDir('rules-broken-restart');
    const config = 'rules:\n  evaluation_interval: 1s\n  files: [good.yml, mixed.yml]\n';
    const alertNames = async (swas: TestServer, token: string) =>
      ((await swas.get('/api/v1/alerts', token)).body as AlertsBody).data.alerts
        .filter((a) => a.state === 'firing')
        .map((a) => a.labels.alertname);
    try {
      let swas = await startTestServer(tmp.dir, config, {
        'good.yml': GOOD,
        'mixed.yml': MIXED('vector(1)'),
      });
      let admin = await swas.token('admin');
      // Groups are spread over their interval, so wait for every rule (not only BadRule) to have fired.
      await eventually('every rule to fire', async () => {
        const names = await alertNames(swas, admin);
        return ['AlwaysOne', 'BadRule', 'Innocent', 'FineOne'].every((n) => names.includes(n));
      });
      await swas.stop();

      swas = await startTestServer(tmp.dir, config, { 'mixed.yml': MIXED('vector(1) +') });
      try {
        admin = await swas.token('admin');
        const before = (await swas.get('/api/v1/rules', admin)).body as RulesBody;
        const firstEvaluation = before.data.groups[0]?.rules[0]?.lastEvaluation;
        // Once the good groups have evaluated again, restored alerts no rule took over would be resolved.
        await eventually('the good groups to evaluate', async () => {
          const body = (await swas.get('/api/v1/rules', admin)).body as RulesBody;
          const rule = body.data.groups[0]?.rules[0];
          return rule?.health === 'ok' && rule.lastEvaluation !== firstEvaluation;
        });
        expect(await alertNames(swas, admin)).toEqual(
          expect.arrayContaining(['AlwaysOne', 'BadRule', 'Innocent', 'FineOne', 'SwasRuleGroupBroken']),
        );
      } finally {
        await swas.stop();
      }
    } finally {
      await tmp.remove();
    }
  });
});
