import { createServer, type Server, type Socket } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HaproxyRuntimeClient, parseRuntimeSocketAddress } from './HaproxyRuntimeClient.js';
import { LbError } from './LbError.js';

async function caught(promise: Promise<unknown>): Promise<LbError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof LbError) return error;
    throw error;
  }
  throw new Error('expected an LbError');
}

function thrown(run: () => unknown): LbError {
  try {
    run();
  } catch (error) {
    if (error instanceof LbError) return error;
    throw error;
  }
  throw new Error('expected an LbError');
}

describe('parseRuntimeSocketAddress', () => {
  it.each([
    ['/run/haproxy/admin.sock', { kind: 'unix', path: '/run/haproxy/admin.sock' }],
    ['./admin.sock', { kind: 'unix', path: './admin.sock' }],
    ['127.0.0.1:9999', { kind: 'tcp', host: '127.0.0.1', port: 9999 }],
    ['lb-1.example:9999', { kind: 'tcp', host: 'lb-1.example', port: 9999 }],
    ['[::1]:9999', { kind: 'tcp', host: '::1', port: 9999 }],
    ['  127.0.0.1:1  ', { kind: 'tcp', host: '127.0.0.1', port: 1 }],
  ])('reads %j', (text, address) => {
    expect(parseRuntimeSocketAddress(text)).toEqual({ ok: true, value: address });
  });

  it.each([
    ['', /empty/],
    ['admin.sock', /neither a unix socket path nor host:port/],
    ['127.0.0.1', /neither/],
    ['127.0.0.1:0', /neither/],
    ['127.0.0.1:70000', /neither/],
    ['::1:9999', /neither/],
    ['[nothost]:9999', /neither/],
    ['[1.2.3.4]:9999', /not an IPv6 address/],
  ])('rejects %j', (text, message) => {
    const result = parseRuntimeSocketAddress(text);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toMatch(message);
  });
});

describe('HaproxyRuntimeClient.create', () => {
  it('refuses a bad socket or timeout with invalid_argument naming the load balancer', () => {
    const socket = thrown(() => HaproxyRuntimeClient.create({ lbName: 'edge', socket: 'admin.sock' }));
    expect(socket.kind).toBe('invalid_argument');
    expect(socket.code).toBe('SWAS-LB-005');
    expect(socket.message).toMatch(/load balancer "edge": "admin.sock" is neither/);
    for (const timeoutMs of [0, -5, 1.5, Number.NaN]) {
      const timeout = thrown(() =>
        HaproxyRuntimeClient.create({ lbName: 'edge', socket: '/x.sock', timeoutMs }),
      );
      expect(timeout.kind).toBe('invalid_argument');
      expect(timeout.message).toMatch(/timeoutMs must be a whole number/);
    }
  });

  it('defaults the timeout to 2 s', () => {
    expect(HaproxyRuntimeClient.create({ lbName: 'edge', socket: '/x.sock' }).timeoutMs).toBe(2000);
  });
});

describe('HaproxyRuntimeClient transport', () => {
  let dir = '';
  let silent: Server;
  let silentPort = 0;
  const open: Socket[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'swas-lb-client-'));
    // Accepts and never answers: what a wedged HAProxy looks like from outside.
    silent = createServer((socket) => open.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const address = silent.address();
    silentPort = typeof address === 'object' && address !== null ? address.port : 0;
  });

  afterAll(async () => {
    for (const socket of open) socket.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
    await rm(dir, { recursive: true, force: true });
  });

  it('reports a missing socket file as unreachable, naming it and what to check', async () => {
    const path = join(dir, 'missing.sock');
    const client = HaproxyRuntimeClient.create({ lbName: 'edge', socket: path });
    const error = await caught(client.query('show servers state'));
    expect(error.kind).toBe('unreachable');
    expect(error.code).toBe('SWAS-LB-001');
    expect(error.retryable).toBe(true);
    expect(error.message).toContain(`HAProxy "edge" runtime API at ${path} (running "show servers state")`);
    expect(error.message).toContain('does not exist');
    expect(error.message).toContain(`stats socket ${path} level admin`);
    expect(error.context).toMatchObject({ lb: 'edge', endpoint: path, command: 'show servers state' });
  });

  it('reports a silent peer as unreachable after the reply timeout', async () => {
    const client = HaproxyRuntimeClient.create({
      lbName: 'edge',
      socket: `127.0.0.1:${silentPort}`,
      timeoutMs: 150,
    });
    const error = await caught(client.query('show stat'));
    expect(error.kind).toBe('unreachable');
    expect(error.message).toMatch(/connected, but no reply within 150 ms/);
  });

  it('refuses to send a command with a separator in it', async () => {
    const client = HaproxyRuntimeClient.create({ lbName: 'edge', socket: join(dir, 'x.sock') });
    for (const command of ['show stat; shutdown sessions', 'show stat\nshow info']) {
      const error = await caught(client.send(command));
      expect(error.kind).toBe('invalid_argument');
      expect(error.message).toMatch(/contains a command separator/);
    }
  });
});
