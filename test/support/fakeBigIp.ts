import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { freePort } from './ports.js';

/**
 * A local HTTP server that speaks the parts of F5 BIG-IP's iControl REST API swas uses, in its documented
 * request and response shapes: token login, pool and member collections, member stats, and member PATCH with
 * BIG-IP's validation and error bodies. A member's GUI state maps to `session`/`state` as on a real BIG-IP:
 * Enabled = user-enabled, Disabled = user-disabled, Forced Offline = user-disabled + user-down.
 */
export interface FakeMember {
  session: 'user-enabled' | 'user-disabled';
  state: 'user-up' | 'user-down';
  ratio: number;
  /** What the member's health monitor says. */
  monitor: 'up' | 'down' | 'unchecked';
  curConns: number;
  totConns: number;
  address: string;
}

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly body: unknown;
  readonly auth: 'token' | 'basic' | 'none';
}

export interface FakeBigIp {
  readonly url: string;
  readonly pools: Map<string, Map<string, FakeMember>>;
  readonly requests: RecordedRequest[];
  /** Makes every issued token invalid, as when a token's timeout passes. */
  expireTokens(): void;
  /** When set, PATCH answers 200 but changes nothing (a device that does not apply the change). */
  ignorePatches: boolean;
  /** When set, PATCH answers 400 with this message, as BIG-IP does for a change it refuses. */
  rejectPatchesWith: string | null;
  close(): Promise<void>;
}

const USER = 'swas-operator';
const PASSWORD = 'correct horse';
const HOST = 'https://localhost';
const MEMBER_PROPS = new Set(['session', 'state', 'ratio', 'description']);

export const FAKE_BIGIP_CREDENTIALS = { username: USER, password: PASSWORD } as const;

/** Starts the fake with pool `web` of three healthy members (`web-N:8080`) in partition Common. */
export async function startFakeBigIp(): Promise<FakeBigIp> {
  const pools = new Map<string, Map<string, FakeMember>>();
  const web = new Map<string, FakeMember>();
  for (const n of [1, 2, 3]) {
    web.set(`web-${n}:8080`, {
      session: 'user-enabled',
      state: 'user-up',
      ratio: 1,
      monitor: 'up',
      curConns: n,
      totConns: 100 * n,
      address: `10.0.0.${n}`,
    });
  }
  pools.set('web', web);
  pools.set('empty', new Map());
  let tokens = new Set<string>();
  const requests: RecordedRequest[] = [];
  const fake = {
    url: '',
    pools,
    requests,
    ignorePatches: false,
    rejectPatchesWith: null as string | null,
    expireTokens: () => {
      tokens = new Set();
    },
    close: () => Promise.resolve(),
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const raw = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://fake');
    const path = decodeURIComponent(url.pathname);
    let body: unknown = null;
    if (raw !== '') {
      try {
        body = JSON.parse(raw) as unknown;
      } catch {
        return send(res, 400, {
          code: 400,
          message: 'Found invalid JSON body in the request.',
          errorStack: [],
        });
      }
    }
    const token = req.headers['x-f5-auth-token'];
    const basic = req.headers.authorization;
    const auth = typeof token === 'string' ? 'token' : typeof basic === 'string' ? 'basic' : 'none';
    requests.push({ method: req.method ?? '', path, body, auth });

    if (req.method === 'POST' && path === '/mgmt/shared/authn/login') {
      const b = body as { username?: string; password?: string } | null;
      if (b?.username !== USER || b.password !== PASSWORD) {
        return send(res, 401, { code: 401, message: 'Authentication failed.', kind: ':resterrorresponse' });
      }
      const issued = randomBytes(12).toString('hex').toUpperCase();
      tokens.add(issued);
      return send(res, 200, {
        username: USER,
        loginProviderName: 'tmos',
        token: { token: issued, name: issued, userName: USER, timeout: 1200 },
      });
    }
    const authorized =
      (typeof token === 'string' && tokens.has(token)) ||
      basic === `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;
    if (!authorized) {
      const message =
        typeof token === 'string' ? `X-F5-Auth-Token ${token} does not exist.` : 'Authorization failed';
      return send(res, 401, { code: 401, message, referer: '127.0.0.1', restOperationId: 1 });
    }

    if (req.method === 'GET' && path === '/mgmt/tm/ltm/pool') {
      return send(res, 200, {
        kind: 'tm:ltm:pool:poolcollectionstate',
        selfLink: `${HOST}/mgmt/tm/ltm/pool?ver=15.1.0`,
        items: [...pools.keys()].map((name) => ({
          kind: 'tm:ltm:pool:poolstate',
          name,
          partition: 'Common',
          fullPath: `/Common/${name}`,
          loadBalancingMode: 'round-robin',
          slowRampTime: 10,
          membersReference: {
            link: `${HOST}/mgmt/tm/ltm/pool/~Common~${name}/members?ver=15.1.0`,
            isSubcollection: true,
          },
        })),
      });
    }
    const m = /^\/mgmt\/tm\/ltm\/pool\/~Common~([^/]+)\/members(?:\/(stats)|\/~Common~([^/]+))?$/.exec(path);
    if (m === null)
      return send(res, 404, { code: 404, message: `URI path ${path} not registered.`, errorStack: [] });
    const [, poolName = '', stats, memberName] = m;
    const pool = pools.get(poolName);
    if (pool === undefined) {
      return send(res, 404, {
        code: 404,
        message: `01020036:3: The requested Pool (/Common/${poolName}) was not found.`,
        errorStack: [],
        apiError: 3,
      });
    }
    if (req.method === 'GET' && memberName === undefined && stats === undefined) {
      return send(res, 200, {
        kind: 'tm:ltm:pool:members:memberscollectionstate',
        items: [...pool].map(([name, member]) => memberJson(poolName, name, member)),
      });
    }
    if (req.method === 'GET' && stats !== undefined) {
      const entries: Record<string, unknown> = {};
      for (const [name, member] of pool) {
        entries[`${HOST}/mgmt/tm/ltm/pool/~Common~${poolName}/members/~Common~${name}/stats`] = {
          nestedStats: { entries: statsEntries(poolName, name, member) },
        };
      }
      return send(res, 200, { kind: 'tm:ltm:pool:members:memberscollectionstats', entries });
    }
    if (memberName === undefined) return send(res, 405, { code: 405, message: 'Method not allowed' });
    const member = pool.get(memberName);
    if (member === undefined) {
      const [node, port] = memberName.split(':');
      return send(res, 404, {
        code: 404,
        message: `01020036:3: The requested Pool Member (/Common/${poolName} /Common/${node ?? ''} ${port ?? ''}) was not found.`,
        errorStack: [],
        apiError: 3,
      });
    }
    if (req.method === 'GET') return send(res, 200, memberJson(poolName, memberName, member));
    if (req.method !== 'PATCH') return send(res, 405, { code: 405, message: 'Method not allowed' });
    if (fake.rejectPatchesWith !== null) {
      return send(res, 400, { code: 400, message: fake.rejectPatchesWith, errorStack: [], apiError: 3 });
    }
    const patch = (body ?? {}) as Record<string, unknown>;
    for (const [key, value] of Object.entries(patch)) {
      const valid =
        MEMBER_PROPS.has(key) &&
        (key !== 'session' || value === 'user-enabled' || value === 'user-disabled') &&
        (key !== 'state' || value === 'user-up' || value === 'user-down') &&
        (key !== 'ratio' ||
          (Number.isInteger(value) && (value as number) >= 1 && (value as number) <= 65535));
      if (!valid) {
        return send(res, 400, {
          code: 400,
          message: `invalid property value "${key}":${JSON.stringify(value)}`,
          errorStack: [],
          apiError: 26214401,
        });
      }
    }
    if (!fake.ignorePatches) {
      if (patch['session'] !== undefined) member.session = patch['session'] as FakeMember['session'];
      // Clients of a disabled member finish their requests: its connections drain to 0.
      if (member.session === 'user-disabled') member.curConns = 0;
      if (patch['state'] !== undefined) member.state = patch['state'] as FakeMember['state'];
      if (patch['ratio'] !== undefined) member.ratio = patch['ratio'] as number;
    }
    return send(res, 200, memberJson(poolName, memberName, member));
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => send(res, 500, { code: 500, message: String(error) }));
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  fake.url = `http://127.0.0.1:${port}`;
  fake.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return fake;
}

function memberJson(pool: string, name: string, member: FakeMember): Record<string, unknown> {
  return {
    kind: 'tm:ltm:pool:members:membersstate',
    name,
    partition: 'Common',
    fullPath: `/Common/${name}`,
    selfLink: `${HOST}/mgmt/tm/ltm/pool/~Common~${pool}/members/~Common~${name}?ver=15.1.0`,
    address: member.address,
    connectionLimit: 0,
    dynamicRatio: 1,
    monitor: 'default',
    priorityGroup: 0,
    ratio: member.ratio,
    // As a real BIG-IP reports them: an enabled, monitored member shows "monitor-enabled" and its monitor state.
    session: member.session === 'user-enabled' ? 'monitor-enabled' : 'user-disabled',
    state: member.state === 'user-down' ? 'user-down' : member.monitor,
  };
}

function statsEntries(pool: string, name: string, member: FakeMember): Record<string, unknown> {
  const availability =
    member.state === 'user-down' || member.monitor === 'down'
      ? 'offline'
      : member.monitor === 'unchecked'
        ? 'unknown'
        : 'available';
  return {
    addr: { description: member.address },
    nodeName: { description: `/Common/${name.split(':')[0] ?? name}` },
    poolName: { description: `/Common/${pool}` },
    port: { value: Number(name.split(':')[1] ?? 0) },
    'serverside.curConns': { value: member.curConns },
    'serverside.totConns': { value: member.totConns },
    'status.availabilityState': { description: availability },
    'status.enabledState': { description: member.session === 'user-disabled' ? 'disabled' : 'enabled' },
    'status.statusReason': {
      description:
        availability === 'available' ? 'Pool member is available' : 'Pool member has been marked down',
    },
    monitorStatus: { description: member.state === 'user-down' ? 'forced-down' : member.monitor },
    sessionStatus: { description: member.session === 'user-disabled' ? 'user-disabled' : 'enabled' },
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' });
  res.end(JSON.stringify(body));
}
