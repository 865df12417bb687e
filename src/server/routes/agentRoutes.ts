import type { FastifyInstance } from 'fastify';
import { Counter } from 'prom-client';
import { z } from 'zod';
import {
  AuthenticationError,
  ConflictError,
  formatDuration,
  InputError,
  NotFoundError,
  parseDuration,
} from '../../core/index.js';
import { AGENT_NAME_PATTERN, type Agent } from '../../store/index.js';
import type { ServerParts } from '../ServerParts.js';
import { FailureWindow } from './FailureWindow.js';
import { parseInput } from './validate.js';

const DEFAULT_TTL = '1h';
const MAX_TTL_MS = 7 * 24 * 3_600_000;

const labels = z.record(
  z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, { message: 'label names are letters, digits and _' }),
  z.string({ message: 'label values must be strings' }).max(1024),
  { message: 'must be an object of label names to string values' },
);
const tokenBody = z.strictObject({
  ttl: z.string({ message: 'must be a duration such as 1h or 30m' }).default(DEFAULT_TTL),
  labels: labels.default({}),
});
const enrollBody = z.strictObject({
  token: z.string({ message: 'is required: the enrollment token (swas_enroll_…)' }).min(1).max(256),
  name: z.string({ message: 'is required: the agent name, e.g. its hostname' }).regex(AGENT_NAME_PATTERN, {
    message: "use 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit",
  }),
  hostname: z.string({ message: 'is required: the host the agent runs on' }).min(1).max(253),
  labels: labels.default({}),
});
const nameParam = z.strictObject({
  name: z.string().regex(AGENT_NAME_PATTERN, { message: 'is not an agent name' }),
});

/** Reads the enrollment token lifetime: a duration text, more than 0 and at most 7 days. */
function ttlMs(text: string): number {
  const ms = parseDuration(text);
  if (ms === null || ms <= 0 || ms > MAX_TTL_MS) {
    throw new InputError(
      'SWAS-API-001',
      `invalid body: ttl: ${JSON.stringify(text)} is not a duration from 1s to ${formatDuration(MAX_TTL_MS)}; write e.g. 1h or 2d`,
    );
  }
  return ms;
}

/** An agent as the API shows it, with whether it has a live connection now. */
function agentView(agent: Agent, parts: ServerParts, live: ReadonlySet<string>) {
  const connected = agent.revokedAt === null && live.has(agent.name);
  return {
    id: agent.id,
    name: agent.name,
    hostname: agent.hostname,
    labels: agent.labels,
    connected,
    lastSeenAt: (connected ? parts.agents.lastSeen(agent.name) : null) ?? agent.lastSeenAt,
    version: agent.version,
    configVersion: agent.configVersion,
    /** Why the agent refused the config last pushed to it (it keeps running configVersion), or null. */
    configError: parts.agents.configError(agent.name),
    createdAt: agent.createdAt,
    revokedAt: agent.revokedAt,
    revokedBy: agent.revokedBy,
  };
}

/** Options for {@link agentRoutes}. */
export interface AgentRoutesOptions {
  /** Refused enrollment tokens per client address per minute before enrollment answers 429. @default 10 */
  readonly maxEnrollFailuresPerMinute?: number;
}

/** Agents: enrollment tokens (admin), enrollment (the token is the credential), list, revoke (admin). */
export function agentRoutes(
  app: FastifyInstance,
  parts: ServerParts,
  options: AgentRoutesOptions = {},
): void {
  const { store } = parts;
  // Enrollment is public: without a limit, anyone who reaches the port could guess tokens at full speed.
  const enrollFailures = new FailureWindow({
    limit: options.maxEnrollFailuresPerMinute ?? 10,
    windowMs: 60_000,
  });
  const enrollRefused = new Counter({
    name: 'swas_agent_enroll_refused_total',
    help: 'Agent enrollments refused, by reason (unknown_token, used_token, expired_token, name_taken, invalid_request, rate_limited).',
    labelNames: ['reason'],
    registers: [parts.registry],
  });

  app.post('/api/v1/agents/enrollment-tokens', { config: { role: 'admin' } }, async (request, reply) => {
    const body = parseInput(tokenBody, request.body, 'body');
    const now = parts.now();
    const actor = request.identity?.name ?? 'unknown';
    const created = await store.agents.createEnrollmentToken(
      { createdBy: actor, ttlMs: ttlMs(body.ttl), labels: body.labels },
      now,
    );
    await store.audit.append({
      at: now,
      actor,
      action: 'agent.enrollment_token.create',
      target: `enrollment-token:${created.id}`,
      reason: null,
      before: null,
      after: { id: created.id, expiresAt: created.expiresAt, labels: body.labels },
      result: 'ok',
    });
    return reply.status(201).send({ id: created.id, token: created.token, expiresAt: created.expiresAt });
  });

  // Public: the enrollment token in the body is the credential.
  app.post('/api/v1/agents/enroll', { config: { role: 'public' } }, async (request, reply) => {
    const now = parts.now();
    const waitMs = enrollFailures.blockedFor(request.ip, now);
    if (waitMs > 0) {
      enrollRefused.inc({ reason: 'rate_limited' });
      const seconds = Math.ceil(waitMs / 1000);
      return reply
        .status(429)
        .header('retry-after', String(seconds))
        .send({
          error: {
            code: 'SWAS-AGENT-015',
            message: `too many refused enrollment tokens from ${request.ip}; try again in ${seconds} s with a valid token (create one with \`swas agent token create\`)`,
          },
        });
    }
    let body: z.output<typeof enrollBody>;
    try {
      body = parseInput(enrollBody, request.body, 'body');
    } catch (error) {
      enrollRefused.inc({ reason: 'invalid_request' });
      throw error;
    }
    const result = await store.agents.enroll(body, now);
    if (!result.ok) {
      enrollRefused.inc({ reason: result.reason });
      // Only token refusals count towards the limit: they are what guessing produces.
      const failures = result.reason === 'name_taken' ? null : enrollFailures.fail(request.ip, now);
      parts.logger.warn(
        { ip: request.ip, name: body.name, reason: result.reason, failures },
        'agent enrollment refused',
      );
      if (result.reason === 'name_taken') throw new ConflictError('SWAS-AGENT-011', result.message);
      throw new AuthenticationError('SWAS-AGENT-010', result.message);
    }
    await store.audit.append({
      at: now,
      actor: `agent:${result.agent.name}`,
      action: 'agent.enroll',
      target: `agent:${result.agent.name}`,
      reason: null,
      before: null,
      after: { id: result.agent.id, hostname: result.agent.hostname, labels: result.agent.labels },
      result: 'ok',
    });
    parts.logger.info({ agent: result.agent.name, hostname: result.agent.hostname }, 'agent enrolled');
    return reply.status(201).send({
      agent: { id: result.agent.id, name: result.agent.name },
      credential: result.credential,
      // The key the agent pins: it runs only action requests signed with it.
      actionKey: parts.agents.actionKey(),
    });
  });

  app.get('/api/v1/agents', async () => {
    const live = new Set(parts.agents.connected());
    const agents = await store.agents.list();
    return { agents: agents.map((a) => agentView(a, parts, live)) };
  });

  app.delete('/api/v1/agents/:name', { config: { role: 'admin' } }, async (request) => {
    const { name } = parseInput(nameParam, request.params, 'path');
    const now = parts.now();
    const actor = request.identity?.name ?? 'unknown';
    const revoked = await store.agents.revoke(name, actor, now);
    if (revoked === null) {
      throw new NotFoundError(
        'SWAS-API-404',
        `no enrolled agent named "${name}" that is not already revoked`,
      );
    }
    const wasConnected = parts.agents.disconnect(name, 'agent credential revoked');
    await store.audit.append({
      at: now,
      actor,
      action: 'agent.revoke',
      target: `agent:${name}`,
      reason: null,
      before: { id: revoked.id, revokedAt: null },
      after: { id: revoked.id, revokedAt: now, disconnected: wasConnected },
      result: 'ok',
    });
    return { agent: agentView(revoked, parts, new Set()), disconnected: wasConnected };
  });
}
