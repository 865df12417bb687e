import { performance } from 'node:perf_hooks';
import { InputError, errorMessage } from '../../core/index.js';
import { cpuCollector } from './cpu.js';
import { filesystemCollector, type FilesystemCollectorConfig } from './filesystem.js';
import { loadCollector } from './load.js';
import { compileLogWatches, LogCollector, type LogWatchConfig } from './logs.js';
import { memoryCollector } from './memory.js';
import { networkCollector, type NetworkCollectorConfig } from './network.js';
import { compileServiceWatches, ServiceCollector, type ServiceWatchConfig } from './processes.js';
import { sample } from './procfs.js';
import type { CollectedSample, Collector, ProcOptions } from './types.js';

/** The built-in system collectors, which run unless disabled. */
export const SYSTEM_COLLECTORS = ['cpu', 'memory', 'load', 'filesystem', 'network'] as const;
/** Name of a built-in system collector. */
export type SystemCollectorName = (typeof SYSTEM_COLLECTORS)[number];

/** The agent's host collection settings (the agent's local config, or pushed by the server). */
export interface HostCollectorsConfig {
  /** System collectors to leave out. @default [] */
  readonly disable?: readonly SystemCollectorName[] | undefined;
  readonly filesystems?: FilesystemCollectorConfig | undefined;
  readonly network?: NetworkCollectorConfig | undefined;
  /** Named services to watch for up/down and restarts. @default [] */
  readonly services?: readonly ServiceWatchConfig[] | undefined;
  /** Log files to watch for size, rotation and matching lines. @default [] */
  readonly log_watches?: readonly LogWatchConfig[] | undefined;
}

/** How the collectors run. */
export interface HostCollectorsOptions extends ProcOptions {
  /** Hears each failure (a collector that threw, a log that could not be read) for the agent's log. */
  readonly onError?: (message: string) => void;
}

/** Everything a config needs, built and checked before any of it replaces what runs. */
interface Built {
  readonly system: Collector[];
  readonly services: ReturnType<typeof compileServiceWatches>;
  readonly logs: ReturnType<typeof compileLogWatches>;
}

/**
 * All of one host's collectors behind one Collector: runs them together, keeps one failing collector from
 * hiding the others, and adds swas_agent_collector_success and _duration_seconds per collector.
 */
export class HostCollectors implements Collector {
  readonly name = 'host';
  private system: Collector[] = [];
  private systemKey = '';
  private readonly services: ServiceCollector;
  private readonly logs: LogCollector;

  private constructor(private readonly options: HostCollectorsOptions) {
    this.services = ServiceCollector.create([], options);
    this.logs = LogCollector.create([], options.onError);
  }

  /** Builds the collectors; throws an InputError (code SWAS-AGENT-00x) naming the bad setting. */
  static create(config: HostCollectorsConfig, options: HostCollectorsOptions = {}): HostCollectors {
    const collectors = new HostCollectors(options);
    collectors.reconfigure(config);
    return collectors;
  }

  /** The collectors that run, system ones first. */
  get collectors(): readonly Collector[] {
    return [...this.system, this.services, this.logs];
  }

  /**
   * Applies a new config without losing counters: services and logs that keep their name (and path) keep
   * their state. A bad config throws an InputError and leaves the running one untouched.
   */
  reconfigure(config: HostCollectorsConfig): void {
    const built = this.build(config);
    this.system = built.system;
    this.systemKey = systemKey(config);
    this.services.apply(built.services);
    this.logs.apply(built.logs);
  }

  async collect(now: number): Promise<CollectedSample[]> {
    const perCollector = await Promise.all(this.collectors.map((c) => this.collectOne(c, now)));
    return perCollector.flat();
  }

  private async collectOne(collector: Collector, now: number): Promise<CollectedSample[]> {
    const labels = { collector: collector.name };
    const started = performance.now();
    let samples: CollectedSample[] = [];
    let ok = true;
    try {
      samples = await collector.collect(now);
    } catch (error) {
      ok = false;
      this.options.onError?.(`collector ${collector.name} failed: ${errorMessage(error)}`);
    }
    samples.push(
      sample('swas_agent_collector_success', labels, ok ? 1 : 0),
      sample('swas_agent_collector_duration_seconds', labels, (performance.now() - started) / 1000),
    );
    return samples;
  }

  private build(config: HostCollectorsConfig): Built {
    const disabled = new Set<string>(config.disable ?? []);
    for (const name of disabled)
      if (!(SYSTEM_COLLECTORS as readonly string[]).includes(name))
        throw new InputError(
          'SWAS-AGENT-004',
          `disable: unknown collector "${name}"; the system collectors are ${SYSTEM_COLLECTORS.join(', ')}`,
        );
    // Unchanged system settings keep the running collectors (and so the filesystems' fill-rate history).
    const system =
      systemKey(config) === this.systemKey && this.system.length > 0
        ? this.system
        : SYSTEM_COLLECTORS.filter((name) => !disabled.has(name)).map((name) =>
            this.systemCollector(name, config),
          );
    return {
      system,
      services: compileServiceWatches(config.services ?? []),
      logs: compileLogWatches(config.log_watches ?? []),
    };
  }

  private systemCollector(name: SystemCollectorName, config: HostCollectorsConfig): Collector {
    switch (name) {
      case 'cpu':
        return cpuCollector(this.options);
      case 'memory':
        return memoryCollector(this.options);
      case 'load':
        return loadCollector(this.options);
      case 'filesystem':
        return filesystemCollector(config.filesystems, this.options);
      case 'network':
        return networkCollector(config.network, this.options);
    }
  }
}

function systemKey(config: HostCollectorsConfig): string {
  return JSON.stringify([config.disable ?? [], config.filesystems ?? {}, config.network ?? {}]);
}

/** Builds the host's collectors from config; see HostCollectors. */
export function hostCollectors(
  config: HostCollectorsConfig,
  options?: HostCollectorsOptions,
): HostCollectors {
  return HostCollectors.create(config, options);
}
