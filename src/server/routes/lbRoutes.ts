import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { InputError, parseDuration, type GuardDecision } from '../../core/index.js';
import type { LoadBalancer } from '../../lb/index.js';
import {
  addPoolMember,
  changeMember,
  removePoolMember,
  lbForPool,
  MANUAL_OPS,
  type ManualOp,
  type ManualOpsDeps,
  type MemberChangeResult,
} from '../../runbooks/index.js';
import type { ServerParts } from '../ServerParts.js';
import { parseInput } from './validate.js';

const poolParams = z.strictObject({ pool: z.string().min(1) });
const memberOnlyParams = z.strictObject({ pool: z.string().min(1), member: z.string().min(1) });
const memberParams = z.strictObject({
  pool: z.string().min(1),
  member: z.string().min(1),
  op: z.enum(['drain', 'maint', 'ready', 'weight'] satisfies readonly ManualOp[], {
    error: `the operation is one of ${MANUAL_OPS.join(', ')}`,
  }),
});
const changeBody = z.strictObject({
  reason: z.string().max(1000).optional(),
  force: z.boolean().default(false),
  weight: z.number().int().min(0).max(256).optional(),
});

/** Stable code of a change the pool guards (or a run holding the member) refused. */
export const GUARD_REFUSED_CODE = 'SWAS-LB-GUARD';

/** The pools swas may act on, from swas.yaml's load_balancers[].pools. */
function knownPools(parts: ServerParts): string[] {
  return parts.config().config.load_balancers.flatMap((l) => l.pools);
}

/** The load-balancer directory `swas lb` reads, from the current config and adapters. */
function manualOpsDeps(parts: ServerParts): ManualOpsDeps {
  return {
    lbs: {
      forPool(pool: string): LoadBalancer | null {
        const config = parts.config().config.load_balancers.find((l) => l.pools.includes(pool));
        return parts.loadBalancers().find((lb) => lb.name === config?.name) ?? null;
      },
    },
    poolGuard: parts.poolGuard,
    runs: parts.store.runs,
    audit: parts.store.audit,
    now: parts.now,
    knownPools: () => knownPools(parts),
  };
}

/** Every guard's verdict on its own line, for people reading the 409 (and `swas lb`). */
function describeGuards(guards: readonly GuardDecision[]): string {
  return guards.map((g) => `\n  ${g.ok ? 'ok' : 'REFUSED'}  ${g.guard}: ${g.detail}`).join('');
}

function refusalMessage(result: Extract<MemberChangeResult, { result: 'refused' }>): string {
  return `${result.reason}${describeGuards(result.guards)}\nSend force: true (\`swas lb … --force\`) to act anyway; the audit log records it.`;
}

const addBody = z.strictObject({
  name: z.string().min(1).max(128),
  address: z.string().min(1).max(64).describe('IPv4 or IPv6'),
  port: z.number().int().min(1).max(65535),
  weight: z.number().int().min(1).max(256).default(1),
  slowstart: z
    .string()
    .optional()
    .transform((text, ctx) => {
      if (text === undefined) return 0;
      const ms = parseDuration(text);
      if (ms === null) {
        ctx.addIssue({ code: 'custom', message: `"${text}" is not a duration like 10s` });
        return z.NEVER;
      }
      return ms;
    }),
  reason: z.string().max(1000).optional(),
});
const removeBody = z
  .strictObject({ reason: z.string().max(1000).optional(), force: z.boolean().default(false) })
  .default({ force: false });

/** `swas lb` over HTTP: one pool's members, and drain | maint | ready | weight with the pool guards. */
export function lbRoutes(app: FastifyInstance, parts: ServerParts): void {
  const deps = manualOpsDeps(parts);

  app.get('/api/v1/pools/:pool/members', async (request) => {
    const { pool } = parseInput(poolParams, request.params, 'path');
    const lb = lbForPool(deps, pool);
    return { pool, loadBalancer: lb.name, members: await lb.listMembers(pool) };
  });

  app.post(
    '/api/v1/pools/:pool/members/:member/:op',
    { config: { role: 'operator' } },
    async (request, reply) => {
      const { pool, member, op } = parseInput(memberParams, request.params, 'path');
      const body = parseInput(changeBody, request.body, 'body');
      if (op === 'weight' && body.weight === undefined)
        throw new InputError(
          'SWAS-API-001',
          'invalid body: weight: the weight operation needs a weight 0..256',
        );
      if (op !== 'weight' && body.weight !== undefined)
        throw new InputError(
          'SWAS-API-001',
          `invalid body: weight: only the weight operation takes a weight, not ${op}`,
        );
      const result = await changeMember(deps, {
        pool,
        member,
        op,
        weight: body.weight,
        reason: body.reason ?? null,
        force: body.force,
        actor: request.identity?.name ?? 'unknown',
      });
      if (result.result === 'refused')
        return reply.status(409).send({
          error: { code: GUARD_REFUSED_CODE, message: refusalMessage(result) },
          guards: result.guards,
          heldBy: result.heldBy,
        });
      return { pool, member, op, ...result };
    },
  );

  app.post('/api/v1/pools/:pool/members', { config: { role: 'operator' } }, async (request, reply) => {
    const { pool } = parseInput(poolParams, request.params, 'path');
    const body = parseInput(addBody, request.body, 'body');
    const after = await addPoolMember(deps, {
      pool,
      name: body.name,
      address: body.address,
      port: body.port,
      weight: body.weight,
      slowstartMs: body.slowstart,
      reason: body.reason ?? null,
      actor: request.identity?.name ?? 'unknown',
    });
    return reply.status(201).send({ pool, member: body.name, after });
  });

  app.delete(
    '/api/v1/pools/:pool/members/:member',
    { config: { role: 'operator' } },
    async (request, reply) => {
      const { pool, member } = parseInput(memberOnlyParams, request.params, 'path');
      const body = parseInput(removeBody, request.body ?? undefined, 'body');
      const result = await removePoolMember(deps, {
        pool,
        member,
        reason: body.reason ?? null,
        force: body.force,
        actor: request.identity?.name ?? 'unknown',
      });
      if (!result.removed)
        return reply.status(409).send({ error: { code: GUARD_REFUSED_CODE, message: result.reason } });
      return { pool, member, removed: true };
    },
  );
}
