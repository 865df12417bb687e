import type { Kysely, Selectable } from 'kysely';
import { compileAnchoredRegex } from '../tsdb/index.js';
import { StoreInputError } from './errors.js';
import { fromJson, toJson } from './json.js';
import { checkLimit } from './queryOptions.js';
import type { SilencesTable, StoreDatabase } from './schema.js';
import type { NewSilence, Silence, SilenceMatcher, SilenceRepository } from './types.js';

const MATCH_TYPES: readonly string[] = ['=', '!=', '=~', '!~'];
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** What is wrong with a silence, and where: `field` is a path into the silence such as `matchers[1].value`. */
export interface SilenceProblem {
  readonly field: string;
  readonly message: string;
}

/** True when a matcher holds for an alert that lacks the label (a missing label is the empty value). */
function matchesEmpty(m: SilenceMatcher): boolean {
  switch (m.type) {
    case '=':
      return m.value === '';
    case '!=':
      return m.value !== '';
    default: {
      const compiled = compileAnchoredRegex(m.value);
      const hit = compiled.ok && compiled.regex.test('');
      return m.type === '=~' ? hit : !hit;
    }
  }
}

/** Checks one matcher; regexes must compile as RE2 (fully anchored, as Alertmanager reads them). */
function matcherProblem(m: unknown, field: string): SilenceProblem | null {
  if (typeof m !== 'object' || m === null) {
    return {
      field,
      message: 'is not an object; write {"name": "alertname", "type": "=", "value": "HostDown"}',
    };
  }
  const { name, type, value } = m as Record<string, unknown>;
  if (typeof name !== 'string' || !LABEL_NAME.test(name)) {
    return {
      field: `${field}.name`,
      message: `${JSON.stringify(name)} is not a label name; use letters, digits and _ , not starting with a digit`,
    };
  }
  if (typeof type !== 'string' || !MATCH_TYPES.includes(type)) {
    return {
      field: `${field}.type`,
      message: `${JSON.stringify(type)} is not a match type; use one of ${MATCH_TYPES.join(', ')}`,
    };
  }
  if (typeof value !== 'string') {
    return { field: `${field}.value`, message: 'must be a string' };
  }
  if (type === '=~' || type === '!~') {
    const compiled = compileAnchoredRegex(value);
    if (!compiled.ok) {
      return { field: `${field}.value`, message: `${compiled.error}; fix the pattern (RE2 syntax)` };
    }
  }
  return null;
}

/**
 * Returns the first problem with a silence, or null: at least one matcher, valid names, types and
 * regexes, at least one matcher that does not match the empty string (else the silence would mute
 * every alert, as Alertmanager also refuses), whole-millisecond times with `endsAt > startsAt`,
 * a non-empty comment and creator.
 */
export function silenceProblem(silence: NewSilence): SilenceProblem | null {
  const matchers: unknown = silence.matchers;
  if (!Array.isArray(matchers) || matchers.length === 0) {
    return { field: 'matchers', message: 'no matchers given; give at least one, e.g. alertname="HostDown"' };
  }
  for (const [i, m] of matchers.entries()) {
    const problem = matcherProblem(m, `matchers[${i}]`);
    if (problem !== null) return problem;
  }
  if ((matchers as SilenceMatcher[]).every(matchesEmpty)) {
    return {
      field: 'matchers',
      message:
        'every matcher also matches alerts without that label, so the silence would mute all alerts; ' +
        'add a matcher that needs a non-empty value, e.g. alertname="HostDown"',
    };
  }
  for (const key of ['startsAt', 'endsAt', 'createdAt'] as const) {
    const t: unknown = silence[key];
    if (typeof t !== 'number' || !Number.isSafeInteger(t) || t < 0) {
      return { field: key, message: `${String(t)} is not a time; give epoch milliseconds as a whole number` };
    }
  }
  if (silence.endsAt <= silence.startsAt) {
    return {
      field: 'endsAt',
      message: `ends at ${new Date(silence.endsAt).toISOString()}, not after it starts (${new Date(silence.startsAt).toISOString()}); give a later end`,
    };
  }
  if (typeof silence.comment !== 'string' || silence.comment.trim() === '') {
    return { field: 'comment', message: 'is empty; say why alerts are silenced, e.g. "planned DB upgrade"' };
  }
  if (typeof silence.createdBy !== 'string' || silence.createdBy.trim() === '') {
    return { field: 'createdBy', message: 'is empty; say who creates the silence' };
  }
  return null;
}

function checkTime(t: number, where: string): number {
  if (!Number.isSafeInteger(t)) {
    throw new StoreInputError(
      `${where} ${String(t)} is not a time; give epoch milliseconds as a whole number`,
    );
  }
  return t;
}

function toSilence(r: Selectable<SilencesTable>): Silence {
  return {
    id: r.id,
    matchers: fromJson<SilenceMatcher[]>(r.matchers),
    startsAt: r.starts_at,
    endsAt: r.ends_at,
    createdBy: r.created_by,
    comment: r.comment,
    createdAt: r.created_at,
    expiredAt: r.expired_at,
  };
}

/** Silences in the state database. */
export class KyselySilenceRepository implements SilenceRepository {
  constructor(private readonly db: Kysely<StoreDatabase>) {}

  async create(silence: NewSilence): Promise<Silence> {
    const problem = silenceProblem(silence);
    if (problem !== null) throw new StoreInputError(`silences.create: ${problem.field}: ${problem.message}`);
    const row = await this.db
      .insertInto('silences')
      .values({
        // Only the three fields, so extra properties a caller passed are not stored.
        matchers: toJson(silence.matchers.map((m) => ({ name: m.name, type: m.type, value: m.value }))),
        starts_at: silence.startsAt,
        ends_at: silence.endsAt,
        created_by: silence.createdBy,
        comment: silence.comment,
        created_at: silence.createdAt,
        expired_at: null,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toSilence(row);
  }

  async get(id: number): Promise<Silence | null> {
    const r = await this.db.selectFrom('silences').selectAll().where('id', '=', id).executeTakeFirst();
    return r === undefined ? null : toSilence(r);
  }

  async list(
    options: { activeAt?: number; inactiveAt?: number; includeExpired?: boolean; limit?: number } = {},
  ): Promise<Silence[]> {
    const limit = checkLimit(options.limit, 100, 'silences.list');
    let query = this.db.selectFrom('silences').selectAll();
    if (options.activeAt !== undefined) {
      const t = checkTime(options.activeAt, 'silences.list: activeAt');
      query = query.where('starts_at', '<=', t).where('ends_at', '>', t);
    }
    if (options.inactiveAt !== undefined) {
      const t = checkTime(options.inactiveAt, 'silences.list: inactiveAt');
      query = query.where((eb) =>
        eb.or([eb('starts_at', '>', t), eb('ends_at', '<=', t), eb('expired_at', 'is not', null)]),
      );
    }
    // An expired silence never applies again, whatever its window says.
    if (options.activeAt !== undefined || options.includeExpired !== true) {
      query = query.where('expired_at', 'is', null);
    }
    const rows = await query.orderBy('id', 'desc').limit(limit).execute();
    return rows.map(toSilence);
  }

  async expire(id: number, at: number): Promise<Silence | null> {
    checkTime(at, 'silences.expire: at');
    const current = await this.get(id);
    if (current === null || current.expiredAt !== null) return current;
    // Only an unexpired row is updated, so of two concurrent expiries the first one's time stays.
    const r = await this.db
      .updateTable('silences')
      .set({ expired_at: at, ends_at: Math.min(current.endsAt, at) })
      .where('id', '=', id)
      .where('expired_at', 'is', null)
      .returningAll()
      .executeTakeFirst();
    return r === undefined ? this.get(id) : toSilence(r);
  }
}
