import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Counter, type Registry } from 'prom-client';
import {
  checkRemoteWriteHeaders,
  REMOTE_WRITE_CODES,
  RemoteWriteReceiver,
  tooLargeMessage,
  type RemoteWriteLimits,
  type RemoteWriteOutcome,
  type RemoteWriteRejection,
} from '../../ingest/index.js';
import { httpError } from '../httpErrors.js';
import type { Logger } from 'pino';
import type { SampleAppender } from '../../core/index.js';

const PROTOBUF = 'application/x-protobuf';
// Senders push every few seconds; one warning per interval is enough to notice rejected series.
const REJECTION_LOG_INTERVAL_MS = 60_000;

/** The parts of the server the write route uses (ServerParts satisfies it); samples go to `series`. */
export interface WriteRouteParts {
  readonly series: SampleAppender;
  /** Makes appended samples durable; a write is acknowledged only after it resolves. */
  commitSamples(): Promise<void>;
  readonly logger: Logger;
  readonly registry: Registry;
  readonly now: () => number;
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

function metricsFor(parts: WriteRouteParts) {
  const registers = [parts.registry];
  return {
    requests: new Counter({
      name: 'swas_remote_write_requests_total',
      help: 'Remote-write requests received, by HTTP status.',
      labelNames: ['code'],
      registers,
    }),
    accepted: new Counter({
      name: 'swas_remote_write_samples_total',
      help: 'Samples received by remote write and stored.',
      registers,
    }),
    rejected: new Counter({
      name: 'swas_remote_write_samples_rejected_total',
      help: 'Samples received by remote write and not stored, by reason.',
      labelNames: ['reason'],
      registers,
    }),
  };
}

/**
 * `POST /api/v1/write`: the Prometheus remote write 1.0 receiver, for operator tokens (the sender's
 * `authorization.credentials`). Returns the receiver so callers can read its totals.
 */
export function writeRoutes(
  app: FastifyInstance,
  parts: WriteRouteParts,
  limits: Partial<RemoteWriteLimits> = {},
): RemoteWriteReceiver {
  const receiver = RemoteWriteReceiver.create({ appender: parts.series, limits });
  const bodyLimit = receiver.limits.maxBodyBytes;
  const metrics = metricsFor(parts);
  let lastRejectionLog = Number.NEGATIVE_INFINITY;
  const unlogged: Partial<Record<RemoteWriteRejection, number>> = {};

  const record = (outcome: RemoteWriteOutcome, request: FastifyRequest) => {
    metrics.requests.inc({ code: String(outcome.status) });
    if (outcome.status !== 204) {
      parts.logger.warn(
        { ip: request.ip, status: outcome.status, error: outcome.message },
        'remote write refused',
      );
      return;
    }
    const { samplesAccepted, rejected, firstRejection } = outcome.summary;
    metrics.accepted.inc(samplesAccepted);
    for (const [reason, count] of Object.entries(rejected) as [RemoteWriteRejection, number][]) {
      if (count === 0) continue;
      metrics.rejected.inc({ reason }, count);
      unlogged[reason] = (unlogged[reason] ?? 0) + count;
    }
    const now = parts.now();
    if (firstRejection !== null && now - lastRejectionLog >= REJECTION_LOG_INTERVAL_MS) {
      lastRejectionLog = now;
      parts.logger.warn(
        { token: request.identity?.name, rejected: { ...unlogged }, example: firstRejection },
        'remote write: some samples were not stored (see swas_remote_write_samples_rejected_total)',
      );
      for (const key of Object.keys(unlogged)) delete unlogged[key as RemoteWriteRejection];
    }
  };

  app.addContentTypeParser(PROTOBUF, { parseAs: 'buffer', bodyLimit }, (_request, body, done) => {
    done(null, body);
  });
  app.post(
    '/api/v1/write',
    {
      config: { role: 'operator' },
      bodyLimit,
      // Refuse a wrong media type before any parser reads the body.
      preParsing: async (request: FastifyRequest, reply: FastifyReply) => {
        const problem = checkRemoteWriteHeaders(
          header(request, 'content-type'),
          header(request, 'content-encoding'),
        );
        if (problem === null) return;
        const outcome = { status: 415, code: REMOTE_WRITE_CODES.mediaType, message: problem } as const;
        record(outcome, request);
        await reply.status(415).send({ error: { code: outcome.code, message: outcome.message } });
      },
      errorHandler: (error, request, reply) => {
        const { status, body } = httpError(error);
        if (status === 413) {
          const size = Number(header(request, 'content-length') ?? Number.NaN);
          const message = tooLargeMessage(Number.isFinite(size) ? size : null, bodyLimit);
          record({ status: 413, code: REMOTE_WRITE_CODES.tooLarge, message }, request);
          void reply.status(413).send({ error: { code: REMOTE_WRITE_CODES.tooLarge, message } });
          return;
        }
        if (status >= 500)
          parts.logger.error({ err: error, url: request.url }, 'unexpected error in remote write');
        void reply.status(status).send(body);
      },
    },
    async (request, reply) => {
      const body = request.body instanceof Uint8Array ? request.body : new Uint8Array(0);
      const outcome = receiver.receive({
        body,
        contentType: header(request, 'content-type'),
        contentEncoding: header(request, 'content-encoding'),
      });
      record(outcome, request);
      if (outcome.status === 204) {
        // Acknowledge only what is durable: a kill -9 after the 204 must not lose these samples.
        await parts.commitSamples();
        return reply.status(204).send();
      }
      return reply.status(outcome.status).send({ error: { code: outcome.code, message: outcome.message } });
    },
  );
  return receiver;
}
