import { resolve } from 'node:path';
import { ConfigError, type LoadedConfig, type SwasConfig } from '../config/index.js';
import { compileNoisePolicy, type NoisePolicy } from '../incidents/index.js';
import {
  buildScrapeTargets,
  compileRelabelRules,
  FileServiceDiscovery,
  type RelabelRule,
  type ScrapeJobSpec,
  type ScrapeTarget,
  type TargetGroup,
} from '../ingest/index.js';
import { BigIpLoadBalancer, HaproxyLoadBalancer, type LoadBalancer } from '../lb/index.js';
import { WebhookChannel, type WebhookChannelOptions } from '../paging/index.js';
import { LocalCommandControl, type LoadBalancerDirectory } from '../runbooks/index.js';

/** Target groups found by service discovery, by job name. */
export type DiscoveredGroups = ReadonlyMap<string, readonly TargetGroup[]>;

/**
 * Scrape targets from `scrape_configs`: static groups plus any discovered ones, with global defaults
 * applied and `relabel_configs` run. Targets that cannot be used are left out and passed to `onProblem`.
 */
export function scrapeTargetsFrom(
  config: SwasConfig,
  discovered: DiscoveredGroups = new Map(),
  onProblem: (problem: string) => void = () => undefined,
): ScrapeTarget[] {
  return config.scrape_configs.flatMap((job) => {
    const staticGroups = job.static_configs.map((group, i): TargetGroup => ({
      source: `static_configs[${i}]`,
      targets: group.targets,
      labels: group.labels,
    }));
    const built = buildScrapeTargets(scrapeJobSpec(config, job), [
      ...staticGroups,
      ...(discovered.get(job.job_name) ?? []),
    ]);
    built.problems.forEach((problem) => onProblem(problem));
    return built.targets;
  });
}

function scrapeJobSpec(config: SwasConfig, job: SwasConfig['scrape_configs'][number]): ScrapeJobSpec {
  const intervalMs = job.scrape_interval ?? config.scrape.interval;
  return {
    jobName: job.job_name,
    scheme: job.scheme,
    metricsPath: job.metrics_path,
    params: job.params,
    intervalMs,
    timeoutMs: Math.min(job.scrape_timeout ?? config.scrape.timeout, intervalMs),
    sampleLimit: job.sample_limit,
    bodyLimitBytes: job.body_size_limit_bytes,
    labelLimit: job.label_limit,
    labelNameLengthLimit: job.label_name_length_limit,
    labelValueLengthLimit: job.label_value_length_limit,
    honorLabels: job.honor_labels,
    relabelRules: rulesOf(job.relabel_configs, job.job_name),
    metricRelabelRules: rulesOf(job.metric_relabel_configs, job.job_name),
  };
}

// The config schema already ran these checks, so a failure here is a bug, not a user error.
function rulesOf(
  configs: SwasConfig['scrape_configs'][number]['relabel_configs'],
  job: string,
): RelabelRule[] {
  const compiled = compileRelabelRules(configs);
  if (!compiled.ok) throw new Error(`job "${job}": ${compiled.error}`);
  return compiled.rules;
}

/** The slice of a logger service discovery reports to. */
export interface DiscoveryLogger {
  warn(obj: object, msg: string): void;
}

/** Running service discovery; {@link stop} ends watching. */
export interface ServiceDiscovery {
  stop(): void;
}

/**
 * Starts file service discovery for every job with `file_sd_configs` (paths relative to `dir`, the
 * config file's directory) and calls `onTargets` with all targets (static and discovered) once the files
 * have been read, then again whenever a file changes what it gives.
 */
export async function startServiceDiscovery(
  loaded: { readonly config: SwasConfig; readonly dir: string },
  onTargets: (targets: ScrapeTarget[]) => void,
  logger: DiscoveryLogger,
): Promise<ServiceDiscovery> {
  const { config, dir } = loaded;
  const discoveries: { job: string; sd: FileServiceDiscovery }[] = [];
  let started = false;
  const emit = (): void => {
    if (!started) return;
    const discovered = new Map<string, TargetGroup[]>();
    for (const { job, sd } of discoveries)
      discovered.set(job, [...(discovered.get(job) ?? []), ...sd.groups()]);
    onTargets(
      scrapeTargetsFrom(config, discovered, (problem) => logger.warn({ problem }, 'scrape target left out')),
    );
  };
  for (const job of config.scrape_configs) {
    for (const sdConfig of job.file_sd_configs) {
      const sd = FileServiceDiscovery.create({
        files: sdConfig.files.map((f) => resolve(dir, f)),
        refreshIntervalMs: sdConfig.refresh_interval,
        onUpdate: emit,
        onError: (file, errors) =>
          logger.warn(
            { job: job.job_name, file, errors },
            'file service discovery cannot read a file; its last targets stay',
          ),
      });
      discoveries.push({ job: job.job_name, sd });
    }
  }
  await Promise.all(discoveries.map(({ sd }) => sd.start()));
  started = true;
  emit();
  return { stop: () => discoveries.forEach(({ sd }) => sd.stop()) };
}

/** Load balancers from `load_balancers`, and the directory that maps each pool to its load balancer. */
export function loadBalancersFrom(config: SwasConfig): {
  all: LoadBalancer[];
  directory: LoadBalancerDirectory;
} {
  const byPool = new Map<string, LoadBalancer>();
  const all = config.load_balancers.map((lb) => {
    const adapter =
      lb.type === 'haproxy'
        ? HaproxyLoadBalancer.create({ name: lb.name, socket: lb.socket, timeoutMs: lb.timeout })
        : BigIpLoadBalancer.create({
            name: lb.name,
            url: lb.url,
            username: lb.username,
            password: lb.password,
            partition: lb.partition,
            auth: lb.auth,
            timeoutMs: lb.timeout,
          });
    for (const pool of lb.pools) byPool.set(pool, adapter);
    return adapter;
  });
  return { all, directory: { forPool: (pool) => byPool.get(pool) ?? null } };
}

/** The allow-listed commands of `commands`, the only ones a `run` step may execute. */
export function commandControlFrom(config: SwasConfig): LocalCommandControl {
  return new LocalCommandControl(
    Object.fromEntries(
      Object.entries(config.commands).map(([name, c]) => [
        name,
        { argv: c.argv, args: c.args, timeoutMs: c.timeout },
      ]),
    ),
  );
}

/** Webhook channels from `notify.webhooks`. */
export function webhooksFrom(config: SwasConfig, options: WebhookChannelOptions): WebhookChannel[] {
  return config.notify.webhooks.map(
    (w) =>
      new WebhookChannel(
        {
          name: w.name,
          url: w.url,
          headers: w.headers,
          timeoutMs: w.timeout,
          retries: w.retries,
          events: w.events,
        },
        options,
      ),
  );
}

/**
 * group_wait, inhibition rules and maintenance windows from `incidents:`; throws ConfigError naming the
 * field (e.g. `incidents.maintenance_windows[0].schedule`) when one cannot be used.
 */
export function noisePolicyFrom(loaded: Pick<LoadedConfig, 'config' | 'file'>): NoisePolicy {
  const compiled = compileNoisePolicy(loaded.config.incidents);
  if (compiled.ok) return compiled.policy;
  throw new ConfigError(
    compiled.problems.map((p) => ({ file: loaded.file, line: null, column: null, ...p })),
  );
}
