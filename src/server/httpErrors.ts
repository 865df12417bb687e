import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import {
  AuthenticationError,
  ConflictError,
  InputError,
  NotAllowedError,
  NotFoundError,
  SwasError,
} from '../core/index.js';

// The one place business errors become HTTP statuses.
const STATUS: readonly [new (...args: never[]) => SwasError, number][] = [
  [InputError, 400],
  [AuthenticationError, 401],
  [NotAllowedError, 403],
  [NotFoundError, 404],
  [ConflictError, 409],
];

/** Maps an error to its HTTP status and JSON body: `{ error: { code, message } }`. */
export function httpError(error: unknown): {
  status: number;
  body: { error: { code: string; message: string } };
} {
  if (error instanceof SwasError) {
    const status = STATUS.find(([type]) => error instanceof type)?.[1] ?? 500;
    return { status, body: { error: { code: error.code, message: error.message } } };
  }
  const fastifyError = error as Partial<FastifyError>;
  if (typeof fastifyError.statusCode === 'number' && fastifyError.statusCode < 500) {
    const code = fastifyError.code ?? 'SWAS-API-400';
    return {
      status: fastifyError.statusCode,
      body: { error: { code, message: fastifyError.message ?? 'bad request' } },
    };
  }
  return {
    status: 500,
    body: { error: { code: 'SWAS-API-500', message: 'internal error; see the server log' } },
  };
}

/** Fastify error handler: expected errors are answered plainly, unexpected ones logged as bugs. */
export function errorHandler(logger: Logger) {
  return (error: unknown, request: FastifyRequest, reply: FastifyReply): void => {
    const { status, body } = httpError(error);
    if (status >= 500) logger.error({ err: error, url: request.url }, 'unexpected error in an API handler');
    void reply.status(status).send(body);
  };
}
