import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import {
  formatDuration,
  formatMatchers,
  InputError,
  NotFoundError,
  parseDuration,
  parseMatchers,
} from '../../core/index.js';
import type { AlertMatcher } from '../../core/index.js';
import { silenceProblem } from '../../store/index.js';
import type { NewSilence, Silence } from '../../store/index.js';
import type { ServerParts } from '../ServerParts.js';
import { parseInput } from './validate.js';

/** Where a silence is at a moment: `pending` before it starts, `expired` once ended or expired by hand. */
export type SilenceState = 'pending' | 'active' | 'expired';

const idParam = z.strictObject({
  id: z.coerce
    .number({ message: 'must be a positive silence id' })
    .int()
    .positive({ message: 'must be a positive silence id' }),
});
const listQuery = z.strictObject({
  active: z.enum(['true', 'false'], { message: 'must be true or false' }).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});
const time = z.union([z.string(), z.number()], { message: 'must be an RFC 3339 time or epoch milliseconds' });
const createBody = z.strictObject({
  matchers: z.union(
    [
      z.string(),
      z.array(
        z.strictObject({
          name: z.string({ message: 'must be a label name' }),
          type: z.string({ message: 'must be one of =, !=, =~, !~' }),
          value: z.string({ message: 'must be a string' }),
        }),
      ),
    ],
    { message: 'must be a matcher string like alertname="HostDown" or a list of {name, type, value}' },
  ),
  startsAt: time.optional(),
  endsAt: time.optional(),
  duration: z.string({ message: 'must be a duration such as 2h or 30m' }).optional(),
  comment: z.string({ message: 'is required: say why alerts are silenced' }),
});

function badBody(field: string, message: string): InputError {
  return new InputError('SWAS-API-001', `invalid body: ${field}: ${message}`);
}

/** Reads a time given as RFC 3339 text or epoch milliseconds. */
function parseTime(value: string | number, field: string): number {
  const ms = typeof value === 'number' ? value : Date.parse(value);
  const iso = typeof value === 'string' && /^\d{4}-\d\d-\d\dT/.test(value);
  if (!Number.isSafeInteger(ms) || ms < 0 || (typeof value === 'string' && !iso)) {
    throw badBody(
      field,
      `${JSON.stringify(value)} is not a time; write RFC 3339 (2026-01-31T18:00:00Z) or epoch milliseconds`,
    );
  }
  return ms;
}

// The shapes are only checked here; silenceProblem checks names, types and regexes with field paths.
function readMatchers(
  input: string | { name: string; type: string; value: string }[],
): readonly AlertMatcher[] {
  if (typeof input !== 'string') return input as AlertMatcher[];
  const parsed = parseMatchers(input);
  if (!parsed.ok) throw badBody('matchers', parsed.error);
  return parsed.matchers;
}

/** Turns a create request into a silence to store; every refusal names the field and what to do. */
export function silenceFromRequest(body: unknown, createdBy: string, now: number): NewSilence {
  const b = parseInput(createBody, body, 'body');
  const matchers = readMatchers(b.matchers);
  const startsAt = b.startsAt === undefined ? now : parseTime(b.startsAt, 'startsAt');
  let endsAt: number;
  if (b.endsAt !== undefined && b.duration !== undefined) {
    throw badBody('duration', 'give either endsAt or duration, not both');
  } else if (b.endsAt !== undefined) {
    endsAt = parseTime(b.endsAt, 'endsAt');
  } else if (b.duration !== undefined) {
    const ms = parseDuration(b.duration);
    if (ms === null || ms === 0) {
      throw badBody(
        'duration',
        `${JSON.stringify(b.duration)} is not a positive duration; write e.g. 2h or 1h30m`,
      );
    }
    endsAt = startsAt + ms;
  } else {
    throw badBody('endsAt', 'say when the silence ends: give endsAt (a time) or duration (e.g. 2h)');
  }
  if (endsAt <= now) {
    throw badBody(
      'endsAt',
      `${new Date(endsAt).toISOString()} is in the past; a silence must end in the future`,
    );
  }
  const silence: NewSilence = { matchers, startsAt, endsAt, createdBy, comment: b.comment, createdAt: now };
  const problem = silenceProblem(silence);
  if (problem !== null) throw badBody(problem.field, problem.message);
  return silence;
}

/** A silence as the API shows it: with its state now and its matchers as one string. */
export function silenceView(silence: Silence, now: number) {
  let state: SilenceState = 'active';
  if (silence.expiredAt !== null || silence.endsAt <= now) state = 'expired';
  else if (silence.startsAt > now) state = 'pending';
  return {
    ...silence,
    state,
    matchersText: formatMatchers(silence.matchers),
    duration: formatDuration(Math.max(0, silence.endsAt - silence.startsAt)),
  };
}

/** Silences: list, detail, create (operator), expire (operator); changes are audited. */
export function silenceRoutes(app: FastifyInstance, parts: ServerParts): void {
  const { store } = parts;

  // The silence is stored either way; a failure to re-check alerts now is retried by the manager's own
  // periodic re-read of silences, so it is logged rather than failing the request.
  const silencesChanged = async (): Promise<void> => {
    try {
      await parts.incidents.silencesChanged();
    } catch (error) {
      parts.logger.error({ err: error }, 'applying changed silences to open alerts failed');
    }
  };

  app.get('/api/v1/silences', async (request) => {
    const q = parseInput(listQuery, request.query, 'query');
    const now = parts.now();
    const silences = await store.silences.list(
      q.active === 'true'
        ? { activeAt: now, limit: q.limit }
        : q.active === 'false'
          ? { inactiveAt: now, includeExpired: true, limit: q.limit }
          : { includeExpired: true, limit: q.limit },
    );
    return { silences: silences.map((s) => silenceView(s, now)) };
  });

  app.get('/api/v1/silences/:id', async (request) => {
    const { id } = parseInput(idParam, request.params, 'path');
    const silence = await store.silences.get(id);
    if (silence === null) throw new NotFoundError('SWAS-API-404', `silence ${id} does not exist`);
    return { silence: silenceView(silence, parts.now()) };
  });

  app.post('/api/v1/silences', async (request, reply) => {
    const now = parts.now();
    const actor = request.identity?.name ?? 'unknown';
    const silence = await store.silences.create(silenceFromRequest(request.body, actor, now));
    await store.audit.append({
      at: now,
      actor,
      action: 'silence.create',
      target: `silence:${silence.id}`,
      reason: silence.comment,
      before: null,
      after: silence,
      result: 'ok',
    });
    await silencesChanged();
    return reply.status(201).send({ silence: silenceView(silence, now) });
  });

  app.delete('/api/v1/silences/:id', async (request) => {
    const { id } = parseInput(idParam, request.params, 'path');
    const now = parts.now();
    const before = await store.silences.get(id);
    if (before === null) throw new NotFoundError('SWAS-API-404', `silence ${id} does not exist`);
    const after = (await store.silences.expire(id, now)) ?? before;
    // Expiring twice is not a second change: audit and re-apply only the first.
    if (before.expiredAt === null) {
      await store.audit.append({
        at: now,
        actor: request.identity?.name ?? 'unknown',
        action: 'silence.expire',
        target: `silence:${id}`,
        reason: null,
        before,
        after,
        result: 'ok',
      });
      await silencesChanged();
    }
    return { silence: silenceView(after, now) };
  });
}
