import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HaproxyLoadBalancer } from '../src/lb/index.js';
import { LbError } from '../src/lb/index.js';
import { startHttpBackend, type HttpBackend } from './support/backends.js';
import type { HaproxyProcess } from './support/haproxy.js';
import { freePort } from './support/ports.js';
import { swasCli } from './support/swasCli.js';
import { eventually, startTestServer, type TestServer } from './support/swasServer.js';
import { makeTempDir } from './support/tmp.js';
import { edgeLbYaml, startWebPool } from './support/webPool.js';

// Pool membership at runtime (HAProxy dynamic servers): added in maint with health checks, removed from maint.
describe('adding and removing pool members on real HAProxy', () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let haproxy: HaproxyProcess;
  let backends: HttpBackend[];
  let lb: HaproxyLoadBalancer;
  let frontend: number;

  beforeAll(async () => {
    tmp = await makeTempDir('lb-membership');
    backends = [await startHttpBackend('web1'), await startHttpBackend('web2')];
    frontend = await freePort();
    ({ haproxy, lb } = await startWebPool(
      tmp.dir,
      [{ name: 'web', servers: backends.slice(0, 1), serverDefaults: 'check inter 200ms' }],
      frontend,
    ));
  }, 30_000);

  afterAll(async () => {
    await haproxy?.stop();
    for (const b of backends ?? []) await b.stop();
    await tmp?.remove();
  });

  it('adds a member in maint with health checks on; ready sends it traffic', async () => {
    await lb.addMember('web', {
      name: 'web2',
      address: '127.0.0.1',
      port: backends[1]?.port ?? 0,
      weight: 10,
      slowstartMs: 0,
    });
    const added = await lb.getMember('web', 'web2');
    expect(added).toMatchObject({
      admin: 'maint',
      weight: 10,
      address: '127.0.0.1',
      port: backends[1]?.port,
    });
    await lb.setAdminState('web', 'web2', 'ready');
    await eventually(
      'web2 to pass its checks',
      async () => (await lb.getMember('web', 'web2')).operational === 'up',
    );
    const served = backends[1]?.served ?? 0;
    for (let i = 0; i < 20; i++) await fetch(`http://127.0.0.1:${frontend}/`).then((r) => r.text());
    expect((backends[1]?.served ?? 0) - served).toBeGreaterThan(0);
  });

  it('refuses a duplicate name, a host name, a bad port and a bad weight, naming the problem', async () => {
    const base = { name: 'web3', address: '127.0.0.1', port: 9, weight: 1, slowstartMs: 0 };
    await expect(lb.addMember('web', { ...base, name: 'web1' })).rejects.toThrow(
      /already has a server "web1"/,
    );
    await expect(lb.addMember('web', { ...base, address: 'app.internal' })).rejects.toThrow(
      /give an IPv4 or IPv6 address/,
    );
    await expect(lb.addMember('web', { ...base, port: 70000 })).rejects.toThrow(
      /port 70000 .* use 1 to 65535/,
    );
    await expect(lb.addMember('web', { ...base, weight: 0 })).rejects.toThrow(/weight 0 .* use 1 to 256/);
    await expect(lb.addMember('web', { ...base, name: 'bad name' })).rejects.toBeInstanceOf(LbError);
    expect((await lb.listMembers('web')).map((m) => m.name)).toEqual(['web1', 'web2']);
  });

  it('removes a member only from maint, and it is gone', async () => {
    await expect(lb.removeMember('web', 'web2')).rejects.toThrow(/put it in maint and let its sessions end/);
    await lb.setAdminState('web', 'web2', 'maint');
    await lb.removeMember('web', 'web2');
    expect((await lb.listMembers('web')).map((m) => m.name)).toEqual(['web1']);
    await expect(lb.removeMember('web', 'web2')).rejects.toThrow(/has no server "web2"/);
  });
});

describe('swas lb add|remove through the API and the CLI', { timeout: 60_000 }, () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let haproxy: HaproxyProcess;
  let backend: HttpBackend;
  let swas: TestServer;
  let operator: string;

  beforeAll(async () => {
    tmp = await makeTempDir('lb-add-remove');
    backend = await startHttpBackend('extra');
    ({ haproxy } = await startWebPool(tmp.dir, [
      { name: 'web', servers: [{ name: 'web1', port: backend.port }], serverDefaults: 'check inter 200ms' },
    ]));
    swas = await startTestServer(tmp.dir, edgeLbYaml(haproxy.socketPath, ['web']));
    operator = await swas.token('operator');
  }, 30_000);

  afterAll(async () => {
    await swas?.stop();
    await haproxy?.stop();
    await backend?.stop();
    await tmp?.remove();
  });

  it('adds in maint, refuses bad arguments with a usage error, removes from maint; every change is audited', async () => {
    const added = await swasCli(
      ['lb', 'add', 'web', 'web9', `127.0.0.1:${backend.port}`, '--weight', '20', '--reason', 'new host'],
      swas,
      operator,
    );
    expect(added.stderr).toBe('');
    expect(added.stdout).toMatch(
      /web\/web9 added \(maint, weight 20\); put it in rotation with `swas lb ready web web9`/,
    );

    expect((await swasCli(['lb', 'add', 'web', 'web8', 'app.internal:80'], swas, operator)).code).toBe(2);
    const duplicate = await swasCli(
      ['lb', 'add', 'web', 'web9', `127.0.0.1:${backend.port}`],
      swas,
      operator,
    );
    expect(duplicate.code).not.toBe(0);
    expect(duplicate.stderr).toMatch(/already has a server "web9"/);

    const notInMaint = await swasCli(['lb', 'remove', 'web', 'web1'], swas, operator);
    expect(notInMaint.code).not.toBe(0);
    expect(notInMaint.stderr).toMatch(/put it in maint and let its sessions end/);

    const removed = await swasCli(
      ['lb', 'remove', 'web', 'web9', '--reason', 'decommissioned'],
      swas,
      operator,
    );
    expect(removed.stdout).toBe('web/web9 removed\n');
    const audit = (await swas.get('/api/v1/audit', operator)).body as {
      entries: { actor: string; action: string; target: string; result: string; reason: string | null }[];
    };
    expect(
      audit.entries.filter((e) => e.target === 'web/web9').map((e) => [e.action, e.result, e.reason]),
    ).toEqual([
      ['lb.add', 'ok', 'new host'],
      ['lb.add', expect.stringMatching(/^error: /), null],
      ['lb.remove', 'ok', 'decommissioned'],
    ]);
    expect(audit.entries.every((e) => e.actor === 'user:test-operator')).toBe(true);
  });
});
