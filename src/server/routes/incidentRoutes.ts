import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { NotFoundError } from '../../core/index.js';
import type { ServerParts } from '../ServerParts.js';
import { parseInput } from './validate.js';

const idParam = z.strictObject({
  id: z.coerce.number().int().positive({ message: 'must be a positive incident id' }),
});
const listQuery = z.strictObject({
  status: z.enum(['open', 'acknowledged', 'resolved', 'unresolved']).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  before: z.coerce.number().int().positive().optional(),
});

/** Incidents: list, detail with timeline and runs, acknowledge, resolve. */
export function incidentRoutes(app: FastifyInstance, parts: ServerParts): void {
  const { store } = parts;

  app.get('/api/v1/incidents', async (request) => {
    const q = parseInput(listQuery, request.query, 'query');
    const status = q.status === 'unresolved' ? (['open', 'acknowledged'] as const) : q.status;
    const incidents = await store.incidents.list({ status, limit: q.limit, beforeId: q.before });
    const next = incidents.length === q.limit ? (incidents.at(-1)?.id ?? null) : null;
    return { incidents, next };
  });

  app.get('/api/v1/incidents/:id', async (request) => {
    const { id } = parseInput(idParam, request.params, 'path');
    const incident = await store.incidents.get(id);
    if (incident === null) throw new NotFoundError('SWAS-API-404', `incident ${id} does not exist`);
    const [timeline, runs] = await Promise.all([
      store.timeline.list(id),
      store.runs.list({ incidentId: id, limit: 100 }),
    ]);
    const withSteps = await Promise.all(runs.map((r) => store.runs.get(r.id)));
    return { incident, timeline, runs: withSteps.filter((r) => r !== null) };
  });

  app.post('/api/v1/incidents/:id/ack', async (request) => {
    const { id } = parseInput(idParam, request.params, 'path');
    const incident = await parts.incidents.acknowledge(id, request.identity?.name ?? 'unknown');
    if (incident === null) throw new NotFoundError('SWAS-API-404', `incident ${id} does not exist`);
    return { incident };
  });

  app.post('/api/v1/incidents/:id/resolve', async (request) => {
    const { id } = parseInput(idParam, request.params, 'path');
    const incident = await parts.incidents.resolve(id, request.identity?.name ?? 'unknown');
    if (incident === null) throw new NotFoundError('SWAS-API-404', `incident ${id} does not exist`);
    return { incident };
  });
}
