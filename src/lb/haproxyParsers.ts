import type { LbErrorKind } from './LbError.js';
import type { MemberAdminState, MemberOperationalState, PoolMember, PoolSummary } from './LoadBalancer.js';

// Pure functions over HAProxy runtime-API text (checked against HAProxy 2.6; see fixtures/README.md).

/** A parse outcome: the value, or a sentence saying what was wrong and where. */
export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: string };

/** One row of `show servers state`. */
export interface ServerStateRow {
  readonly backendId: number;
  readonly backend: string;
  readonly server: string;
  readonly address: string;
  readonly port: number | null;
  readonly opState: number;
  readonly adminFlags: number;
  readonly userWeight: number;
  readonly initialWeight: number;
}

/** One row of `show stat` CSV, reduced to what swas reads. */
export interface StatRow {
  readonly proxy: string;
  /** Server name, or 'BACKEND' / 'FRONTEND' for the proxy's own rows. */
  readonly service: string;
  readonly status: string;
  readonly activeSessions: number | null;
  readonly totalSessions: number | null;
  readonly throttlePercent: number | null;
  readonly checkStatus: string | null;
}

// enum srv_admin in HAProxy's include/haproxy/server-t.h.
const ADMF_FMAINT = 0x01;
const ADMF_IMAINT = 0x02;
const ADMF_CMAINT = 0x04;
const ADMF_FDRAIN = 0x08;
const ADMF_IDRAIN = 0x10;
const ADMF_RMAINT = 0x20;
const ADMF_HMAINT = 0x40;
// HAProxy's own SRV_ADMF_MAINT mask: CMAINT only remembers that `disabled` was in the config (it is always
// paired with FMAINT, and stays set after `state ready` clears FMAINT), and HMAINT means "FQDN set from the
// CLI". Neither takes the server out of service on its own.
const MAINT_MASK = ADMF_FMAINT | ADMF_IMAINT | ADMF_RMAINT;
const DRAIN_MASK = ADMF_FDRAIN | ADMF_IDRAIN;

const ADMIN_FLAG_NAMES: ReadonlyArray<readonly [number, string]> = [
  [ADMF_FMAINT, 'maint set by command'],
  [ADMF_IMAINT, 'maint inherited from a tracked server'],
  [ADMF_CMAINT, 'disabled in the config file'],
  [ADMF_FDRAIN, 'drain set by command'],
  [ADMF_IDRAIN, 'drain inherited from a tracked server'],
  [ADMF_RMAINT, 'maint because its DNS name did not resolve'],
  [ADMF_HMAINT, 'FQDN set from the runtime API'],
];

/** Maps the `srv_admin_state` bitfield to an admin state; maintenance wins over drain. */
export function adminStateFromFlags(flags: number): MemberAdminState {
  if ((flags & MAINT_MASK) !== 0) return 'maint';
  if ((flags & DRAIN_MASK) !== 0) return 'drain';
  return 'ready';
}

/** Names the bits of `srv_admin_state`, for messages that explain why a member is in a state. */
export function describeAdminFlags(flags: number): string[] {
  return ADMIN_FLAG_NAMES.filter(([bit]) => (flags & bit) !== 0).map(([, name]) => name);
}

/** True when a state comes only from a tracked server, so `set server … state` cannot change it. */
export function isInheritedState(flags: number, state: MemberAdminState): boolean {
  if (state === 'maint') return (flags & MAINT_MASK) === ADMF_IMAINT;
  if (state === 'drain') return (flags & DRAIN_MASK) === ADMF_IDRAIN;
  return false;
}

const OPERATIONAL_STATES: readonly MemberOperationalState[] = ['down', 'starting', 'up', 'stopping'];

/** Maps `srv_op_state` (enum srv_state: stopped, starting, running, stopping) to an operational state. */
export function operationalStateFromCode(code: number): MemberOperationalState | null {
  return OPERATIONAL_STATES[code] ?? null;
}

const STATE_NUMERIC_COLUMNS = [
  'be_id',
  'srv_op_state',
  'srv_admin_state',
  'srv_uweight',
  'srv_iweight',
  'srv_port',
] as const;
const STATE_COLUMNS = ['be_name', 'srv_name', 'srv_addr', 'srv_fqdn', ...STATE_NUMERIC_COLUMNS] as const;
type StateColumn = (typeof STATE_COLUMNS)[number];

/** Parses `show servers state [<backend>]` (format version 1). */
export function parseServersState(text: string): ParseResult<ServerStateRow[]> {
  const lines = text.split('\n');
  const version = lines[0]?.trim() ?? '';
  if (version !== '1') {
    return fail(
      `expected format version "1" on line 1 of "show servers state", got ${quoteExcerpt(version)}`,
    );
  }
  const header = lines[1] ?? '';
  if (!header.startsWith('# '))
    return fail(`expected a "# be_id …" header on line 2, got ${quoteExcerpt(header)}`);
  const names = header.slice(2).trim().split(' ');
  const index = columnIndex(names, STATE_COLUMNS, 'show servers state');
  if (!index.ok) return index;
  const rows: ServerStateRow[] = [];
  for (let i = 2; i < lines.length; i++) {
    const line = lines[i]?.trim() ?? '';
    if (line === '') continue;
    const fields = line.split(' ');
    if (fields.length !== names.length) {
      return fail(
        `line ${i + 1} of "show servers state" has ${fields.length} fields, the header ${names.length}`,
      );
    }
    const row = parseStateRow((column) => fields[index.value.get(column) ?? -1] ?? '');
    if (!row.ok) return fail(`line ${i + 1} of "show servers state": ${row.error}`);
    rows.push(row.value);
  }
  return { ok: true, value: rows };
}

function parseStateRow(get: (column: StateColumn) => string): ParseResult<ServerStateRow> {
  const numbers = new Map<StateColumn, number>();
  for (const column of STATE_NUMERIC_COLUMNS) {
    const value = parseWholeNumber(get(column));
    if (value === null) return fail(`${column} is ${quoteExcerpt(get(column))}, not a number`);
    numbers.set(column, value);
  }
  const num = (column: StateColumn): number => numbers.get(column) ?? 0;
  const address = get('srv_addr');
  const fqdn = get('srv_fqdn');
  return {
    ok: true,
    value: {
      backendId: num('be_id'),
      backend: get('be_name'),
      server: get('srv_name'),
      // A server whose name never resolved has no address yet; its FQDN is the useful thing to show.
      address: address !== '-' ? address : fqdn !== '-' ? fqdn : '',
      // Port 0 means "no port of its own": HAProxy connects to the client's destination port.
      port: num('srv_port') === 0 ? null : num('srv_port'),
      opState: num('srv_op_state'),
      adminFlags: num('srv_admin_state'),
      userWeight: num('srv_uweight'),
      initialWeight: num('srv_iweight'),
    },
  };
}

const STAT_COLUMNS = ['pxname', 'svname', 'scur', 'stot', 'status', 'throttle', 'check_status'] as const;

/** Parses `show stat` CSV output. */
export function parseStatCsv(text: string): ParseResult<StatRow[]> {
  const lines = text.split('\n');
  const header = lines[0] ?? '';
  if (!header.startsWith('# '))
    return fail(`expected a "# pxname,svname,…" CSV header, got ${quoteExcerpt(header)}`);
  const names = splitCsvLine(header.slice(2));
  if (!names.ok) return fail(`the "show stat" header: ${names.error}`);
  const index = columnIndex(names.value, STAT_COLUMNS, 'show stat');
  if (!index.ok) return index;
  const rows: StatRow[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (line.trim() === '') continue;
    const fields = splitCsvLine(line);
    if (!fields.ok) return fail(`line ${i + 1} of "show stat": ${fields.error}`);
    if (fields.value.length !== names.value.length) {
      return fail(
        `line ${i + 1} of "show stat" has ${fields.value.length} fields, the header ${names.value.length}`,
      );
    }
    const get = (column: (typeof STAT_COLUMNS)[number]): string =>
      fields.value[index.value.get(column) ?? -1] ?? '';
    const numbers: Record<'scur' | 'stot' | 'throttle', number | null> = {
      scur: null,
      stot: null,
      throttle: null,
    };
    for (const column of ['scur', 'stot', 'throttle'] as const) {
      const raw = get(column);
      if (raw === '') continue;
      const value = parseWholeNumber(raw);
      if (value === null)
        return fail(`line ${i + 1} of "show stat": ${column} is ${quoteExcerpt(raw)}, not a number`);
      numbers[column] = value;
    }
    // A check in progress is shown as "* L7OK".
    const checkStatus = get('check_status').replace(/^\* /, '');
    rows.push({
      proxy: get('pxname'),
      service: get('svname'),
      status: get('status'),
      activeSessions: numbers.scur,
      totalSessions: numbers.stot,
      throttlePercent: numbers.throttle,
      checkStatus: checkStatus === '' ? null : checkStatus,
    });
  }
  return { ok: true, value: rows };
}

/** Splits one CSV line the way HAProxy writes it (fields with separators are double-quoted, quotes doubled). */
export function splitCsvLine(line: string): ParseResult<string[]> {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    if (line[i] === '"') {
      let value = '';
      i++;
      for (;;) {
        if (i >= line.length) return fail(`unterminated quoted field at column ${fields.length + 1}`);
        if (line[i] === '"' && line[i + 1] === '"') {
          value += '"';
          i += 2;
        } else if (line[i] === '"') {
          i++;
          break;
        } else {
          value += line[i];
          i++;
        }
      }
      if (i < line.length && line[i] !== ',')
        return fail(`text after a closing quote at column ${fields.length + 1}`);
      fields.push(value);
    } else {
      const end = line.indexOf(',', i);
      fields.push(line.slice(i, end === -1 ? line.length : end));
      i = end === -1 ? line.length : end;
    }
    if (i >= line.length) return { ok: true, value: fields };
    i++; // the comma
  }
}

/** Joins `show servers state` with `show stat` server rows; fails naming any member missing from either. */
export function buildPoolMembers(
  states: readonly ServerStateRow[],
  stats: readonly StatRow[],
): ParseResult<PoolMember[]> {
  const statByKey = new Map(stats.map((row) => [`${row.proxy}/${row.service}`, row]));
  const members: PoolMember[] = [];
  for (const state of states) {
    const key = `${state.backend}/${state.server}`;
    const stat = statByKey.get(key);
    if (stat === undefined) return fail(`server ${key} is in "show servers state" but not in "show stat"`);
    const operational = operationalStateFromCode(state.opState);
    if (operational === null) return fail(`server ${key} has an unknown srv_op_state ${state.opState}`);
    members.push({
      pool: state.backend,
      name: state.server,
      address: state.address,
      port: state.port,
      admin: adminStateFromFlags(state.adminFlags),
      operational,
      weight: state.userWeight,
      initialWeight: state.initialWeight,
      activeSessions: stat.activeSessions ?? 0,
      totalSessions: stat.totalSessions ?? 0,
      throttlePercent: stat.throttlePercent,
      checkStatus: stat.checkStatus,
      statusText: stat.status,
    });
  }
  return { ok: true, value: members };
}

/** Summarises pools from `show stat` BACKEND rows and `show servers state`; empty backends are pools too. */
export function summarizePools(states: readonly ServerStateRow[], stats: readonly StatRow[]): PoolSummary[] {
  return stats
    .filter((row) => row.service === 'BACKEND')
    .map((row) => {
      const members = states.filter((state) => state.backend === row.proxy);
      const up = members.filter((state) => state.opState === 1 || state.opState === 2).length;
      return { name: row.proxy, members: members.length, up, status: row.status };
    });
}

/** The error kinds a runtime-API reply can carry (a transport failure is never a reply). */
export type RuntimeReplyErrorKind = Exclude<LbErrorKind, 'unreachable'>;

// HAProxy 2.6 texts (fixtures/runtime-replies.json); the broader patterns also cover other versions.
const REPLY_PATTERNS: ReadonlyArray<readonly [RegExp, RuntimeReplyErrorKind]> = [
  [/^No such (backend|proxy)\b/i, 'no_such_pool'],
  [/^Can't find backend\b/i, 'no_such_pool'],
  [/^No such server\b/i, 'no_such_member'],
  [/^Permission denied/i, 'permission_denied'],
  [/^Require '(operator|admin)' level/i, 'permission_denied'],
  [/^Require 'backend\/server'/i, 'invalid_argument'],
  [/^Require <weight>/i, 'invalid_argument'],
  [/^'set server <srv> state' expects/i, 'invalid_argument'],
  [/^Absolute weight can only be/i, 'invalid_argument'],
  [/^Relative weight/i, 'invalid_argument'],
  [/weight string empty or preceded by garbage/i, 'invalid_argument'],
  [/^Unknown command/i, 'command_failed'],
];

/** Recognises an error reply of the runtime API; null when the text is not a known error. */
export function classifyRuntimeReply(reply: string): { kind: RuntimeReplyErrorKind; text: string } | null {
  const text = reply.trim();
  for (const [pattern, kind] of REPLY_PATTERNS) {
    if (pattern.test(text)) return { kind, text };
  }
  return null;
}

function columnIndex(
  names: readonly string[],
  required: readonly string[],
  command: string,
): ParseResult<Map<string, number>> {
  const index = new Map<string, number>();
  for (const column of required) {
    const at = names.indexOf(column);
    if (at === -1) return fail(`the "${command}" header has no ${column} column`);
    index.set(column, at);
  }
  return { ok: true, value: index };
}

function parseWholeNumber(text: string): number | null {
  return /^-?\d{1,15}$/.test(text) ? Number(text) : null;
}

function quoteExcerpt(text: string): string {
  return JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}…` : text);
}

function fail(error: string): { ok: false; error: string } {
  return { ok: false, error };
}
