import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { formatMatchers, InputError, NotFoundError, parseDuration, parseMatchers } from '../../core/index.js';
import type { AlertMatcher } from '../../core/index.js';
import type { IncidentStatus } from '../../store/index.js';
import { compileAnchoredRegex } from '../../tsdb/index.js';
import type { ServerParts } from '../ServerParts.js';
import { parseInput } from './validate.js';

const idParam = z.strictObject({
  id: z.coerce.number().int().positive({ message: 'must be a positive incident id' }),
});
const STATUSES = ['open', 'acknowledged', 'resolved'] as const;
const oneOrMany = z
  .union([z.string(), z.array(z.string())])
  .transform((v) => (typeof v === 'string' ? [v] : v));
const listQuery = z.strictObject({
  status: oneOrMany.optional(),
  severity: oneOrMany.optional(),
  match: oneOrMany.optional(),
  since: z.string().optional(),
  until: z.string().optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  before: z.coerce
    .number()
    .int()
    .positive({ message: 'must be the `next` value of the previous page' })
    .optional(),
});

function badQuery(param: string, message: string): InputError {
  return new InputError('SWAS-API-001', `invalid query: ${param}: ${message}`);
}

/** Splits repeated and comma-separated values: `status=open,acknowledged` or `status=open&status=…`. */
function words(values: readonly string[]): string[] {
  return values
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

function readStatuses(values: readonly string[] | undefined): IncidentStatus[] | undefined {
  if (values === undefined) return undefined;
  const out = new Set<IncidentStatus>();
  for (const word of words(values)) {
    if (word === 'unresolved') {
      out.add('open').add('acknowledged');
    } else if ((STATUSES as readonly string[]).includes(word)) {
      out.add(word as IncidentStatus);
    } else {
      throw badQuery(
        'status',
        `${JSON.stringify(word)} is unknown; use open, acknowledged, resolved or unresolved`,
      );
    }
  }
  return [...out];
}

/** Reads a time as RFC 3339, epoch milliseconds, or a duration meaning that long ago (`24h`). */
export function readQueryTime(text: string, param: string, now: number): number {
  const ago = parseDuration(text);
  let t = Number.NaN;
  if (/^\d+$/.test(text)) t = Number(text);
  else if (ago !== null) t = now - ago;
  else if (/^\d{4}-\d\d-\d\dT/.test(text)) t = Date.parse(text);
  if (!Number.isSafeInteger(t)) {
    throw badQuery(
      param,
      `${JSON.stringify(text)} is not a time; write RFC 3339 (2026-01-31T18:00:00Z), epoch milliseconds, or a duration ago (24h)`,
    );
  }
  return t;
}

function readMatchers(texts: readonly string[] | undefined): AlertMatcher[] | undefined {
  if (texts === undefined) return undefined;
  const matchers: AlertMatcher[] = [];
  for (const text of texts) {
    const parsed = parseMatchers(text);
    if (!parsed.ok) throw badQuery('match', `${JSON.stringify(text)}: ${parsed.error}`);
    for (const m of parsed.matchers) {
      if (m.type === '=~' || m.type === '!~') {
        const compiled = compileAnchoredRegex(m.value);
        if (!compiled.ok)
          throw badQuery('match', `${formatMatchers([m])}: ${compiled.error}; fix the pattern (RE2 syntax)`);
      }
    }
    matchers.push(...parsed.matchers);
  }
  return matchers;
}

/** The same list URL with `before` moved to the next page. */
function nextPageUrl(url: string, next: number): string {
  const parsed = new URL(url, 'http://swas');
  parsed.searchParams.set('before', String(next));
  return `${parsed.pathname}${parsed.search}`;
}

/** Incidents: list, detail with timeline and runs, acknowledge, resolve. */
export function incidentRoutes(app: FastifyInstance, parts: ServerParts): void {
  const { store } = parts;

  app.get('/api/v1/incidents', async (request) => {
    const q = parseInput(listQuery, request.query, 'query');
    const now = parts.now();
    const since = q.since === undefined ? undefined : readQueryTime(q.since, 'since', now);
    const until = q.until === undefined ? undefined : readQueryTime(q.until, 'until', now);
    if (since !== undefined && until !== undefined && until <= since) {
      throw badQuery('until', 'is not after since; give a later until or an earlier since');
    }
    // One row more than the page tells whether a next page exists, so `next` is never a dead end.
    const rows = await store.incidents.list({
      status: readStatuses(q.status),
      severity: q.severity === undefined ? undefined : words(q.severity),
      matchers: readMatchers(q.match),
      openedSince: since,
      openedUntil: until,
      limit: q.limit + 1,
      beforeId: q.before,
    });
    const incidents = rows.slice(0, q.limit);
    const next = rows.length > q.limit ? (incidents.at(-1)?.id ?? null) : null;
    return { incidents, next, nextUrl: next === null ? null : nextPageUrl(request.url, next) };
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
