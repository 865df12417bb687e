import { describe, expect, it } from 'vitest';
import { compileRelabelRules } from './relabel.js';
import { RELABEL_DEFAULTS, type RelabelConfig } from '../config/index.js';
import { buildScrapeTargets, type ScrapeJobSpec, type TargetGroup } from './relabelTargets.js';

function rules(configs: Partial<RelabelConfig>[]) {
  const compiled = compileRelabelRules(
    configs.map((c) => ({ ...RELABEL_DEFAULTS, source_labels: [], ...c })),
  );
  if (!compiled.ok) throw new Error(compiled.error);
  return compiled.rules;
}

function job(change: Partial<ScrapeJobSpec> = {}): ScrapeJobSpec {
  return {
    jobName: 'node',
    scheme: 'http',
    metricsPath: '/metrics',
    params: {},
    intervalMs: 15_000,
    timeoutMs: 10_000,
    sampleLimit: 0,
    bodyLimitBytes: 0,
    honorLabels: false,
    relabelRules: [],
    metricRelabelRules: [],
    ...change,
  };
}

const group = (targets: string[], labels: Record<string, string> = {}): TargetGroup => ({
  source: 'test:0',
  targets,
  labels,
});

describe('buildScrapeTargets', () => {
  it('without relabelling: URL from scheme, address and path; job and instance labels; __ labels removed', () => {
    const built = buildScrapeTargets(job(), [group(['10.0.0.1:9100'], { env: 'prod', __meta_x: 'y' })]);
    expect(built.problems).toEqual([]);
    expect(built.targets).toEqual([
      {
        job: 'node',
        url: 'http://10.0.0.1:9100/metrics',
        labels: { env: 'prod', job: 'node', instance: '10.0.0.1:9100' },
        intervalMs: 15_000,
        timeoutMs: 10_000,
        sampleLimit: 0,
        bodyLimitBytes: 0,
        honorLabels: false,
      },
    ]);
  });

  it('relabelling sees __address__, __scheme__, __metrics_path__, the interval labels and __meta_*', () => {
    const seen: string[] = [];
    const relabelRules = rules([
      {
        source_labels: [
          '__address__',
          '__scheme__',
          '__metrics_path__',
          '__scrape_interval__',
          '__scrape_timeout__',
          '__meta_role',
          'job',
        ],
        separator: '|',
        target_label: 'seen',
      },
    ]);
    const built = buildScrapeTargets(job({ relabelRules }), [group(['h:1'], { __meta_role: 'db' })]);
    for (const t of built.targets) seen.push(t.labels.seen ?? '');
    expect(seen).toEqual(['h:1|http|/metrics|15s|10s|db|node']);
  });

  it('rewrites address, scheme, path and params into the URL; instance follows the new address', () => {
    const relabelRules = rules([
      {
        source_labels: ['__address__'],
        regex: '(.*):9100',
        target_label: '__address__',
        replacement: '$1:9200',
      },
      { target_label: '__scheme__', replacement: 'https' },
      { target_label: '__metrics_path__', replacement: '/probe' },
      { source_labels: ['__meta_module'], target_label: '__param_module' },
    ]);
    const built = buildScrapeTargets(job({ relabelRules, params: { module: ['x', 'y'], z: ['1'] } }), [
      group(['web:9100'], { __meta_module: 'http_2xx' }),
    ]);
    expect(built.targets.map((t) => [t.url, t.labels.instance])).toEqual([
      ['https://web:9200/probe?module=http_2xx&module=y&z=1', 'web:9200'],
    ]);
  });

  it('keeps an instance label set by relabelling, and the target labels override job settings', () => {
    const relabelRules = rules([{ source_labels: ['__meta_name'], target_label: 'instance' }]);
    const built = buildScrapeTargets(job({ relabelRules }), [
      group(['10.0.0.5:80'], { __meta_name: 'web-1', __metrics_path__: '/custom' }),
    ]);
    expect(built.targets[0]?.labels.instance).toBe('web-1');
    expect(built.targets[0]?.url).toBe('http://10.0.0.5:80/custom');
  });

  it('__scrape_interval__ and __scrape_timeout__ set the target schedule', () => {
    const relabelRules = rules([
      { target_label: '__scrape_interval__', replacement: '1m' },
      { target_label: '__scrape_timeout__', replacement: '30s' },
    ]);
    const [target] = buildScrapeTargets(job({ relabelRules }), [group(['h:1'])]).targets;
    expect([target?.intervalMs, target?.timeoutMs]).toEqual([60_000, 30_000]);
  });

  it('counts targets dropped by keep/drop and reports unusable ones', () => {
    const relabelRules = rules([
      { source_labels: ['__address__'], regex: 'skip.*', action: 'drop' },
      { source_labels: ['__meta_bad'], regex: 'noaddr', target_label: '__address__', replacement: '' },
      {
        source_labels: ['__meta_bad'],
        regex: 'timeout',
        target_label: '__scrape_timeout__',
        replacement: '1h',
      },
      {
        source_labels: ['__meta_bad'],
        regex: 'interval',
        target_label: '__scrape_interval__',
        replacement: 'soon',
      },
    ]);
    const built = buildScrapeTargets(job({ relabelRules }), [
      group(['skip-me:1', 'ok:1']),
      { source: 'f.json:0', targets: ['a:1'], labels: { __meta_bad: 'noaddr' } },
      { source: 'f.json:1', targets: ['b:1'], labels: { __meta_bad: 'timeout' } },
      { source: 'f.json:2', targets: ['c:1'], labels: { __meta_bad: 'interval' } },
      { source: 'f.json:3', targets: ['bad host:1', 'x/y:1'], labels: {} },
    ]);
    expect(built.targets.map((t) => t.url)).toEqual(['http://ok:1/metrics']);
    expect(built.dropped).toBe(1);
    expect(built.problems).toEqual([
      'job "node", target "a:1" from f.json:0: no __address__ after relabelling; set it, or drop the target with action drop',
      'job "node", target "b:1" from f.json:1: __scrape_timeout__ 1h is longer than __scrape_interval__ 15s; shorten the timeout',
      'job "node", target "c:1" from f.json:2: __scrape_interval__ "soon" is not a duration above 0',
      'job "node", target "bad host:1" from f.json:3: url "http://bad host:1/metrics" is not a valid URL; expected e.g. http://host:9100/metrics',
      'job "node", target "x/y:1" from f.json:3: __address__ "x/y:1" is not a valid host:port',
    ]);
  });

  it('labelmap promotes __meta_ labels to target labels before they are removed', () => {
    const relabelRules = rules([{ regex: '__meta_(.*)', action: 'labelmap', replacement: '${1}' }]);
    const built = buildScrapeTargets(job({ relabelRules }), [group(['h:1'], { __meta_ok: '1' })]);
    expect(built.targets[0]?.labels).toEqual({ ok: '1', job: 'node', instance: 'h:1' });
  });

  it('attaches metric relabelling that drops series and series left without a name', () => {
    const metricRelabelRules = rules([
      { source_labels: ['__name__'], regex: 'go_.*', action: 'drop' },
      { source_labels: ['__name__'], regex: 'unnamed', target_label: '__name__', replacement: '' },
      { regex: 'secret', action: 'labeldrop' },
    ]);
    const [target] = buildScrapeTargets(job({ metricRelabelRules }), [group(['h:1'])]).targets;
    const hook = target?.metricRelabel;
    expect(hook).toBeTypeOf('function');
    expect(hook?.({ __name__: 'go_goroutines' })).toBeNull();
    expect(hook?.({ __name__: 'unnamed' })).toBeNull();
    expect(hook?.({ __name__: 'up_time', secret: 'x', job: 'node' })).toEqual({
      __name__: 'up_time',
      job: 'node',
    });
    expect(buildScrapeTargets(job(), [group(['h:1'])]).targets[0]?.metricRelabel).toBeUndefined();
  });
});
