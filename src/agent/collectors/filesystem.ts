import type { StatsFs } from 'node:fs';
import { statfs } from 'node:fs/promises';
import { compilePattern } from './patterns.js';
import { fields, procRoot, readProcText, sample } from './procfs.js';
import type { CollectedSample, Collector, ProcOptions } from './types.js';

/** Which mounted filesystems to report and how to judge their fill rate. */
export interface FilesystemCollectorConfig {
  /** Pseudo filesystem types to report anyway, e.g. `[tmpfs]`. @default [] */
  readonly include_fstypes?: readonly string[];
  /** RE2 pattern of mount points to leave out, e.g. `^/(snap|boot/efi)($|/)`. */
  readonly exclude_mountpoints?: string;
  /** Seconds of history the fill rate is measured over, smoothing bursts. @default 300 */
  readonly fill_rate_window_seconds?: number;
  /** Milliseconds a statfs may take before the mount counts as failing (a hung NFS server). @default 5000 */
  readonly statfs_timeout_ms?: number;
}

/** Filesystem types that hold no user data (kernel views, containers' layers, memory); node_exporter skips them too. */
export const PSEUDO_FSTYPES: ReadonlySet<string> = new Set([
  'autofs', 'binfmt_misc', 'bpf', 'cgroup', 'cgroup2', 'configfs', 'debugfs', 'devpts', 'devtmpfs',
  'efivarfs', 'erofs', 'fusectl', 'fuse.lxcfs', 'fuse.portal', 'hugetlbfs', 'iso9660', 'mqueue', 'nfsd',
  'nsfs', 'overlay', 'proc', 'procfs', 'pstore', 'ramfs', 'rpc_pipefs', 'securityfs', 'selinuxfs',
  'squashfs', 'sysfs', 'tmpfs', 'tracefs',
]); // prettier-ignore

/** One line of /proc/self/mounts. */
export interface MountEntry {
  readonly device: string;
  readonly mountpoint: string;
  readonly fstype: string;
  readonly readonly: boolean;
}

/** The kernel escapes space, tab, newline and backslash in mount fields as octal (`\040`). */
function unescapeMountField(text: string): string {
  return text.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/** Parses /proc/self/mounts; a mount point mounted over keeps only its last (visible) entry. */
export function parseMounts(text: string): MountEntry[] {
  const byMountpoint = new Map<string, MountEntry>();
  for (const line of text.split('\n')) {
    const [device, mountpoint, fstype, options] = fields(line);
    if (device === undefined || mountpoint === undefined || fstype === undefined) continue;
    const entry = {
      device: unescapeMountField(device),
      mountpoint: unescapeMountField(mountpoint),
      fstype,
      readonly: (options ?? '').split(',').includes('ro'),
    };
    byMountpoint.delete(entry.mountpoint);
    byMountpoint.set(entry.mountpoint, entry);
  }
  return [...byMountpoint.values()];
}

/** Used bytes of one filesystem at one collection. */
export interface UsedPoint {
  readonly at: number;
  readonly used: number;
}

/**
 * The fill rate in bytes per second over the history window (null on the first collection) and the history
 * to keep. The newest earlier point always stays, so an interval longer than the window still gives a rate.
 */
export function fillRate(
  history: readonly UsedPoint[],
  point: UsedPoint,
  windowMs: number,
): { rate: number | null; history: UsedPoint[] } {
  const earlier = history.filter((p) => p.at < point.at);
  const recent = earlier.filter((p) => p.at >= point.at - windowMs);
  const last = earlier[earlier.length - 1];
  const kept = recent.length === 0 && last !== undefined ? [last] : recent;
  const oldest = kept[0];
  const rate = oldest === undefined ? null : (point.used - oldest.used) / ((point.at - oldest.at) / 1000);
  return { rate, history: [...kept, point] };
}

type StatfsOutcome = { ok: true; stats: StatsFs } | { ok: false };

/** Tracks statfs calls so a hung mount holds at most one libuv thread and is reported, not waited on. */
class StatfsGuard {
  private readonly pending = new Set<string>();
  constructor(private readonly timeoutMs: number) {}

  async stat(mountpoint: string): Promise<StatfsOutcome> {
    if (this.pending.has(mountpoint)) return { ok: false };
    this.pending.add(mountpoint);
    const call = statfs(mountpoint).then(
      (stats): StatfsOutcome => ({ ok: true, stats }),
      (): StatfsOutcome => ({ ok: false }),
    );
    void call.finally(() => this.pending.delete(mountpoint));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<StatfsOutcome>((resolve) => {
      timer = setTimeout(() => resolve({ ok: false }), this.timeoutMs);
      timer.unref();
    });
    try {
      return await Promise.race([call, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * Size, free and available bytes, inodes, read-only flag and device errors of every real filesystem, in
 * node_exporter's names, plus swas_agent_filesystem_fill_rate_bytes_per_second and, while it is filling,
 * swas_agent_filesystem_seconds_until_full (available bytes over the fill rate).
 */
export function filesystemCollector(
  config: FilesystemCollectorConfig = {},
  options?: ProcOptions,
): Collector {
  const root = procRoot(options);
  const included = new Set(config.include_fstypes ?? []);
  const exclude =
    config.exclude_mountpoints === undefined
      ? null
      : compilePattern(config.exclude_mountpoints, 'filesystems.exclude_mountpoints');
  const windowMs = (config.fill_rate_window_seconds ?? 300) * 1000;
  const guard = new StatfsGuard(config.statfs_timeout_ms ?? 5000);
  const histories = new Map<string, UsedPoint[]>();
  const wanted = (m: MountEntry) =>
    (included.has(m.fstype) || !PSEUDO_FSTYPES.has(m.fstype)) && !(exclude?.test(m.mountpoint) ?? false);

  async function mountSamples(mount: MountEntry, now: number): Promise<CollectedSample[]> {
    const labels = { device: mount.device, fstype: mount.fstype, mountpoint: mount.mountpoint };
    const outcome = await guard.stat(mount.mountpoint);
    if (!outcome.ok) return [sample('node_filesystem_device_error', labels, 1)];
    const { bsize, blocks, bfree, bavail, files, ffree } = outcome.stats;
    const size = blocks * bsize;
    const avail = bavail * bsize;
    const out = [
      sample('node_filesystem_device_error', labels, 0),
      sample('node_filesystem_size_bytes', labels, size),
      sample('node_filesystem_free_bytes', labels, bfree * bsize),
      sample('node_filesystem_avail_bytes', labels, avail),
      sample('node_filesystem_files', labels, files),
      sample('node_filesystem_files_free', labels, ffree),
      sample('node_filesystem_readonly', labels, mount.readonly ? 1 : 0),
    ];
    const key = `${mount.device}\u0000${mount.mountpoint}`;
    const { rate, history } = fillRate(
      histories.get(key) ?? [],
      { at: now, used: size - bfree * bsize },
      windowMs,
    );
    histories.set(key, history);
    if (rate === null) return out;
    out.push(sample('swas_agent_filesystem_fill_rate_bytes_per_second', labels, rate));
    if (rate > 0) out.push(sample('swas_agent_filesystem_seconds_until_full', labels, avail / rate));
    return out;
  }

  return {
    name: 'filesystem',
    collect: async (now) => {
      const mounts = parseMounts(await readProcText(root, 'self/mounts')).filter(wanted);
      const seen = new Set(mounts.map((m) => `${m.device}\u0000${m.mountpoint}`));
      for (const key of histories.keys()) if (!seen.has(key)) histories.delete(key);
      const perMount = await Promise.all(mounts.map((m) => mountSamples(m, now)));
      return perMount.flat();
    },
  };
}
