import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ConflictError, NotFoundError } from '../../core/index.js';
import type { ServerParts } from '../ServerParts.js';
import { parseInput } from './validate.js';

const body = z.strictObject({
  decision: z.enum(['approved', 'rejected']).default('approved'),
  comment: z.string().max(1000).optional(),
});

// Must match APPROVAL_KEYS in src/runbooks/steps/approvals.ts: the step reads what this route writes.
const DECISION_KEY = 'approval';
const AWAITING_KEY = 'awaiting';

/** `POST /api/v1/runs/:id/approve`: a human approves or rejects the `approve` step a run is waiting at. */
export function approvalRoutes(app: FastifyInstance, parts: ServerParts): void {
  const { store } = parts;
  app.post('/api/v1/runs/:id/approve', { config: { role: 'operator' } }, async (request) => {
    const { id } = parseInput(z.strictObject({ id: z.string().min(1) }), request.params, 'path');
    const input = parseInput(body, request.body, 'body');
    const full = await store.runs.get(id);
    if (full === null) throw new NotFoundError('SWAS-API-404', `run ${id} does not exist`);
    const { run } = full;
    const step = full.steps[run.currentStep];
    const finished = !['pending', 'running', 'parked'].includes(run.status);
    if (
      finished ||
      step === undefined ||
      step.action !== 'approve' ||
      step.status === 'succeeded' ||
      step.status === 'failed'
    )
      throw new ConflictError(
        'SWAS-RB-APPROVE-1',
        `run ${id} is ${run.status} and not waiting for approval${step ? ` (its current step ${run.currentStep + 1} is ${step.action}, ${step.status})` : ''}; see \`swas runbook runs\``,
      );
    const earlier = step.result?.[DECISION_KEY] as { decision: string; by: string } | undefined;
    if (earlier !== undefined)
      throw new ConflictError(
        'SWAS-RB-APPROVE-2',
        `run ${id} was already ${earlier.decision} by ${earlier.by}`,
      );
    const now = parts.now();
    const actor = request.identity?.name ?? 'unknown';
    const decision = { decision: input.decision, by: actor, comment: input.comment ?? null, at: now };
    const updated = await store.runs.updateStep(id, step.index, {
      result: { ...(step.result ?? {}), [DECISION_KEY]: decision },
    });
    await store.audit.append({
      at: now,
      actor,
      action: `run.${input.decision === 'approved' ? 'approve' : 'reject'}`,
      target: `run:${id}`,
      reason: input.comment ?? null,
      before: { step: step.index, awaiting: step.result?.[AWAITING_KEY] ?? null },
      after: decision,
      result: 'ok',
    });
    return { run: id, step: step.index, name: step.name, ...decision, result: updated?.result ?? null };
  });
}
