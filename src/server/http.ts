import { readFile } from 'node:fs/promises';
import type { SecureContextOptions } from 'node:tls';
import { fastify, type FastifyInstance } from 'fastify';
import type { ServerTls } from '../config/index.js';
import { createAuthHook } from './auth.js';
import { agentRoutes } from './routes/agentRoutes.js';
import { approvalRoutes } from './routes/approvalRoutes.js';
import { errorHandler } from './httpErrors.js';
import { healthRoutes } from './routes/healthRoutes.js';
import { incidentRoutes } from './routes/incidentRoutes.js';
import { intakeRoutes } from './routes/intakeRoutes.js';
import { lbRoutes } from './routes/lbRoutes.js';
import { prometheusRoutes } from './routes/prometheusRoutes.js';
import { runbookRoutes } from './routes/runbookRoutes.js';
import { runRoutes } from './routes/runRoutes.js';
import { probeRoutes } from './routes/probeRoutes.js';
import { silenceRoutes } from './routes/silenceRoutes.js';
import { writeRoutes } from './routes/writeRoutes.js';
import type { ServerParts } from './ServerParts.js';

const UI_FILES: Record<string, string> = {
  '/': 'index.html',
  '/ui/app.js': 'app.js',
  '/ui/style.css': 'style.css',
};
const CONTENT_TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
};

/** The secure context options of `server.tls`: certificate, key, minimum version, client CA. */
export function secureContextOf(tls: ServerTls): SecureContextOptions {
  return {
    cert: tls.cert,
    key: tls.key,
    minVersion: tls.minVersion,
    ...(tls.clientCa === null ? {} : { ca: tls.clientCa }),
  };
}

/**
 * Builds the HTTP app: auth on every route but health and the static page, JSON errors, all routes. With
 * `tls` it serves HTTPS only (and so WSS for agents); with a client CA every client must present a
 * certificate that CA signed.
 */
export async function buildHttpApp(
  parts: ServerParts,
  tls: ServerTls | null = null,
): Promise<FastifyInstance> {
  const https =
    tls === null
      ? null
      : {
          ...secureContextOf(tls),
          requestCert: tls.clientCa !== null,
          rejectUnauthorized: tls.clientCa !== null,
        };
  // Fastify types an HTTPS app by its server class; routes, hooks and listen are the same for both.
  const app = (
    https === null
      ? fastify({ logger: false, bodyLimit: 1024 * 1024 })
      : fastify({ logger: false, bodyLimit: 1024 * 1024, https })
  ) as FastifyInstance;
  app.setErrorHandler(errorHandler(parts.logger));
  app.setNotFoundHandler((request, reply) => {
    void reply.status(404).send({
      error: { code: 'SWAS-API-404', message: `no route ${request.method} ${request.url.split('?')[0]}` },
    });
  });
  app.addHook(
    'onRequest',
    createAuthHook({ tokens: parts.store.tokens, logger: parts.logger, now: parts.now }),
  );
  app.addHook('onResponse', (request, reply, done) => {
    parts.logger.debug(
      {
        method: request.method,
        url: request.url,
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime),
      },
      'http request',
    );
    done();
  });
  healthRoutes(app, parts);
  prometheusRoutes(app, parts);
  incidentRoutes(app, parts);
  intakeRoutes(app, parts);
  runRoutes(app, parts);
  approvalRoutes(app, parts);
  lbRoutes(app, parts);
  runbookRoutes(app, parts);
  silenceRoutes(app, parts);
  probeRoutes(app, parts);
  agentRoutes(app, parts);
  const limits = parts.config().config.remote_write_receiver;
  writeRoutes(app, parts, {
    maxBodyBytes: limits.max_body_bytes,
    maxDecompressedBytes: limits.max_decompressed_bytes,
    maxLabelsPerSeries: limits.max_labels_per_series,
    maxLabelNameLength: limits.max_label_name_length,
    maxLabelValueLength: limits.max_label_value_length,
  });
  for (const [url, file] of Object.entries(UI_FILES)) {
    const path = new URL(`../../ui/${file}`, import.meta.url);
    app.get(url, { config: { role: 'public' } }, async (_request, reply) => {
      const type = CONTENT_TYPES[file.split('.').pop() ?? ''] ?? 'application/octet-stream';
      return reply
        .type(type)
        .header('cache-control', 'no-cache')
        .send(await readFile(path));
    });
  }
  await app.ready();
  return app;
}
