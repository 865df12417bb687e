import type { SwasConfig } from '../config/index.js';
import type { ScrapeTarget } from '../ingest/index.js';
import { HaproxyLoadBalancer, type LoadBalancer } from '../lb/index.js';
import { WebhookChannel, type WebhookChannelOptions } from '../paging/index.js';
import { LocalServiceControl, type LoadBalancerDirectory } from '../runbooks/index.js';

/** Scrape targets from `scrape_configs`, with global defaults applied. */
export function scrapeTargetsFrom(config: SwasConfig): ScrapeTarget[] {
  return config.scrape_configs.flatMap((job) => {
    const intervalMs = job.scrape_interval ?? config.scrape.interval;
    const timeoutMs = Math.min(job.scrape_timeout ?? config.scrape.timeout, intervalMs);
    return job.static_configs.flatMap((group) =>
      group.targets.map((address) => ({
        job: job.job_name,
        url: `${job.scheme}://${address}${job.metrics_path}`,
        labels: { ...group.labels, job: job.job_name, instance: group.labels.instance ?? address },
        intervalMs,
        timeoutMs,
        sampleLimit: job.sample_limit,
        bodyLimitBytes: job.body_size_limit_bytes,
        honorLabels: job.honor_labels,
      })),
    );
  });
}

/** Load balancers from `load_balancers`, and the directory that maps each pool to its load balancer. */
export function loadBalancersFrom(config: SwasConfig): {
  all: LoadBalancer[];
  directory: LoadBalancerDirectory;
} {
  const byPool = new Map<string, LoadBalancer>();
  const all = config.load_balancers.map((lb) => {
    const adapter = HaproxyLoadBalancer.create({ name: lb.name, socket: lb.socket, timeoutMs: lb.timeout });
    for (const pool of lb.pools) byPool.set(pool, adapter);
    return adapter;
  });
  return { all, directory: { forPool: (pool) => byPool.get(pool) ?? null } };
}

/** Service commands from `services`. */
export function serviceControlFrom(config: SwasConfig): LocalServiceControl {
  return new LocalServiceControl(
    Object.fromEntries(
      Object.entries(config.services).map(([name, s]) => [
        name,
        { restart: s.restart, start: s.start, stop: s.stop, timeoutMs: s.timeout },
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
