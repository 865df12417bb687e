import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BigIpLoadBalancer, isLbError, type LbError } from '../src/lb/index.js';
import { parseMemberStats } from '../src/lb/bigipParsers.js';
import { FAKE_BIGIP_CREDENTIALS, startFakeBigIp, type FakeBigIp } from './support/fakeBigIp.js';
import { freePort } from './support/ports.js';
import { eventually, startTestServer, type TestServer } from './support/swasServer.js';
import { makeTempDir } from './support/tmp.js';

// The BIG-IP adapter against a local server speaking iControl REST's documented shapes (no BIG-IP runs here).
describe('BigIpLoadBalancer', () => {
  let fake: FakeBigIp;
  let lb: BigIpLoadBalancer;

  beforeEach(async () => {
    fake = await startFakeBigIp();
    lb = BigIpLoadBalancer.create({ name: 'f5', url: fake.url, ...FAKE_BIGIP_CREDENTIALS });
  });
  afterEach(() => fake.close());

  async function failure(promise: Promise<unknown>): Promise<LbError> {
    const error = await promise.then(
      () => null,
      (e: unknown) => e,
    );
    if (!isLbError(error)) throw new Error(`expected an LbError, got ${String(error)}`);
    return error;
  }

  it('lists pools and members, joining configuration and statistics', async () => {
    expect(await lb.listPools()).toEqual([
      { name: 'web', members: 3, up: 3, status: 'UP' },
      { name: 'empty', members: 0, up: 0, status: 'DOWN' },
    ]);
    const member = await lb.getMember('web', 'web-2:8080');
    expect(member).toMatchObject({
      pool: 'web',
      name: 'web-2:8080',
      address: '10.0.0.2',
      port: 8080,
      admin: 'ready',
      operational: 'up',
      weight: 1,
      initialWeight: 1,
      activeSessions: 2,
      totalSessions: 200,
      checkStatus: 'up',
    });
    // Logged in once, then every call carried the token.
    expect(fake.requests.filter((r) => r.path === '/mgmt/shared/authn/login')).toHaveLength(1);
    expect(fake.requests.filter((r) => r.path.startsWith('/mgmt/tm/')).every((r) => r.auth === 'token')).toBe(
      true,
    );
  });

  it('drains (Disabled), puts in maint (Forced Offline) and re-enables, reading each change back', async () => {
    await lb.setAdminState('web', 'web-1:8080', 'drain');
    expect(fake.pools.get('web')?.get('web-1:8080')).toMatchObject({
      session: 'user-disabled',
      state: 'user-up',
    });
    expect(await lb.getMember('web', 'web-1:8080')).toMatchObject({ admin: 'drain', operational: 'up' });

    await lb.setAdminState('web', 'web-1:8080', 'maint');
    expect(await lb.getMember('web', 'web-1:8080')).toMatchObject({ admin: 'maint', operational: 'down' });

    // From Forced Offline, drain must also lift user-down, or the member would stay offline.
    await lb.setAdminState('web', 'web-1:8080', 'drain');
    expect(await lb.getMember('web', 'web-1:8080')).toMatchObject({ admin: 'drain', operational: 'up' });

    await lb.setAdminState('web', 'web-1:8080', 'ready');
    expect(await lb.getMember('web', 'web-1:8080')).toMatchObject({ admin: 'ready' });
    const patches = fake.requests.filter((r) => r.method === 'PATCH').map((r) => r.body);
    expect(patches).toEqual([
      { session: 'user-disabled', state: 'user-up' },
      { session: 'user-disabled', state: 'user-down' },
      { session: 'user-disabled', state: 'user-up' },
      { session: 'user-enabled', state: 'user-up' },
    ]);
    expect(fake.requests.find((r) => r.method === 'PATCH')?.path).toBe(
      '/mgmt/tm/ltm/pool/~Common~web/members/~Common~web-1:8080',
    );
  });

  it('sets weights as member ratios and refuses what BIG-IP cannot take before sending anything', async () => {
    await lb.setWeight('web', 'web-3:8080', 40);
    expect((await lb.getMember('web', 'web-3:8080')).weight).toBe(40);
    const before = fake.requests.length;
    for (const bad of [0, -1, 1.5, 65536]) {
      const error = await failure(lb.setWeight('web', 'web-3:8080', bad));
      expect(error.kind).toBe('invalid_argument');
      expect(error.message).toContain('from 1 to 65535');
    }
    const injection = await failure(lb.setAdminState('web', 'web-1:8080/../../sys', 'drain'));
    expect(injection.kind).toBe('invalid_argument');
    expect(fake.requests.length).toBe(before);
  });

  it('names a missing pool or member, and lists the members there are', async () => {
    const pool = await failure(lb.listMembers('nope'));
    expect(pool.kind).toBe('no_such_pool');
    expect(pool.message).toContain('The requested Pool (/Common/nope) was not found');
    const member = await failure(lb.getMember('web', 'web-9:8080'));
    expect(member.kind).toBe('no_such_member');
    expect(member.message).toContain('web-1:8080, web-2:8080, web-3:8080');
    const patch = await failure(lb.setAdminState('web', 'web-9:8080', 'drain'));
    expect(patch.kind).toBe('no_such_member');
    expect(patch.context).toMatchObject({ pool: 'web', member: 'web-9:8080' });
  });

  it('logs in again when the token expires, and reports wrong credentials as permission denied', async () => {
    await lb.listMembers('web');
    fake.expireTokens();
    expect(await lb.listMembers('web')).toHaveLength(3);
    expect(fake.requests.filter((r) => r.path === '/mgmt/shared/authn/login')).toHaveLength(2);

    const wrong = BigIpLoadBalancer.create({
      name: 'f5',
      url: fake.url,
      username: 'swas-operator',
      password: 'x',
    });
    const error = await failure(wrong.listPools());
    expect(error.kind).toBe('permission_denied');
    expect(error.message).toContain('Authentication failed');
    expect(error.retryable).toBe(false);
  });

  it('authenticates with basic auth when configured', async () => {
    const basic = BigIpLoadBalancer.create({
      name: 'f5',
      url: fake.url,
      auth: 'basic',
      ...FAKE_BIGIP_CREDENTIALS,
    });
    expect(await basic.listMembers('web')).toHaveLength(3);
    expect(fake.requests.every((r) => r.auth === 'basic')).toBe(true);
  });

  it('fails a change the device accepted but did not apply', async () => {
    fake.ignorePatches = true;
    const error = await failure(lb.setAdminState('web', 'web-1:8080', 'maint'));
    expect(error.kind).toBe('command_failed');
    expect(error.message).toContain('reports it ready');
  });

  it('fails with the message BIG-IP gave when the device rejects a change', async () => {
    fake.rejectPatchesWith = '01070734:3: Configuration error: a config sync is in progress';
    const error = await failure(lb.setAdminState('web', 'web-1:8080', 'drain'));
    expect(error.kind).toBe('command_failed');
    expect(error.message).toContain(
      'HTTP 400: 01070734:3: Configuration error: a config sync is in progress',
    );
    expect(error.context.command).toBe('PATCH /mgmt/tm/ltm/pool/~Common~web/members/~Common~web-1:8080');
  });

  it('reports an unreachable device as retryable', async () => {
    const port = await freePort();
    const down = BigIpLoadBalancer.create({
      name: 'f5',
      url: `http://127.0.0.1:${port}`,
      timeoutMs: 1000,
      ...FAKE_BIGIP_CREDENTIALS,
    });
    const error = await failure(down.listPools());
    expect(error.kind).toBe('unreachable');
    expect(error.retryable).toBe(true);
    expect(error.message).toContain(`127.0.0.1:${port}`);
  });

  it('rejects bad options at creation', () => {
    expect(() =>
      BigIpLoadBalancer.create({ name: 'f5', url: 'not a url', username: 'u', password: 'p' }),
    ).toThrow(/is not a URL/);
    expect(() =>
      BigIpLoadBalancer.create({ name: 'f5', url: 'ftp://x', username: 'u', password: 'p' }),
    ).toThrow(/https:\/\/host/);
    expect(() =>
      BigIpLoadBalancer.create({ name: 'f5', url: 'https://x', username: '', password: 'p' }),
    ).toThrow(/username and password/);
  });

  it('rejects statistics it cannot read instead of guessing', () => {
    const unreadable = parseMemberStats({
      entries: { 'https://x/members/~Common~a:1/stats': { nested: {} } },
    });
    expect(unreadable.ok ? '' : unreadable.error).toContain('no nestedStats.entries');
    expect(parseMemberStats([])).toMatchObject({ ok: false });
    expect(parseMemberStats({ entries: {} })).toEqual({ ok: true, value: [] });
  });
});

describe('a runbook acting through BIG-IP', { timeout: 60_000 }, () => {
  let fake: FakeBigIp;
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let swas: TestServer | undefined;

  beforeEach(async () => {
    fake = await startFakeBigIp();
    tmp = await makeTempDir('bigip');
  });
  afterEach(async () => {
    await swas?.stop();
    await fake.close();
    await tmp.remove();
  });

  it('drains and re-adds a member when its alert fires, with the password read from a *_FILE secret', async () => {
    await writeFile(join(tmp.dir, 'bigip-password'), `${FAKE_BIGIP_CREDENTIALS.password}\n`);
    swas = await startTestServer(
      tmp.dir,
      `load_balancers:
  - name: f5
    type: bigip
    url: ${fake.url}
    username: ${FAKE_BIGIP_CREDENTIALS.username}
    password: placeholder-overridden-below
    pools: [web]
rules:
  evaluation_interval: 1s
  files: [rules.yml]
runbooks:
  files: [bounce.yml]
`,
      {
        'rules.yml': `groups:
  - name: web
    rules:
      - alert: MemberSick
        expr: vector(1)
        labels: { pool: web, member: "web-2:8080" }
`,
        'bounce.yml': `name: bounce
trigger:
  alert: MemberSick
target:
  pool: '{{ $labels.pool }}'
  member: '{{ $labels.member }}'
steps:
  - action: lb.drain
    timeout: 10s
  - action: lb.ready
    timeout: 10s
    with:
      ramp: slowstart
`,
      },
      { SWAS_LOAD_BALANCERS__0__PASSWORD_FILE: join(tmp.dir, 'bigip-password') },
    );
    const token = await swas.token('viewer');
    const run = await eventually(
      'the bounce run to succeed',
      async () => {
        const runs = (await swas!.get('/api/v1/runs', token)).body as { runs: { status: string }[] };
        return runs.runs.find((r) => r.status === 'succeeded') ?? null;
      },
      30_000,
    );
    expect(run).toBeDefined();
    // Disabled, then Forced Offline (so BIG-IP's slow ramp applies on return), then Enabled.
    expect(fake.requests.filter((r) => r.method === 'PATCH').map((r) => r.body)).toEqual([
      { session: 'user-disabled', state: 'user-up' },
      { session: 'user-disabled', state: 'user-down' },
      { session: 'user-enabled', state: 'user-up' },
    ]);
    expect(fake.pools.get('web')?.get('web-2:8080')).toMatchObject({
      session: 'user-enabled',
      state: 'user-up',
    });
    const pools = (await swas.get('/api/v1/pools', token)).body as {
      pools: { loadBalancer: string; name: string }[];
    };
    expect(pools.pools).toEqual(
      expect.arrayContaining([expect.objectContaining({ loadBalancer: 'f5', name: 'web', error: null })]),
    );
  });

  it('rejects a load balancer of unknown type with the field and the types there are', async () => {
    await expect(
      startTestServer(tmp.dir, 'load_balancers:\n  - name: f5\n    type: netscaler\n    pools: [web]\n'),
    ).rejects.toThrow(/load_balancers\[0\].*type: haproxy.*type: bigip/s);
  });
});
