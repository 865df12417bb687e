import { request } from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HaproxyLoadBalancer, LbError, type LbErrorKind, type PoolMember } from '../src/lb/index.js';
import { startHttpBackend, type HttpBackend } from './support/backends.js';
import { startHaproxy, type HaproxyProcess } from './support/haproxy.js';
import { freePort } from './support/ports.js';
import { makeTempDir } from './support/tmp.js';

let temp: { dir: string; remove: () => Promise<void> };
let haproxy: HaproxyProcess | undefined;
let backends: HttpBackend[] = [];
let frontendPort = 0;
let tcpAdminPort = 0;
let lb: HaproxyLoadBalancer;

function config(dir: string, ports: number[]): string {
  const [a, b, c] = ports;
  return `
# startHaproxy writes the first global section; HAProxy merges a second one.
global
  stats socket ${join(dir, 'user.sock')} mode 600 level user
  stats socket 127.0.0.1:${tcpAdminPort} level admin
defaults
  mode http
  timeout connect 1s
  timeout client 10s
  timeout server 10s
frontend fe
  bind 127.0.0.1:${frontendPort}
  default_backend web
backend web
  balance roundrobin
  option httpchk GET /health
  default-server check inter 100ms rise 1 fall 1 slowstart 5s
  server web1 127.0.0.1:${a}
  server web2 127.0.0.1:${b}
  server web3 127.0.0.1:${c} weight 2
backend static
  balance source
  server s1 127.0.0.1:${a} check inter 1s
backend follower
  server f1 127.0.0.1:${b} track web/web2
backend empty
`;
}

/** Sends one GET through the frontend on a fresh connection and returns the status code. */
function get(path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: frontendPort, path, agent: false }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Reads the member until `accept` holds, at most `limitMs`; returns the last reading either way. */
async function pollMember(
  pool: string,
  member: string,
  accept: (m: PoolMember) => boolean,
  limitMs = 3000,
): Promise<PoolMember> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const current = await lb.getMember(pool, member);
    if (accept(current) || Date.now() > deadline) return current;
    await sleep(50);
  }
}

async function lbError(promise: Promise<unknown>, kind: LbErrorKind): Promise<LbError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(LbError);
    expect((error as LbError).kind).toBe(kind);
    return error as LbError;
  }
  throw new Error(`expected an LbError of kind ${kind}`);
}

beforeAll(async () => {
  temp = await makeTempDir('lb-haproxy');
  backends = await Promise.all(['a', 'b', 'c'].map((name) => startHttpBackend(name)));
  frontendPort = await freePort();
  tcpAdminPort = await freePort();
  const ports = backends.map((backend) => backend.port);
  haproxy = await startHaproxy({ dir: temp.dir, config: config(temp.dir, ports) });
  lb = HaproxyLoadBalancer.create({ name: 'edge', socket: haproxy.socketPath });
  for (const member of ['web1', 'web2', 'web3']) {
    const reading = await pollMember('web', member, (m) => m.checkStatus === 'L7OK');
    expect(reading.checkStatus).toBe('L7OK');
  }
});

afterAll(async () => {
  await haproxy?.stop();
  await Promise.all(backends.map((backend) => backend.stop()));
  await temp.remove();
});

describe('HaproxyLoadBalancer against a real HAProxy', () => {
  it('lists pools, empty ones included', async () => {
    expect(await lb.listPools()).toEqual([
      { name: 'web', members: 3, up: 3, status: 'UP' },
      { name: 'static', members: 1, up: 1, status: 'UP' },
      { name: 'follower', members: 1, up: 1, status: 'UP' },
      { name: 'empty', members: 0, up: 0, status: 'UP' },
    ]);
    expect(await lb.listMembers('empty')).toEqual([]);
  });

  it('lists members with address, state and weights', async () => {
    const members = await lb.listMembers('web');
    expect(
      members.map((m) => [m.name, m.address, m.port, m.admin, m.operational, m.weight, m.initialWeight]),
    ).toEqual([
      ['web1', '127.0.0.1', backends[0]?.port, 'ready', 'up', 1, 1],
      ['web2', '127.0.0.1', backends[1]?.port, 'ready', 'up', 1, 1],
      ['web3', '127.0.0.1', backends[2]?.port, 'ready', 'up', 2, 2],
    ]);
    for (const member of members) {
      expect(member).toMatchObject({
        pool: 'web',
        statusText: 'UP',
        checkStatus: 'L7OK',
        throttlePercent: null,
      });
    }
  });

  it('sets a weight and reads it back; refuses weights HAProxy cannot take', async () => {
    await lb.setWeight('web', 'web3', 7);
    expect(await lb.getMember('web', 'web3')).toMatchObject({ weight: 7, initialWeight: 2 });
    await lb.setWeight('web', 'web3', 2);
    expect((await lb.getMember('web', 'web3')).weight).toBe(2);
    for (const weight of [-1, 257, 1.5, Number.NaN]) {
      const error = await lbError(lb.setWeight('web', 'web3', weight), 'invalid_argument');
      expect(error.message).toMatch(/whole number from 0 to 256/);
    }
    const refused = await lbError(lb.setWeight('static', 's1', 5), 'command_failed');
    expect(refused.message).toContain('static LB algorithm');
    expect(refused.context.reply).toMatch(/^Backend is using a static LB algorithm/);
  });

  it('drains a member: open sessions finish there, new ones go elsewhere', async () => {
    const before = backends[0]?.served ?? 0;
    const slow = Array.from({ length: 8 }, () => get('/slow'));
    // Every slow request must have reached its backend, so none lands on web1 after the drain.
    const deadline = Date.now() + 3000;
    while (backends.reduce((sum, backend) => sum + backend.held, 0) < 8 && Date.now() < deadline)
      await sleep(20);
    expect(backends.reduce((sum, backend) => sum + backend.held, 0)).toBe(8);
    const busy = await pollMember('web', 'web1', (m) => m.activeSessions >= 1);
    expect(busy.activeSessions).toBeGreaterThanOrEqual(1);

    await lb.setAdminState('web', 'web1', 'drain');
    const drained = await lb.getMember('web', 'web1');
    expect(drained).toMatchObject({ admin: 'drain', operational: 'up', statusText: 'DRAIN' });
    expect(drained.activeSessions).toBeGreaterThanOrEqual(1);

    const servedWhileDrained = backends[0]?.served ?? 0;
    const others = (backends[1]?.served ?? 0) + (backends[2]?.served ?? 0);
    for (let i = 0; i < 6; i++) expect(await get('/')).toBe(200);
    expect(backends[0]?.served).toBe(servedWhileDrained);
    expect((backends[1]?.served ?? 0) + (backends[2]?.served ?? 0)).toBe(others + 6);
    expect(servedWhileDrained).toBeGreaterThan(before);

    for (const backend of backends) backend.release();
    expect(await Promise.all(slow)).toEqual(Array<number>(8).fill(200));
    expect((await pollMember('web', 'web1', (m) => m.activeSessions === 0)).activeSessions).toBe(0);
  });

  it('drain → ready does not slow-start', async () => {
    await lb.setAdminState('web', 'web1', 'ready');
    expect(await lb.getMember('web', 'web1')).toMatchObject({
      admin: 'ready',
      operational: 'up',
      throttlePercent: null,
    });
    await sleep(300);
    expect(await lb.getMember('web', 'web1')).toMatchObject({ operational: 'up', throttlePercent: null });
  });

  it('puts a member in maintenance: down, and no traffic', async () => {
    await lb.setAdminState('web', 'web1', 'maint');
    expect(await lb.getMember('web', 'web1')).toMatchObject({
      admin: 'maint',
      operational: 'down',
      statusText: 'MAINT',
    });
    const served = backends[0]?.served ?? 0;
    for (let i = 0; i < 4; i++) expect(await get('/')).toBe(200);
    expect(backends[0]?.served).toBe(served);
  });

  it('maint → ready slow-starts (throttle below 100 %)', async () => {
    await lb.setAdminState('web', 'web1', 'ready');
    const ramping = await pollMember(
      'web',
      'web1',
      (m) => m.throttlePercent !== null && m.throttlePercent < 100,
    );
    expect(ramping.admin).toBe('ready');
    expect(ramping.operational).toBe('starting');
    expect(ramping.throttlePercent).toBeGreaterThanOrEqual(0);
    expect(ramping.throttlePercent).toBeLessThan(100);
  });

  it('refuses to report success when the state is inherited from a tracked server', async () => {
    await lb.setAdminState('web', 'web2', 'maint');
    expect(await lb.getMember('follower', 'f1')).toMatchObject({
      admin: 'maint',
      statusText: 'MAINT (via web/web2)',
    });
    const error = await lbError(lb.setAdminState('follower', 'f1', 'ready'), 'command_failed');
    expect(error.message).toContain('maint inherited from a tracked server');
    expect(error.message).toContain('change that server instead');
    await lb.setAdminState('web', 'web2', 'ready');
    expect((await lb.getMember('follower', 'f1')).admin).toBe('ready');
  });

  it('sees a member go down when its backend stops, and come back', async () => {
    await backends[2]?.stop();
    const down = await pollMember('web', 'web3', (m) => m.operational === 'down');
    expect(down).toMatchObject({ admin: 'ready', operational: 'down', checkStatus: 'L4CON' });
    expect(down.statusText).toMatch(/^DOWN/);
    expect((await lb.listPools()).find((pool) => pool.name === 'web')?.up).toBe(2);
    await backends[2]?.start();
    const back = await pollMember('web', 'web3', (m) => m.operational !== 'down');
    expect(['up', 'starting']).toContain(back.operational);
  });

  it('reads and writes through a TCP stats socket too', async () => {
    const tcp = HaproxyLoadBalancer.create({ name: 'edge-tcp', socket: `127.0.0.1:${tcpAdminPort}` });
    expect((await tcp.listMembers('web')).map((m) => m.name)).toEqual(['web1', 'web2', 'web3']);
    await tcp.setWeight('web', 'web2', 3);
    expect((await lb.getMember('web', 'web2')).weight).toBe(3);
    await tcp.setWeight('web', 'web2', 1);
  });

  it('loses runtime state when HAProxy restarts (no server-state file)', async () => {
    await lb.setAdminState('web', 'web2', 'drain');
    await haproxy?.restart();
    expect((await lb.getMember('web', 'web2')).admin).toBe('ready');
  });
});

describe('HaproxyLoadBalancer errors', () => {
  it('reports a missing socket as unreachable', async () => {
    const path = join(temp.dir, 'nope.sock');
    const missing = HaproxyLoadBalancer.create({ name: 'ghost', socket: path });
    const error = await lbError(missing.listPools(), 'unreachable');
    expect(error.code).toBe('SWAS-LB-001');
    expect(error.message).toContain('"ghost"');
    expect(error.message).toContain(path);
  });

  it('reports a TCP port nobody listens on as unreachable', async () => {
    const closed = HaproxyLoadBalancer.create({ name: 'ghost', socket: `127.0.0.1:${await freePort()}` });
    const error = await lbError(closed.listMembers('web'), 'unreachable');
    expect(error.message).toContain('connection refused');
  });

  it('reports an unknown backend as no_such_pool on reads and writes', async () => {
    for (const call of [
      () => lb.listMembers('nope'),
      () => lb.getMember('nope', 'web1'),
      () => lb.setAdminState('nope', 'web1', 'drain'),
      () => lb.setWeight('nope', 'web1', 1),
    ]) {
      const error = await lbError(call(), 'no_such_pool');
      expect(error.code).toBe('SWAS-LB-002');
      expect(error.message).toContain('"nope"');
      expect(error.context.pool).toBe('nope');
    }
    await lbError(lb.listMembers('fe'), 'no_such_pool'); // a frontend is not a pool
  });

  it('reports an unknown server as no_such_member on reads and writes', async () => {
    for (const call of [
      () => lb.getMember('web', 'web9'),
      () => lb.setAdminState('web', 'web9', 'maint'),
      () => lb.setWeight('web', 'web9', 1),
    ]) {
      const error = await lbError(call(), 'no_such_member');
      expect(error.code).toBe('SWAS-LB-003');
      expect(error.message).toContain('"web9"');
      expect(error.context).toMatchObject({ pool: 'web', member: 'web9' });
    }
  });

  it('refuses names and states that are not HAProxy names before sending anything', async () => {
    await lbError(lb.listMembers('web;shutdown sessions'), 'invalid_argument');
    await lbError(lb.getMember('web', 'web1 state maint'), 'invalid_argument');
    await lbError(lb.setAdminState('', 'web1', 'drain'), 'invalid_argument');
    // A caller outside TypeScript can pass anything.
    await lbError(lb.setAdminState('web', 'web1', 'off' as never), 'invalid_argument');
    expect((await lb.getMember('web', 'web1')).admin).toBe('ready');
  });

  it('reports a user-level socket as permission_denied on writes, and still reads', async () => {
    const socket = join(temp.dir, 'user.sock');
    const readOnly = HaproxyLoadBalancer.create({ name: 'edge-ro', socket });
    expect((await readOnly.listMembers('web')).map((m) => m.address)).toEqual([
      '127.0.0.1',
      '127.0.0.1',
      '127.0.0.1',
    ]);
    const error = await lbError(readOnly.setAdminState('web', 'web1', 'drain'), 'permission_denied');
    expect(error.code).toBe('SWAS-LB-004');
    expect(error.message).toContain(`stats socket ${socket} level admin`);
    expect(error.context.reply).toBe('Permission denied');
    await lbError(readOnly.setWeight('web', 'web1', 3), 'permission_denied');
  });
});
