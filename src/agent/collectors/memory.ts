import { fields, procRoot, readProcText, sample, toNumber } from './procfs.js';
import type { CollectedSample, Collector, ProcOptions } from './types.js';

/**
 * Turns /proc/meminfo text into node_exporter's node_memory_* series: `MemTotal: 16 kB` becomes
 * node_memory_MemTotal_bytes 16384, `Active(anon)` becomes Active_anon, unitless counts keep no suffix.
 */
export function parseMeminfo(text: string): CollectedSample[] {
  const out: CollectedSample[] = [];
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const key = line.slice(0, colon).replace(/\((.*)\)/, '_$1');
    const [amount, unit] = fields(line.slice(colon + 1));
    const value = toNumber(amount);
    if (value === null || !/^\w+$/.test(key)) continue;
    if (unit === 'kB') out.push(sample(`node_memory_${key}_bytes`, {}, value * 1024));
    else out.push(sample(`node_memory_${key}`, {}, value));
  }
  return out;
}

/** Every /proc/meminfo field, including MemTotal and MemAvailable. */
export function memoryCollector(options?: ProcOptions): Collector {
  const root = procRoot(options);
  return {
    name: 'memory',
    collect: async () => parseMeminfo(await readProcText(root, 'meminfo')),
  };
}
