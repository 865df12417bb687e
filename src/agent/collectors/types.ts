/** One value a collector read from the host: a metric name, its labels and the value now. */
export interface CollectedSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Reads one part of the host (CPU, a log file, …) into samples each time it is asked. */
export interface Collector {
  /** Short stable name, e.g. `cpu`; the `collector` label of swas_agent_collector_* series. */
  readonly name: string;
  /** Reads the host now; `now` is the collection time in Unix milliseconds, used for rates and ages. */
  collect(now: number): Promise<CollectedSample[]>;
}

/** Where the host's procfs is mounted; tests and containers with a host /proc bind-mount change it. */
export interface ProcOptions {
  /** @default '/proc' */
  readonly procRoot?: string;
}
