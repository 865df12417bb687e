import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, formatConfigIssue, loadConfig } from './index.js';

async function project(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'swas-config-'));
  for (const [name, text] of Object.entries(files)) {
    await mkdir(join(dir, name, '..'), { recursive: true });
    await writeFile(join(dir, name), text);
  }
  return dir;
}

async function problems(dir: string, env: NodeJS.ProcessEnv = {}): Promise<string[]> {
  try {
    await loadConfig(join(dir, 'swas.yaml'), { env });
  } catch (error) {
    if (error instanceof ConfigError) return error.issues.map(formatConfigIssue);
    throw error;
  }
  return [];
}

const goodConfig = `
server:
  listen: 127.0.0.1:7999
scrape_configs:
  - job_name: web
    scrape_interval: 1s
    static_configs:
      - targets: ['127.0.0.1:18081']
        labels: { pool: web, member: web-1 }
rules:
  evaluation_interval: 1s
  files: [rules/*.yml]
runbooks:
  files: [runbooks/*.yml]
load_balancers:
  - name: edge
    type: haproxy
    socket: /tmp/admin.sock
    pools: [web]
services:
  web-1:
    restart: [/bin/true]
notify:
  webhooks:
    - name: ops
      url: http://127.0.0.1:9/hook
      headers: { Authorization: Bearer secret }
`;
const goodRules = `
groups:
  - name: web
    rules:
      - alert: MemberDown
        expr: up == 0
        for: 2s
        labels: { severity: page }
`;
const goodRunbook = `
name: restart-member
trigger: { alert: MemberDown }
target: { pool: '{{ $labels.pool }}', member: '{{ $labels.member }}' }
steps:
  - action: lb.drain
  - action: service.restart
  - action: wait.until
    with: { expr: 'up == 1' }
  - action: lb.ready
`;

describe('loadConfig', () => {
  it('loads a valid project with defaults applied and durations in ms', async () => {
    const dir = await project({
      'swas.yaml': goodConfig,
      'rules/a.yml': goodRules,
      'runbooks/r.yml': goodRunbook,
    });
    const loaded = await loadConfig(join(dir, 'swas.yaml'), { env: {} });
    expect(loaded.config.server.listen).toBe('127.0.0.1:7999');
    expect(loaded.config.scrape_configs[0]?.scrape_interval).toBe(1000);
    expect(loaded.config.notify.webhooks[0]?.retries).toBe(3);
    expect(loaded.ruleFiles[0]?.groups[0]?.rules[0]).toMatchObject({ alert: 'MemberDown', for: 2000 });
    expect(loaded.runbooks[0]?.runbook.steps.map((s) => s.timeout)).toEqual([60000, 60000, 60000, 120000]);
    expect(loaded.warnings).toEqual([]);
    expect(Object.isFrozen(loaded.config.server)).toBe(true);
  });

  it('names file, line and field of a wrong value', async () => {
    const dir = await project({
      'swas.yaml': 'server:\n  listen: 127.0.0.1:7999\nscrape:\n  interval: often\n',
    });
    expect(await problems(dir)).toEqual([
      `${dir}/swas.yaml:4:3: scrape.interval: "often" is not a duration; write it like 500ms, 15s, 5m or 1h30m`,
    ]);
  });

  it('reports unknown keys at the key, with a hint', async () => {
    const dir = await project({ 'swas.yaml': 'server:\n  lisen: 127.0.0.1:7999\n' });
    expect(await problems(dir)).toEqual([
      `${dir}/swas.yaml:2:3: server.lisen: unknown field "lisen"; check the spelling against docs/configuration.md`,
    ]);
  });

  it('reports YAML syntax errors with their position', async () => {
    const dir = await project({ 'swas.yaml': 'server:\n  listen: [unclosed\n' });
    const found = await problems(dir);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(new RegExp(`^${dir}/swas.yaml:\\d+:\\d+: `));
  });

  it('reports a missing file clearly', async () => {
    const dir = await project({});
    expect((await problems(dir))[0]).toMatch(/swas.yaml: cannot read file: ENOENT/);
  });

  it('lets SWAS_ environment variables override any key and read secrets from *_FILE', async () => {
    const dir = await project({
      'swas.yaml': 'server:\n  listen: 127.0.0.1:7999\n',
      secret: 'postgres://u:pw@db/swas\n',
    });
    const loaded = await loadConfig(join(dir, 'swas.yaml'), {
      env: {
        SWAS_SERVER__LISTEN: '127.0.0.1:8000',
        SWAS_STORE__URL_FILE: join(dir, 'secret'),
        SWAS_TOKEN: 'not-config',
      },
    });
    expect(loaded.config.server.listen).toBe('127.0.0.1:8000');
    expect(loaded.config.store.url).toBe('postgres://u:pw@db/swas');
  });

  it('blames the environment variable when an override is invalid', async () => {
    const dir = await project({ 'swas.yaml': '{}\n' });
    expect(await problems(dir, { SWAS_SCRAPE__INTERVAL: 'soon' })).toEqual([
      'environment variable SWAS_SCRAPE__INTERVAL: scrape.interval: "soon" is not a duration; write it like 500ms, 15s, 5m or 1h30m',
    ]);
  });

  it('rejects a runbook with an unknown step, naming file, line and field', async () => {
    const runbook = goodRunbook.replace('action: lb.drain', 'action: lb.dran');
    const dir = await project({
      'swas.yaml': goodConfig,
      'rules/a.yml': goodRules,
      'runbooks/r.yml': runbook,
    });
    const found = await problems(dir);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(
      /runbooks\/r.yml:6:\d+: steps\[0\].action: unknown action; use one of lb.drain, /,
    );
  });

  it('rejects a step that names a pool no load balancer serves', async () => {
    const runbook = goodRunbook.replace('- action: lb.ready', '- action: lb.ready\n    with: { pool: api }');
    const dir = await project({
      'swas.yaml': goodConfig,
      'rules/a.yml': goodRules,
      'runbooks/r.yml': runbook,
    });
    expect(await problems(dir)).toEqual([
      `${dir}/runbooks/r.yml:11:13: steps[3].with.pool: pool "api" is not served by any load balancer in swas.yaml (known: web)`,
    ]);
  });

  it('checks undo steps and the newer step kinds at load, not at 3 a.m.', async () => {
    const runbook = `${goodRunbook}  - action: verify
    timeout: 1m
    with: { expr: 'broken(', for: 30s }
  - action: run
    with: { command: flush, args: { nope: x } }
  - action: run
    with: { command: purge-cache }
  - action: host.reboot
    with: { host: db-9, up: 'up == 1' }
undo:
  - action: lb.ready
    with: { pool: api }
`;
    const dir = await project({
      'swas.yaml': `${goodConfig}commands:\n  flush:\n    argv: [/bin/echo, '{zone}']\n    args: [zone]\n`,
      'rules/a.yml': goodRules,
      'runbooks/r.yml': runbook,
    });
    let issues: string[] = [];
    try {
      await loadConfig(join(dir, 'swas.yaml'), {
        env: {},
        checkExpression: (e) => (e.includes('broken(') ? { message: 'unclosed parenthesis' } : null),
      });
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      issues = error.issues.map(formatConfigIssue).map((i) => i.replace(`${dir}/`, ''));
    }
    expect(issues).toEqual([
      expect.stringMatching(/^runbooks\/r.yml:\d+:\d+: steps\[4\].with.expr: unclosed parenthesis$/),
      expect.stringMatching(
        /steps\[5\].with.args.nope: command "flush" declares no arg "nope" \(it declares: zone\)$/,
      ),
      expect.stringMatching(/steps\[5\].with.args: command "flush" needs a value for its arg "zone"$/),
      expect.stringMatching(
        /steps\[6\].with.command: command "purge-cache" is not declared under commands: in swas.yaml \(known: flush\)$/,
      ),
      expect.stringMatching(/steps\[7\].with.host: host "db-9" is not declared under hosts: in swas.yaml$/),
      expect.stringMatching(
        /^runbooks\/r.yml:\d+:\d+: undo\[0\].with.pool: pool "api" is not served by any load balancer/,
      ),
    ]);
  });

  it('rejects bad guards, pools and rolling sections at load, naming file:line and field', async () => {
    const runbook = `name: roll
trigger: { manual: true, alert: MemberDown }
rolling: { pool: api, members: 'web-(', batch: 150% }
guards:
  max_targets: 0
  flap_budget: { runs: 0, window: 10s }
  concurrency: sometimes
  allowed_windows:
    - { schedule: '61 * * * *', duration: 1h, time_zone: Mars/Olympus }
steps:
  - action: lb.drain
    allowed_windows: []
  - action: lb.ready
    with: { ramp: { weights: [10, 50], check: 'rate(x[1m' } }
undo:
  - action: lb.ready
`;
    const dir = await project({
      'swas.yaml': `${goodConfig}pools:
  api: { max_out: 1 }
  web:
    max_out: -1
    capacity: { load: 'sum(', headroom: 2 }
`,
      'rules/a.yml': goodRules,
      'runbooks/r.yml': runbook,
    });
    const found = (await problems(dir)).map((i) => i.replace(`${dir}/`, ''));
    const expected = [
      /^swas.yaml:\d+:\d+: pools.web.max_out: .*>=0/,
      /^swas.yaml:\d+:\d+: pools.web.capacity.headroom: .*<=0.9/,
      /^swas.yaml:\d+:\d+: pools.web.capacity: set exactly one of member_capacity and member_capacity_query/,
    ];
    for (const pattern of expected) expect(found).toContainEqual(expect.stringMatching(pattern));

    // Once swas.yaml is fixed, the runbook's own problems show, each at its line.
    const fixed = await project({
      'swas.yaml': goodConfig,
      'rules/a.yml': goodRules,
      'runbooks/r.yml': runbook,
    });
    const runbookIssues = (await problems(fixed)).map((i) => i.replace(`${fixed}/`, ''));
    for (const pattern of [
      /^runbooks\/r.yml:2:\d+: trigger: set trigger.alert .* or trigger.manual: true/,
      /^runbooks\/r.yml:3:\d+: rolling.members: /,
      /^runbooks\/r.yml:3:\d+: rolling.batch: /,
      /^runbooks\/r.yml:5:\d+: guards.max_targets: /,
      /^runbooks\/r.yml:6:\d+: guards.flap_budget.runs: /,
      /^runbooks\/r.yml:6:\d+: guards.flap_budget.window: 10s is too short/,
      /^runbooks\/r.yml:7:\d+: guards.concurrency: /,
      /^runbooks\/r.yml:9:\d+: guards.allowed_windows\[0\].schedule: /,
      /^runbooks\/r.yml:9:\d+: guards.allowed_windows\[0\].time_zone: /,
      /^runbooks\/r.yml:12:\d+: steps\[0\].allowed_windows: list at least one window/,
    ])
      expect(runbookIssues).toContainEqual(expect.stringMatching(pattern));
    expect(runbookIssues).toHaveLength(10);

    // A schema-valid rolling runbook is then cross-checked: its pool, its undo, its ramp check.
    const crossChecked = await project({
      'swas.yaml': `${goodConfig}pools:
  api: { max_out: 1 }
`,
      'rules/a.yml': goodRules,
      'runbooks/r.yml': `name: roll
trigger: { manual: true }
rolling: { pool: api }
steps:
  - action: lb.drain
  - action: lb.ready
    with: { ramp: { weights: [10, 50], check: 'rate(x[1m' } }
undo:
  - action: lb.ready
`,
    });
    let issues: string[] = [];
    try {
      await loadConfig(join(crossChecked, 'swas.yaml'), {
        env: {},
        checkExpression: (e) => (e.includes('rate(x[1m') ? { message: 'unclosed bracket' } : null),
      });
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      issues = error.issues.map(formatConfigIssue).map((i) => i.replace(`${crossChecked}/`, ''));
    }
    expect(issues).toEqual([
      expect.stringMatching(/^runbooks\/r.yml:8:\d+: undo: a rolling runbook undoes the batch/),
      expect.stringMatching(/^runbooks\/r.yml:3:\d+: rolling.pool: pool "api" is not served/),
      expect.stringMatching(/^runbooks\/r.yml:7:\d+: steps\[1\].with.ramp.check: unclosed bracket$/),
      expect.stringMatching(/^swas.yaml:\d+:\d+: pools.api: pool "api" is not served by any load balancer/),
    ]);
  });

  it('takes agent action names for services and hosts on agents, argv lists otherwise, and says which is wrong', async () => {
    const dir = await project({
      'swas.yaml': goodConfig.replace(
        'services:\n  web-1:\n    restart: [/bin/true]\n',
        `services:
  web-1:
    restart: [/bin/true]
  app:
    agent: web-1
    restart: restart_app
    stop: [/bin/kill, app]
  db:
    start: start_db
hosts:
  web-1: { agent: web-1, reboot: reboot }
  db-1: { reboot: reboot }
`,
      ),
      'rules/a.yml': goodRules,
      'runbooks/r.yml': goodRunbook,
    });
    expect((await problems(dir)).map((i) => i.replace(`${dir}/`, ''))).toEqual([
      expect.stringMatching(
        /^swas.yaml:\d+:\d+: services.app.stop: with agent: web-1, give the name of an action in that agent's allow-list, not an argv$/,
      ),
      expect.stringMatching(/^swas.yaml:\d+:\d+: services.db.start: an action name needs agent: NAME/),
      expect.stringMatching(/^swas.yaml:\d+:\d+: hosts.db-1.reboot: an action name needs agent: NAME/),
    ]);
  });

  it('checks agents.register: a served pool and a loaded runbook', async () => {
    const dir = await project({
      'swas.yaml': `${goodConfig}agents:
  register:
    - { pool: api, port: 8080, runbook: bring-in }
    - { match: { role: web }, pool: web, port: 0, runbook: restart-member }
`,
      'rules/a.yml': goodRules,
      'runbooks/r.yml': goodRunbook,
    });
    expect((await problems(dir)).map((i) => i.replace(`${dir}/`, ''))).toEqual([
      expect.stringMatching(/^swas.yaml:\d+:\d+: agents.register\[1\].port: Too small/),
    ]);
    const fixed = await project({
      'swas.yaml': `${goodConfig}agents:\n  register:\n    - { pool: api, port: 8080, runbook: bring-in }\n`,
      'rules/a.yml': goodRules,
      'runbooks/r.yml': goodRunbook,
    });
    expect((await problems(fixed)).map((i) => i.replace(`${fixed}/`, ''))).toEqual([
      expect.stringMatching(/^swas.yaml:\d+:\d+: agents.register\[0\].pool: pool "api" is not served/),
      expect.stringMatching(
        /^swas.yaml:\d+:\d+: agents.register\[0\].runbook: no runbook is named "bring-in" \(loaded: restart-member\)$/,
      ),
    ]);
  });

  it('loads a group with bad PromQL as broken, naming file:line, group and rule; other groups load', async () => {
    const dir = await project({
      'swas.yaml': goodConfig,
      'rules/a.yml': `${goodRules}  - name: api\n    rules:\n      - alert: Slow\n        expr: latency > 1\n`,
      'runbooks/r.yml': goodRunbook,
    });
    const loaded = await loadConfig(join(dir, 'swas.yaml'), {
      env: {},
      checkExpression: (e) => (e === 'up == 0' ? { message: 'bad' } : null),
    });
    const [file] = loaded.ruleFiles;
    expect(file?.groups.map((g) => g.name)).toEqual(['api']);
    expect(file?.brokenGroups).toMatchObject([
      {
        name: 'web',
        wholeFile: false,
        line: 3,
        rules: [{ kind: 'alerting', name: 'MemberDown', expr: 'up == 0' }],
      },
    ]);
    expect(loaded.warnings.map(formatConfigIssue)).toEqual([
      expect.stringMatching(
        /rules\/a.yml:6:9: groups\[0\].rules\[0\].expr: group "web", alert "MemberDown": bad \(group "web" is not evaluated until it is fixed; the other groups are\)$/,
      ),
    ]);
  });

  it('reports a rule-file pattern that matches nothing as an error, and a rule without alert or record as a broken group', async () => {
    const dir = await project({
      'swas.yaml': 'rules:\n  files: [nothing/*.yml, r.yml]\n',
      'r.yml': 'groups:\n  - name: g\n    rules:\n      - expr: up\n',
    });
    const found = await problems(dir);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/swas.yaml:2:\d+: rules.files\[0\]: "nothing\/\*.yml" matches no file/);
    await writeFile(join(dir, 'swas.yaml'), 'rules:\n  files: [r.yml]\n');
    const loaded = await loadConfig(join(dir, 'swas.yaml'), { env: {} });
    const warnings = loaded.warnings.map(formatConfigIssue);
    expect(warnings[0]).toMatch(/r.yml:4:9: groups\[0\].rules\[0\]: a rule has either `alert:`/);
    expect(warnings[1]).toMatch(/swas.yaml:2:\d+: rules.files: every rule group \(1\) is broken/);
  });

  it('keeps a missing rule file an error: a config pointing at nothing is a deployment mistake', async () => {
    const dir = await project({ 'swas.yaml': 'rules:\n  files: [missing.yml]\n' });
    expect(await problems(dir)).toEqual([
      expect.stringMatching(/missing.yml: cannot read rule file: ENOENT.*; fix the path in rules.files$/),
    ]);
  });

  it('loads a rule file that is not YAML, or has no groups list, as one broken entry named after the file', async () => {
    const dir = await project({
      'swas.yaml': 'rules:\n  files: [rules/*.yml]\n',
      'rules/a.yml': goodRules,
      'rules/b.yml': 'groups:\n  - name: [\n',
      'rules/c.yml': 'rules:\n  - alert: X\n    expr: up\n',
    });
    const loaded = await loadConfig(join(dir, 'swas.yaml'), { env: {} });
    expect(
      loaded.ruleFiles.map((f) => [f.groups.length, f.brokenGroups?.map((g) => [g.name, g.wholeFile])]),
    ).toEqual([
      [1, []],
      [0, [['b.yml', true]]],
      [0, [['c.yml', true]]],
    ]);
    const warnings = loaded.warnings.map(formatConfigIssue);
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(
      /rules\/b.yml:\d+:\d+: .*a rule file is YAML with a top-level "groups:" list.*\(no group in this file is evaluated until it is fixed\)$/,
    );
    expect(warnings[1]).toMatch(/rules\/c.yml:1:1: rules: unknown field "rules"/);
  });

  it('breaks a group with a duplicate rule, a bad duration or an unknown key, naming group and rule', async () => {
    const dir = await project({
      'swas.yaml': 'rules:\n  files: [r.yml]\n',
      'r.yml': [
        'groups:',
        '  - name: dup',
        '    rules:',
        '      - record: a:b',
        '        expr: up',
        '      - record: a:b',
        '        expr: up * 2',
        '  - name: dur',
        '    rules:',
        '      - alert: A',
        '        expr: up == 0',
        '        for: soon',
        '  - name: key',
        '    rules:',
        '      - alert: B',
        '        expr: up == 0',
        '        fro: 5m',
        '  - name: dup',
        '    rules: []',
      ].join('\n'),
    });
    const loaded = await loadConfig(join(dir, 'swas.yaml'), { env: {} });
    expect(loaded.ruleFiles[0]?.groups).toEqual([]);
    expect(loaded.warnings.map(formatConfigIssue)).toEqual([
      expect.stringMatching(/r.yml:6:9: groups\[0\].rules\[1\]: group "dup", record "a:b": duplicate rule/),
      expect.stringMatching(
        /r.yml:12:9: groups\[1\].rules\[0\].for: group "dur", alert "A": "soon" is not a duration/,
      ),
      expect.stringMatching(
        /r.yml:17:9: groups\[2\].rules\[0\].fro: group "key", alert "B": unknown field "fro"/,
      ),
      expect.stringMatching(/r.yml:18:\d+: groups\[3\].name: group "dup" is defined twice in this file/),
      expect.stringMatching(/rules.files: every rule group \(4\) is broken/),
    ]);
  });

  it('warns, without failing, about a runbook whose alert no rule defines', async () => {
    const runbook = goodRunbook.replace('alert: MemberDown', 'alert: FromAlertmanager');
    const dir = await project({
      'swas.yaml': goodConfig,
      'rules/a.yml': goodRules,
      'runbooks/r.yml': runbook,
    });
    const loaded = await loadConfig(join(dir, 'swas.yaml'), { env: {} });
    expect(loaded.warnings.map((w) => w.message)).toEqual([
      'no rule defines alert "FromAlertmanager"; this runbook runs only for alerts that arrive from elsewhere',
    ]);
  });

  it('rejects template expressions it cannot expand', async () => {
    const runbook = goodRunbook.replace("'{{ $labels.member }}'", "'{{ .Labels.member }}'");
    const dir = await project({
      'swas.yaml': goodConfig,
      'rules/a.yml': goodRules,
      'runbooks/r.yml': runbook,
    });
    expect((await problems(dir))[0]).toMatch(/r.yml:4:\d+: target.member: unsupported template expression/);
  });

  it('loads relabel_configs, metric_relabel_configs and file_sd_configs with Prometheus defaults', async () => {
    const dir = await project({
      'swas.yaml': `
scrape_configs:
  - job_name: node
    params: { module: [http_2xx] }
    file_sd_configs:
      - files: [targets/*.json]
    relabel_configs:
      - source_labels: [__meta_filepath]
        target_label: sd_file
      - action: hashmod
        source_labels: [__address__]
        target_label: __tmp_shard
        modulus: 4
    metric_relabel_configs:
      - source_labels: [__name__]
        regex: 'go_.*'
        action: drop
`,
    });
    const loaded = await loadConfig(join(dir, 'swas.yaml'), { env: {} });
    const job = loaded.config.scrape_configs[0];
    expect(job?.static_configs).toEqual([]);
    expect(job?.file_sd_configs).toEqual([{ files: ['targets/*.json'], refresh_interval: 300_000 }]);
    expect(job?.relabel_configs[0]).toEqual({
      source_labels: ['__meta_filepath'],
      separator: ';',
      target_label: 'sd_file',
      regex: '(.*)',
      replacement: '$1',
      action: 'replace',
    });
    expect(job?.metric_relabel_configs[0]?.action).toBe('drop');
  });

  it('rejects bad relabel configs at the offending field', async () => {
    const dir = await project({
      'swas.yaml': `
scrape_configs:
  - job_name: node
    static_configs:
      - targets: ['127.0.0.1:9100']
    relabel_configs:
      - source_labels: [a]
        regex: '(unclosed'
        target_label: b
      - source_labels: [a]
      - action: hashmod
        source_labels: [a]
        target_label: shard
      - action: explode
    metric_relabel_configs:
      - action: labeldrop
        regex: tmp_.*
        source_labels: [a]
`,
    });
    const found = await problems(dir);
    const at = `${dir}/swas.yaml`;
    expect(found).toHaveLength(5);
    expect(found[0]).toMatch(
      new RegExp(`^${at}:8:9: scrape_configs\\[0\\].relabel_configs\\[0\\].regex: error parsing regexp: `),
    );
    expect(found.slice(1)).toEqual([
      `${at}:10:9: scrape_configs[0].relabel_configs[1].target_label: action replace needs a target_label`,
      `${at}:11:9: scrape_configs[0].relabel_configs[2].modulus: action hashmod needs a modulus above 0`,
      expect.stringMatching(
        new RegExp(`^${at}:14:9: scrape_configs\\[0\\].relabel_configs\\[3\\].action: .*"replace"`),
      ) as unknown,
      `${at}:18:9: scrape_configs[0].metric_relabel_configs[0].source_labels: action labeldrop takes only regex, which matches label names`,
    ]);
  });

  it('takes any static target text only when relabel_configs can turn it into an address', async () => {
    const job = (relabel: string) => `
scrape_configs:
  - job_name: blackbox
    static_configs:
      - targets: ['https://example.org']
${relabel}`;
    expect(await problems(await project({ 'swas.yaml': job('') }))).toEqual([
      expect.stringMatching(
        /swas.yaml:5:19: scrape_configs\[0\].static_configs\[0\].targets\[0\]: must be host:port, e.g. 127.0.0.1:7927 \(or use relabel_configs/,
      ) as unknown,
    ]);
    const relabel =
      '    relabel_configs:\n      - target_label: __address__\n        replacement: 127.0.0.1:9115\n';
    expect(await problems(await project({ 'swas.yaml': job(relabel) }))).toEqual([]);
  });

  it('rejects a job without targets and file_sd files of an unknown kind', async () => {
    const dir = await project({
      'swas.yaml': `
scrape_configs:
  - job_name: empty
    static_configs: []
  - job_name: sd
    file_sd_configs:
      - files: [targets.txt]
        refresh_interval: 10ms
`,
    });
    expect(await problems(dir)).toEqual([
      `${dir}/swas.yaml:4:5: scrape_configs[0].static_configs: a job needs targets: add static_configs entries or file_sd_configs`,
      `${dir}/swas.yaml:7:17: scrape_configs[1].file_sd_configs[0].files[0]: must name .json, .yml or .yaml files, with * only in the last path segment`,
      `${dir}/swas.yaml:8:9: scrape_configs[1].file_sd_configs[0].refresh_interval: 10ms is too short; the minimum is 1000 ms`,
    ]);
  });
});
