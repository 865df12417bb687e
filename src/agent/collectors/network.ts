import { compilePattern } from './patterns.js';
import { fields, procRoot, readProcText, sample, toNumber } from './procfs.js';
import type { CollectedSample, Collector, ProcOptions } from './types.js';

/** Which network devices to report. */
export interface NetworkCollectorConfig {
  /** Report the loopback device `lo` too. @default false */
  readonly include_loopback?: boolean;
  /** RE2 pattern of device names to leave out, e.g. `^(veth|docker)`. */
  readonly exclude_devices?: string;
}

/** /proc/net/dev columns (after the device name) exported, by position, as node_network_<name>_total. */
const COLUMNS: ReadonlyArray<readonly [number, string]> = [
  [0, 'receive_bytes'],
  [1, 'receive_packets'],
  [2, 'receive_errs'],
  [3, 'receive_drop'],
  [8, 'transmit_bytes'],
  [9, 'transmit_packets'],
  [10, 'transmit_errs'],
  [11, 'transmit_drop'],
];

/** One device's counters from /proc/net/dev, keyed by device name. */
export function parseNetDev(text: string): Map<string, number[]> {
  const devices = new Map<string, number[]>();
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0 || line.includes('|')) continue;
    const device = line.slice(0, colon).trim();
    const values = fields(line.slice(colon + 1)).map((f) => toNumber(f) ?? Number.NaN);
    if (device !== '') devices.set(device, values);
  }
  return devices;
}

function deviceSamples(device: string, values: number[]): CollectedSample[] {
  const out: CollectedSample[] = [];
  for (const [column, name] of COLUMNS) {
    const value = values[column];
    if (value !== undefined && Number.isFinite(value))
      out.push(sample(`node_network_${name}_total`, { device }, value));
  }
  return out;
}

/** Bytes, packets, errors and drops per network device, both directions; `lo` only when configured. */
export function networkCollector(config: NetworkCollectorConfig = {}, options?: ProcOptions): Collector {
  const root = procRoot(options);
  const exclude =
    config.exclude_devices === undefined
      ? null
      : compilePattern(config.exclude_devices, 'network.exclude_devices');
  const wanted = (device: string) =>
    (config.include_loopback === true || device !== 'lo') && !(exclude?.test(device) ?? false);
  return {
    name: 'network',
    collect: async () => {
      const devices = parseNetDev(await readProcText(root, 'net/dev'));
      return [...devices].filter(([device]) => wanted(device)).flatMap(([d, v]) => deviceSamples(d, v));
    },
  };
}
