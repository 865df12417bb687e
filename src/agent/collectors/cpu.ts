import { fields, procRoot, readProcText, sample, toNumber, USER_HZ } from './procfs.js';
import type { CollectedSample, Collector, ProcOptions } from './types.js';

/** /proc/stat per-CPU columns in kernel order, named as node_exporter's `mode` label. */
const CPU_MODES = ['user', 'nice', 'system', 'idle', 'iowait', 'irq', 'softirq', 'steal'] as const;
/** The two guest columns that follow, exported as node_cpu_guest_seconds_total. */
const GUEST_MODES = ['user', 'nice'] as const;

/** Single-value /proc/stat lines and the node_exporter names they become. */
const STAT_COUNTERS: Record<string, string> = {
  btime: 'node_boot_time_seconds',
  ctxt: 'node_context_switches_total',
  processes: 'node_forks_total',
  procs_running: 'node_procs_running',
  procs_blocked: 'node_procs_blocked',
};

/** Samples of one `cpuN ...` line; the aggregate `cpu` line is left out as Prometheus sums it. */
function cpuLineSamples(parts: string[]): CollectedSample[] {
  const cpu = (parts[0] ?? '').slice('cpu'.length);
  const out: CollectedSample[] = [];
  CPU_MODES.forEach((mode, i) => {
    const ticks = toNumber(parts[i + 1]);
    if (ticks !== null) out.push(sample('node_cpu_seconds_total', { cpu, mode }, ticks / USER_HZ));
  });
  GUEST_MODES.forEach((mode, i) => {
    const ticks = toNumber(parts[CPU_MODES.length + i + 1]);
    if (ticks !== null) out.push(sample('node_cpu_guest_seconds_total', { cpu, mode }, ticks / USER_HZ));
  });
  return out;
}

/** Turns /proc/stat text into node_exporter's cpu and stat series. */
export function parseProcStat(text: string): CollectedSample[] {
  const out: CollectedSample[] = [];
  for (const line of text.split('\n')) {
    const parts = fields(line);
    const key = parts[0];
    if (key === undefined) continue;
    if (/^cpu\d+$/.test(key)) {
      out.push(...cpuLineSamples(parts));
      continue;
    }
    const name = STAT_COUNTERS[key];
    const value = toNumber(parts[1]);
    if (name !== undefined && value !== null) out.push(sample(name, {}, value));
  }
  return out;
}

/** CPU time per CPU and mode, plus boot time, context switches, forks and runnable/blocked processes. */
export function cpuCollector(options?: ProcOptions): Collector {
  const root = procRoot(options);
  return {
    name: 'cpu',
    collect: async () => parseProcStat(await readProcText(root, 'stat')),
  };
}
