import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { NotFoundError } from '../../core/index.js';
import type { ServerParts } from '../ServerParts.js';
import { parseInput } from './validate.js';

const listQuery = z.strictObject({
  status: z.enum(['pending', 'running', 'parked', 'succeeded', 'failed', 'cancelled']).optional(),
  incident: z.coerce.number().int().positive().optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

/** Runs, runbooks, pools and the audit log. */
export function runRoutes(app: FastifyInstance, parts: ServerParts): void {
  const { store } = parts;

  app.get('/api/v1/runs', async (request) => {
    const q = parseInput(listQuery, request.query, 'query');
    return { runs: await store.runs.list({ status: q.status, incidentId: q.incident, limit: q.limit }) };
  });

  app.get('/api/v1/runs/:id', async (request) => {
    const { id } = parseInput(z.strictObject({ id: z.string().min(1) }), request.params, 'path');
    const run = await store.runs.get(id);
    if (run === null) throw new NotFoundError('SWAS-API-404', `run ${id} does not exist`);
    return run;
  });

  app.get('/api/v1/runbooks', () => ({
    runbooks: parts.config().runbooks.map(({ file, runbook }) => ({ ...runbook, file })),
  }));

  app.get('/api/v1/pools', async () => {
    const pools = [];
    for (const lb of parts.loadBalancers()) {
      try {
        for (const pool of await lb.listPools())
          pools.push({
            loadBalancer: lb.name,
            ...pool,
            members: await lb.listMembers(pool.name),
            error: null,
          });
      } catch (error) {
        pools.push({
          loadBalancer: lb.name,
          name: null,
          members: [],
          error: error instanceof Error ? error.message : String(error),
        });
      }
    }
    return { pools };
  });

  app.get('/api/v1/audit', async (request) => {
    const q = parseInput(
      z.strictObject({
        after: z.coerce.number().int().min(0).optional(),
        limit: z.coerce.number().int().min(1).max(1000).default(100),
      }),
      request.query,
      'query',
    );
    return { entries: await store.audit.list({ afterSeq: q.after, limit: q.limit }) };
  });

  app.get('/api/v1/audit/verify', { config: { role: 'admin' } }, async () => store.audit.verify());
}
