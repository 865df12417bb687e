import { watch, type FSWatcher } from 'node:fs';
import { dirname } from 'node:path';
import { errorMessage } from '../core/index.js';
import { listFileSdFiles, readTargetGroups } from './fileSdFormat.js';
import type { TargetGroup } from './relabelTargets.js';

/** Options for {@link FileServiceDiscovery.create}. */
export interface FileServiceDiscoveryOptions {
  /** Absolute paths of target files; `*` and `?` may appear in the last segment. */
  readonly files: readonly string[];
  /** Re-read everything this often, in case a change notification was missed. @default 300000 */
  readonly refreshIntervalMs?: number;
  /** Called with every group of every file each time they change. */
  readonly onUpdate?: (groups: readonly TargetGroup[]) => void;
  /** Called when a file starts failing or fails differently; its last good groups stay in use. */
  readonly onError?: (file: string, errors: readonly string[]) => void;
  /** How long to wait after a change notification before reading, so a write in progress can finish. @default 50 */
  readonly settleMs?: number;
}

/** Where a discovery is in its life. */
export type FileSdLifecycle = 'stopped' | 'running';

/**
 * Prometheus's file-based service discovery: target groups from JSON or YAML files, re-read when a file
 * changes (watching the directories, since editors and config tools replace files by renaming) and on a
 * refresh interval as a fallback. A file that cannot be read or parsed keeps the groups it last gave.
 */
export class FileServiceDiscovery {
  private byFile = new Map<string, TargetGroup[]>();
  private readonly problems = new Map<string, string>();
  private watchers: FSWatcher[] = [];
  private timer: NodeJS.Timeout | null = null;
  private settleTimer: NodeJS.Timeout | null = null;
  private refreshing: Promise<void> | null = null;
  private again = false;
  private lastEmitted = '';
  private state: FileSdLifecycle = 'stopped';

  private constructor(private readonly options: FileServiceDiscoveryOptions) {}

  /** Creates a stopped discovery; {@link start} reads the files. */
  static create(options: FileServiceDiscoveryOptions): FileServiceDiscovery {
    return new FileServiceDiscovery(options);
  }

  /** Reads the files once, then watches them; resolves when the first read is done. */
  async start(): Promise<void> {
    if (this.state === 'running') return;
    this.state = 'running';
    await this.refresh();
    if (this.state !== 'running') return;
    for (const dir of new Set(this.options.files.map((f) => dirname(f)))) this.watchDir(dir);
    this.timer = setInterval(() => void this.refresh(), this.options.refreshIntervalMs ?? 300_000);
    this.timer.unref();
  }

  /** Stops watching; the last groups stay readable. */
  stop(): void {
    this.state = 'stopped';
    for (const watcher of this.watchers) watcher.close();
    this.watchers = [];
    if (this.timer !== null) clearInterval(this.timer);
    if (this.settleTimer !== null) clearTimeout(this.settleTimer);
    this.timer = null;
    this.settleTimer = null;
  }

  get lifecycle(): FileSdLifecycle {
    return this.state;
  }

  /** Every group of every file, in file order. */
  groups(): TargetGroup[] {
    return [...this.byFile.values()].flat();
  }

  /** The current problem of each failing file, as `file:line:column: field: message` lines. */
  errors(): ReadonlyMap<string, string> {
    return new Map(this.problems);
  }

  /** Re-reads every file now; a read already running is followed by one more. */
  refresh(): Promise<void> {
    if (this.refreshing !== null) {
      this.again = true;
      return this.refreshing;
    }
    const run = (async () => {
      do {
        this.again = false;
        try {
          await this.readAll();
        } catch (error) {
          // Only a throwing onUpdate gets here; the discovery keeps running.
          this.options.onError?.('', [`file service discovery update failed: ${errorMessage(error)}`]);
        }
      } while (this.again && this.state === 'running');
    })().finally(() => {
      this.refreshing = null;
    });
    this.refreshing = run;
    return run;
  }

  private async readAll(): Promise<void> {
    const next = new Map<string, TargetGroup[]>();
    const listed = await listFileSdFiles(this.options.files);
    for (const file of listed) {
      const read = await readTargetGroups(file);
      if (read.ok) {
        next.set(file, read.groups);
        this.problems.delete(file);
        continue;
      }
      // Keep what the file gave last time, as Prometheus does, so a bad edit does not drop targets.
      const previous = this.byFile.get(file);
      if (previous !== undefined) next.set(file, previous);
      const text = read.errors.join('\n');
      if (this.problems.get(file) !== text) this.options.onError?.(file, read.errors);
      this.problems.set(file, text);
    }
    for (const file of this.problems.keys()) if (!listed.includes(file)) this.problems.delete(file);
    this.byFile = next;
    this.emitIfChanged();
  }

  private emitIfChanged(): void {
    const groups = this.groups();
    const text = JSON.stringify(groups);
    if (text === this.lastEmitted) return;
    this.lastEmitted = text;
    this.options.onUpdate?.(groups);
  }

  private watchDir(dir: string): void {
    try {
      const watcher = watch(dir, { persistent: false }, () => this.onChange());
      watcher.on('error', (error) => {
        this.options.onError?.(dir, [
          `${dir}: watching stopped: ${errorMessage(error)}; the refresh interval still applies`,
        ]);
      });
      this.watchers.push(watcher);
    } catch (error) {
      // A missing directory cannot be watched; the refresh interval picks up files created in it later.
      this.options.onError?.(dir, [
        `${dir}: cannot watch: ${errorMessage(error)}; the refresh interval still applies`,
      ]);
    }
  }

  private onChange(): void {
    if (this.state !== 'running' || this.settleTimer !== null) return;
    this.settleTimer = setTimeout(() => {
      this.settleTimer = null;
      if (this.state === 'running') void this.refresh();
    }, this.options.settleMs ?? 50);
  }
}
