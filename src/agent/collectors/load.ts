import { fields, procRoot, readProcText, sample, toNumber } from './procfs.js';
import type { CollectedSample, Collector, ProcOptions } from './types.js';

/** Turns /proc/loadavg text into node_load1, node_load5 and node_load15. */
export function parseLoadavg(text: string): CollectedSample[] {
  const parts = fields(text);
  const names = ['node_load1', 'node_load5', 'node_load15'];
  const out: CollectedSample[] = [];
  names.forEach((name, i) => {
    const value = toNumber(parts[i]);
    if (value !== null) out.push(sample(name, {}, value));
  });
  return out;
}

/** The 1, 5 and 15 minute load averages. */
export function loadCollector(options?: ProcOptions): Collector {
  const root = procRoot(options);
  return {
    name: 'load',
    collect: async () => parseLoadavg(await readProcText(root, 'loadavg')),
  };
}
