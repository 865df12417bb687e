import { isAbsolute, join, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { SwasConfig } from '../config/index.js';
import type { SampleAppender } from '../core/index.js';
import { RemoteWriteSender } from '../ingest/index.js';
import { EmbeddedPromqlQuery, RemotePromqlQuery, type MetricsQuery } from '../promql/index.js';
import type { EmbeddedTsdb } from '../tsdb/index.js';

/**
 * The metrics engines from `metrics:` in swas.yaml: where samples go (the embedded TSDB, then every
 * remote-write receiver through its on-disk queue) and which engine answers PromQL (embedded or remote).
 */
export function metricsEnginesFrom(
  config: SwasConfig,
  tsdb: EmbeddedTsdb,
  dataDir: string,
  logger: Logger,
): {
  query: MetricsQuery;
  remoteQuery: RemotePromqlQuery | null;
  appender: SampleAppender;
  senders: RemoteWriteSender[];
} {
  const { metrics } = config;
  let appender: SampleAppender = tsdb;
  const senders = metrics.remote_write.map((target, index) => {
    const queueDir =
      target.queue_dir === undefined
        ? join(dataDir, 'remote-write', String(index))
        : isAbsolute(target.queue_dir)
          ? target.queue_dir
          : resolve(dataDir, target.queue_dir);
    // Each sender stores through the next appender first and queues only what it accepted.
    const sender = RemoteWriteSender.create({
      url: target.url,
      headers: target.headers,
      queueDir,
      next: appender,
      maxQueueBytes: target.max_queue_bytes,
      timeoutMs: target.timeout,
      onError: (message) =>
        logger.warn({ url: target.url, error: message }, 'remote write: sending failed; batches stay queued'),
    });
    appender = sender;
    return sender;
  });
  const remote = metrics.remote_query;
  const remoteQuery =
    metrics.query === 'remote' && remote !== undefined
      ? RemotePromqlQuery.create({ url: remote.url, headers: remote.headers, timeoutMs: remote.timeout })
      : null;
  const query: MetricsQuery = remoteQuery ?? EmbeddedPromqlQuery.create({ reader: tsdb });
  return { query, remoteQuery, appender, senders };
}
