import type { FastifyInstance } from 'fastify';
import type { ServerParts } from '../ServerParts.js';

/** Health, readiness, swas's own metrics, and config reload. */
export function healthRoutes(app: FastifyInstance, parts: ServerParts): void {
  app.get('/-/healthy', { config: { role: 'public' } }, (_request, reply) =>
    reply.type('text/plain').send('swas is Healthy.\n'),
  );

  app.get('/-/ready', { config: { role: 'public' } }, (_request, reply) => {
    const state = parts.lifecycle();
    if (state === 'running') return reply.type('text/plain').send('swas is Ready.\n');
    return reply.status(503).type('text/plain').send(`swas is not ready: ${state}\n`);
  });

  app.get('/metrics', async (_request, reply) => {
    return reply.type(parts.registry.contentType).send(await parts.registry.metrics());
  });

  app.post('/-/reload', { config: { role: 'admin' } }, async (_request, reply) => {
    const result = await parts.reload();
    if (result.ok) return { status: 'reloaded' };
    return reply.status(400).send({ error: { code: 'SWAS-CFG-001', message: result.error } });
  });
}
