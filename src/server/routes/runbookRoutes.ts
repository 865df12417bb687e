import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { RunbookConfig } from '../../config/index.js';
import { ConflictError, NotFoundError } from '../../core/index.js';
import type { ServerParts } from '../ServerParts.js';
import { parseInput } from './validate.js';

const nameParams = z.strictObject({ name: z.string().min(1) });
const idParams = z.strictObject({ id: z.string().min(1) });
const labelsBody = z.strictObject({
  labels: z
    .record(
      z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, { message: 'a label name is [a-zA-Z_][a-zA-Z0-9_]*' }),
      z.string(),
    )
    .default({}),
});
const quarantineQuery = z.strictObject({
  active: z.enum(['true', 'false']).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
const quarantineParams = z.strictObject({ id: z.coerce.number().int().positive() });
const UNFINISHED = ['pending', 'running', 'parked'];

function findRunbook(parts: ServerParts, name: string): RunbookConfig {
  const runbooks = parts.config().runbooks.map((r) => r.runbook);
  const found = runbooks.find((r) => r.name === name);
  if (found !== undefined) return found;
  throw new NotFoundError(
    'SWAS-API-404',
    `runbook "${name}" is not loaded; loaded runbooks: ${runbooks.map((r) => r.name).join(', ') || 'none'} (see \`swas runbook list\`)`,
  );
}

function actorOf(request: FastifyRequest): string {
  return `user:${request.identity?.name ?? 'unknown'}`;
}

/** Runbooks started, rehearsed and cancelled by people, and the quarantines automation left behind. */
export function runbookRoutes(app: FastifyInstance, parts: ServerParts): void {
  const { store, executor } = parts;

  // A dry run acts on nothing, so anyone who may read the pools may ask for one.
  app.post('/api/v1/runbooks/:name/dry-run', { config: { role: 'viewer' } }, async (request) => {
    const { name } = parseInput(nameParams, request.params, 'path');
    const { labels } = parseInput(labelsBody, request.body, 'body');
    return executor.dryRun(findRunbook(parts, name), labels);
  });

  app.post('/api/v1/runbooks/:name/run', { config: { role: 'operator' } }, async (request, reply) => {
    const { name } = parseInput(nameParams, request.params, 'path');
    const { labels } = parseInput(labelsBody, request.body, 'body');
    const started = await executor.start(findRunbook(parts, name), {
      labels,
      incidentId: null,
      trigger: { manual: true, by: request.identity?.name ?? 'unknown', labels },
    });
    if (!started.started)
      throw new ConflictError('SWAS-RB-START', `runbook ${name} did not start: ${started.reason}`);
    return reply.status(201).send({ run: started.run });
  });

  app.post('/api/v1/runs/:id/cancel', { config: { role: 'operator' } }, async (request, reply) => {
    const { id } = parseInput(idParams, request.params, 'path');
    const full = await store.runs.get(id);
    if (full === null) throw new NotFoundError('SWAS-API-404', `run ${id} does not exist`);
    const { run } = full;
    if (!UNFINISHED.includes(run.status))
      throw new ConflictError(
        'SWAS-RB-CANCEL-1',
        `run ${id} is already ${run.status}; there is nothing to cancel`,
      );
    const actor = actorOf(request);
    if (!executor.cancel(id, actor))
      throw new ConflictError(
        'SWAS-RB-CANCEL-2',
        `run ${id} is ${run.status} but not executing in this swas process (it resumes or undoes on restart); try again in a moment`,
      );
    await store.audit.append({
      at: parts.now(),
      actor,
      action: 'run.cancel',
      target: `run:${id}`,
      reason: null,
      before: { status: run.status, step: run.currentStep },
      after: { cancelling: true },
      result: 'ok',
    });
    return reply.status(202).send({ run: id, status: run.status, cancelling: true });
  });

  app.get('/api/v1/quarantines', async (request) => {
    const q = parseInput(quarantineQuery, request.query, 'query');
    return { quarantines: await store.quarantines.list({ active: q.active === 'true', limit: q.limit }) };
  });

  app.post('/api/v1/quarantines/:id/release', { config: { role: 'operator' } }, async (request) => {
    const { id } = parseInput(quarantineParams, request.params, 'path');
    const actor = actorOf(request);
    const now = parts.now();
    const released = await store.quarantines.release(id, actor, now);
    if (released === null) throw new NotFoundError('SWAS-API-404', `quarantine ${id} does not exist`);
    if (released.releasedAt !== now || released.releasedBy !== actor)
      throw new ConflictError(
        'SWAS-RB-QUARANTINE-1',
        `quarantine ${id} was already released by ${released.releasedBy ?? 'unknown'} at ${new Date(released.releasedAt ?? 0).toISOString()}`,
      );
    await store.audit.append({
      at: now,
      actor,
      action: 'quarantine.release',
      target: `quarantine:${id}`,
      reason: null,
      before: { target: released.target, runbook: released.runbook, reason: released.reason },
      after: { releasedAt: now },
      result: 'ok',
    });
    const { pool, member } = released.target;
    const next =
      pool !== undefined && member !== undefined
        ? `automation may act on ${pool}/${member} again; if it is still out of rotation, return it with \`swas lb ready ${pool} ${member}\``
        : 'automation may act on the target again';
    return { quarantine: released, next };
  });
}
