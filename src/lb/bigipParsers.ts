import type { MemberAdminState, MemberOperationalState, PoolMember } from './LoadBalancer.js';

/** The outcome of reading one iControl REST answer. */
export type BigIpParse<T> = { ok: true; value: T } | { ok: false; error: string };

/** A pool member's configuration, as `GET /mgmt/tm/ltm/pool/~P~NAME/members` lists it. */
export interface BigIpMemberConfig {
  /** `node:port`, e.g. `web-1:8080` or `10.0.0.1:80` (IPv6: `2001:db8::1.80`). */
  readonly name: string;
  readonly address: string;
  /** `user-enabled`, `user-disabled` or `monitor-enabled`. */
  readonly session: string;
  /** `up`, `down`, `user-up`, `user-down`, `unchecked`, `checking`. */
  readonly state: string;
  readonly ratio: number;
}

/** A pool member's statistics, from `…/members/stats`. */
export interface BigIpMemberStats {
  readonly name: string;
  readonly port: number | null;
  /** `available`, `offline`, `unknown`. */
  readonly availability: string;
  /** `enabled`, `disabled`, `disabled-by-parent`. */
  readonly enabled: string;
  /** The monitor's verdict, e.g. `up`, `down`, `unchecked`, `checking`. */
  readonly monitorStatus: string;
  readonly currentConnections: number;
  readonly totalConnections: number;
}

/** Request bodies that put a member into each admin state (GUI: Enabled, Disabled, Forced Offline). */
export const BIGIP_ADMIN_PATCH: Readonly<Record<MemberAdminState, { session: string; state: string }>> = {
  ready: { session: 'user-enabled', state: 'user-up' },
  drain: { session: 'user-disabled', state: 'user-up' },
  maint: { session: 'user-disabled', state: 'user-down' },
};

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function items(json: unknown, what: string): BigIpParse<Record<string, unknown>[]> {
  if (!isRecord(json)) return { ok: false, error: `${what}: the answer is not a JSON object` };
  // An empty collection has no "items" at all.
  const list = json['items'] ?? [];
  if (!Array.isArray(list)) return { ok: false, error: `${what}: "items" is not a list` };
  if (!list.every(isRecord)) return { ok: false, error: `${what}: an item is not an object` };
  return { ok: true, value: list };
}

/** Pool names (without partition) from `GET /mgmt/tm/ltm/pool`, only those of `partition`. */
export function parsePoolNames(json: unknown, partition: string): BigIpParse<string[]> {
  const list = items(json, 'pool list');
  if (!list.ok) return list;
  const names: string[] = [];
  for (const item of list.value) {
    const name = item['name'];
    if (typeof name !== 'string') return { ok: false, error: 'pool list: a pool has no "name"' };
    const itemPartition = typeof item['partition'] === 'string' ? item['partition'] : 'Common';
    if (itemPartition === partition) names.push(name);
  }
  return { ok: true, value: names };
}

/** Member configurations from `GET …/members`. */
export function parseMemberConfigs(json: unknown): BigIpParse<BigIpMemberConfig[]> {
  const list = items(json, 'member list');
  if (!list.ok) return list;
  const out: BigIpMemberConfig[] = [];
  for (const item of list.value) {
    const member = parseMemberConfig(item);
    if (!member.ok) return member;
    out.push(member.value);
  }
  return { ok: true, value: out };
}

/** One member configuration, from `GET …/members/~P~NAME` or an item of the list. */
export function parseMemberConfig(item: unknown): BigIpParse<BigIpMemberConfig> {
  if (!isRecord(item)) return { ok: false, error: 'member: the answer is not a JSON object' };
  const { name, address, session, state, ratio } = item;
  if (typeof name !== 'string') return { ok: false, error: 'member: no "name"' };
  if (typeof session !== 'string' || typeof state !== 'string') {
    return { ok: false, error: `member ${name}: "session" or "state" missing` };
  }
  return {
    ok: true,
    value: {
      name,
      address: typeof address === 'string' ? address : '',
      session,
      state,
      ratio: typeof ratio === 'number' ? ratio : 1,
    },
  };
}

/**
 * Member statistics from `GET …/members/stats`: `entries` keyed by each member's stats URL, each holding
 * `nestedStats.entries` of `{value}` (numbers) and `{description}` (text).
 */
export function parseMemberStats(json: unknown): BigIpParse<BigIpMemberStats[]> {
  if (!isRecord(json)) return { ok: false, error: 'member stats: the answer is not a JSON object' };
  const entries = json['entries'] ?? {};
  if (!isRecord(entries)) return { ok: false, error: 'member stats: "entries" is not an object' };
  const out: BigIpMemberStats[] = [];
  for (const [link, entry] of Object.entries(entries)) {
    const nested = isRecord(entry) && isRecord(entry['nestedStats']) ? entry['nestedStats']['entries'] : null;
    if (!isRecord(nested)) return { ok: false, error: `member stats: ${link} has no nestedStats.entries` };
    const text = (key: string): string | null => {
      const v = nested[key];
      return isRecord(v) && typeof v['description'] === 'string' ? v['description'] : null;
    };
    const num = (key: string): number | null => {
      const v = nested[key];
      return isRecord(v) && typeof v['value'] === 'number' ? v['value'] : null;
    };
    // The member's name is the last path segment of its stats link: …/members/~Common~web-1:8080/stats.
    const segment = /\/members\/([^/?]+)\/stats/.exec(link)?.[1];
    if (segment === undefined)
      return { ok: false, error: `member stats: cannot read a member name from ${link}` };
    const name = decodeURIComponent(segment).split('~').at(-1) ?? segment;
    out.push({
      name,
      port: num('port'),
      availability: text('status.availabilityState') ?? 'unknown',
      enabled: text('status.enabledState') ?? 'enabled',
      monitorStatus: text('monitorStatus') ?? 'unchecked',
      currentConnections: num('serverside.curConns') ?? 0,
      totalConnections: num('serverside.totConns') ?? 0,
    });
  }
  return { ok: true, value: out };
}

/** The admin state a member's `session` and `state` mean. */
export function adminStateOf(config: BigIpMemberConfig): MemberAdminState {
  if (config.session !== 'user-disabled') return 'ready';
  return config.state === 'user-down' ? 'maint' : 'drain';
}

function operationalStateOf(
  config: BigIpMemberConfig,
  stats: BigIpMemberStats | undefined,
): MemberOperationalState {
  if (config.state === 'checking' || stats?.monitorStatus === 'checking') return 'starting';
  const availability = stats?.availability ?? 'unknown';
  if (availability === 'offline') return 'down';
  // `unknown` is a member without a monitor ("unchecked"): BIG-IP sends it traffic, as HAProxy's "no check".
  return 'up';
}

/** The port from a member name: `host:port`, or BIG-IP's IPv6 notation `addr.port`. */
function portOf(name: string): number | null {
  const m = /[:.](\d+)$/.exec(name);
  return m === null ? null : Number(m[1]);
}

/** Joins configuration and statistics into the port's view of the pool's members. */
export function buildBigIpMembers(
  pool: string,
  configs: readonly BigIpMemberConfig[],
  stats: readonly BigIpMemberStats[],
): PoolMember[] {
  const statsByName = new Map(stats.map((s) => [s.name, s]));
  return configs.map((config): PoolMember => {
    const s = statsByName.get(config.name);
    const admin = adminStateOf(config);
    const operational = operationalStateOf(config, s);
    return {
      pool,
      name: config.name,
      address: config.address,
      port: s?.port ?? portOf(config.name),
      admin,
      operational,
      weight: config.ratio,
      // BIG-IP has no separate runtime weight: the configured ratio is the full weight.
      initialWeight: config.ratio,
      activeSessions: s?.currentConnections ?? 0,
      totalSessions: s?.totalConnections ?? 0,
      throttlePercent: null,
      checkStatus: s === undefined || s.monitorStatus === 'unchecked' ? null : s.monitorStatus,
      statusText: `${s?.availability ?? 'unknown'} (${admin === 'ready' ? 'enabled' : admin === 'drain' ? 'disabled' : 'forced offline'})`,
    };
  });
}

/** BIG-IP's error text from an error body `{"code":404,"message":"…"}`, or the raw text. */
export function bigIpErrorMessage(body: string): string {
  try {
    const json = JSON.parse(body) as unknown;
    if (isRecord(json) && typeof json['message'] === 'string') return json['message'];
  } catch {
    // Not JSON: a proxy or a login page answered.
  }
  return body.slice(0, 200).replace(/\s+/g, ' ').trim() || 'no message';
}
