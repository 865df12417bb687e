import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError } from '../../core/index.js';
import { compilePattern } from './patterns.js';
import { fields, procRoot, readProcText, sample, toNumber, USER_HZ } from './procfs.js';
import type { CollectedSample, Collector, ProcOptions } from './types.js';

/** A named service the agent watches: found by its pidfile, by a regex on its process, or both. */
export interface ServiceWatchConfig {
  /** The `service` label, e.g. `nginx`. */
  readonly name: string;
  /** Path of the file holding the service's main pid, e.g. /run/nginx.pid. */
  readonly pidfile?: string | undefined;
  /**
   * RE2 pattern matched against the process name (`comm`) or its full command line (arguments joined by
   * spaces), e.g. `^nginx: master`. With a pidfile, the pid read must also match (guards against stale pids).
   */
  readonly match?: string | undefined;
}

/** A service watch checked and with its pattern compiled. */
export interface CompiledServiceWatch {
  readonly name: string;
  readonly pidfile: string | undefined;
  readonly match: RegExp | null;
}

/** What the agent needs to know about one running process. */
export interface ProcessInfo {
  readonly pid: number;
  readonly comm: string;
  /** Kernel state letter: R, S, D, Z (zombie), … */
  readonly state: string;
  /** Start time in clock ticks after boot. */
  readonly startTicks: number;
  readonly cmdline: string;
}

/** Parses /proc/<pid>/stat; the name is in parentheses and may itself contain spaces and parentheses. */
export function parsePidStat(text: string): Pick<ProcessInfo, 'comm' | 'state' | 'startTicks'> | null {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return null;
  const rest = fields(text.slice(close + 1));
  // rest[0] is field 3 (state); starttime is field 22.
  const startTicks = toNumber(rest[19]);
  if (rest[0] === undefined || startTicks === null) return null;
  return { comm: text.slice(open + 1, close), state: rest[0], startTicks };
}

/** Checks names and shapes and compiles patterns; throws an InputError naming the bad watch. */
export function compileServiceWatches(services: readonly ServiceWatchConfig[]): CompiledServiceWatch[] {
  const seen = new Set<string>();
  return services.map((service, i) => {
    const where = `services[${i}] (${service.name})`;
    if (service.name === '') throw new InputError('SWAS-AGENT-002', `services[${i}]: name must not be empty`);
    if (seen.has(service.name))
      throw new InputError(
        'SWAS-AGENT-002',
        `${where}: the name is used twice; give each service its own name`,
      );
    seen.add(service.name);
    if (service.pidfile === undefined && service.match === undefined)
      throw new InputError(
        'SWAS-AGENT-002',
        `${where}: needs a pidfile or a match pattern, e.g. pidfile: /run/${service.name}.pid`,
      );
    const match = service.match === undefined ? null : compilePattern(service.match, `${where}.match`);
    return { name: service.name, pidfile: service.pidfile, match };
  });
}

async function readProcess(root: string, pid: number): Promise<ProcessInfo | null> {
  try {
    const [stat, cmdline] = await Promise.all([
      readFile(join(root, String(pid), 'stat'), 'utf8'),
      readFile(join(root, String(pid), 'cmdline'), 'utf8'),
    ]);
    const parsed = parsePidStat(stat);
    if (parsed === null) return null;
    return { pid, ...parsed, cmdline: cmdline.replace(/\0+$/, '').replaceAll('\0', ' ') };
  } catch {
    return null; // the process exited while we looked
  }
}

/** Every live process but the agent itself; zombies and dying processes count as gone. */
async function listProcesses(root: string): Promise<ProcessInfo[]> {
  const pids = (await readdir(root)).filter((n) => /^\d+$/.test(n)).map(Number);
  const all = await Promise.all(
    pids.filter((pid) => pid !== process.pid).map((pid) => readProcess(root, pid)),
  );
  return all.filter((p): p is ProcessInfo => p !== null && !isGone(p));
}

function isGone(info: ProcessInfo): boolean {
  return info.state === 'Z' || info.state === 'X' || info.state === 'x';
}

function matches(pattern: RegExp, info: ProcessInfo): boolean {
  return pattern.test(info.comm) || (info.cmdline !== '' && pattern.test(info.cmdline));
}

async function readPidfile(path: string): Promise<number | null> {
  try {
    const pid = Number((await readFile(path, 'utf8')).trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null; // no pidfile: the service is not running
  }
}

/** The main process of a service now, or null when it is not running. */
async function findMain(
  root: string,
  watch: CompiledServiceWatch,
  scan: () => Promise<ProcessInfo[]>,
): Promise<{ main: ProcessInfo | null; count: number }> {
  if (watch.pidfile !== undefined) {
    const pid = await readPidfile(watch.pidfile);
    const info = pid === null ? null : await readProcess(root, pid);
    const live = info !== null && !isGone(info) && (watch.match === null || matches(watch.match, info));
    return { main: live ? info : null, count: live ? 1 : 0 };
  }
  const pattern = watch.match;
  const found = pattern === null ? [] : (await scan()).filter((p) => matches(pattern, p));
  // The oldest matching process is the service's parent (nginx master, postgres postmaster).
  found.sort((a, b) => a.startTicks - b.startTicks || a.pid - b.pid);
  return { main: found[0] ?? null, count: found.length };
}

interface ServiceState {
  identity: string | null;
  restarts: number;
}

/**
 * Up/down, restarts and start time of named services: swas_agent_service_up, _restarts_total (the main
 * process changed since it was last seen), _start_time_seconds and _processes (how many processes match).
 */
export class ServiceCollector implements Collector {
  readonly name = 'services';
  private readonly root: string;
  private watches: CompiledServiceWatch[] = [];
  private states = new Map<string, ServiceState>();

  private constructor(options: ProcOptions | undefined) {
    this.root = procRoot(options);
  }

  /** Builds the collector; throws an InputError for a bad watch. */
  static create(services: readonly ServiceWatchConfig[], options?: ProcOptions): ServiceCollector {
    const collector = new ServiceCollector(options);
    collector.apply(compileServiceWatches(services));
    return collector;
  }

  /** Switches to new watches (compiled beforehand); services that keep their name keep their restart count. */
  apply(watches: CompiledServiceWatch[]): void {
    this.watches = watches;
    this.states = new Map(
      watches.map((w) => [w.name, this.states.get(w.name) ?? { identity: null, restarts: 0 }]),
    );
  }

  async collect(): Promise<CollectedSample[]> {
    if (this.watches.length === 0) return [];
    let processes: Promise<ProcessInfo[]> | null = null;
    const scan = () => (processes ??= listProcesses(this.root));
    const bootTime = await this.bootTime();
    const perService = await Promise.all(
      this.watches.map(async (watch) =>
        this.serviceSamples(watch, await findMain(this.root, watch, scan), bootTime),
      ),
    );
    return perService.flat();
  }

  private serviceSamples(
    watch: CompiledServiceWatch,
    found: { main: ProcessInfo | null; count: number },
    bootTime: number,
  ): CollectedSample[] {
    const state = this.states.get(watch.name) ?? { identity: null, restarts: 0 };
    this.states.set(watch.name, state);
    const labels = { service: watch.name };
    const { main } = found;
    if (main !== null) {
      // pid plus start time: a restart that happens to reuse the pid still counts.
      const identity = `${main.pid}/${main.startTicks}`;
      if (state.identity !== null && state.identity !== identity) state.restarts += 1;
      state.identity = identity;
    }
    const out = [
      sample('swas_agent_service_up', labels, main === null ? 0 : 1),
      sample('swas_agent_service_restarts_total', labels, state.restarts),
      sample('swas_agent_service_processes', labels, found.count),
    ];
    if (main !== null)
      out.push(sample('swas_agent_service_start_time_seconds', labels, bootTime + main.startTicks / USER_HZ));
    return out;
  }

  private async bootTime(): Promise<number> {
    const line = (await readProcText(this.root, 'stat')).split('\n').find((l) => l.startsWith('btime '));
    return toNumber(fields(line ?? '')[1]) ?? 0;
  }
}
