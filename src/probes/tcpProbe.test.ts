import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../test/support/ports.js';
import { runTcpProbe, type ProbeContext, type TcpProbeConfig } from './index.js';

const ctx: ProbeContext = { signal: new AbortController().signal, now: () => Date.now() };

/** Starts a TCP server on 127.0.0.1 running `onConnection` for each client; returns its address. */
async function startServer(
  onConnection: (socket: Socket) => void,
): Promise<{ target: string; server: Server }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    onConnection(socket);
  });
  server.on('close', () => sockets.forEach((s) => s.destroy()));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('test server has no TCP address');
  const close = server.close.bind(server);
  server.close = (callback) => {
    sockets.forEach((s) => s.destroy());
    return close(callback);
  };
  return { target: `127.0.0.1:${address.port}`, server };
}

function tcp(target: string, extra: Partial<TcpProbeConfig> = {}): TcpProbeConfig {
  return { kind: 'tcp', target, timeout: 2000, tls: false, ...extra };
}

describe('runTcpProbe', () => {
  const servers: Server[] = [];
  let banner = '';
  let redis = '';
  let silent = '';
  let hangsUp = '';

  beforeAll(async () => {
    const started = await Promise.all([
      startServer((socket) => socket.write('SSH-2.0-OpenSSH_9.6\r\n')),
      startServer((socket) =>
        socket.on('data', (data: Buffer) =>
          socket.write(data.toString() === 'PING\r\n' ? '+PONG\r\n' : '-ERR unknown command\r\n'),
        ),
      ),
      startServer(() => undefined),
      startServer((socket) => socket.end('hello')),
    ]);
    servers.push(...started.map((s) => s.server));
    [banner, redis, silent, hangsUp] = started.map((s) => s.target) as [string, string, string, string];
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  });

  it('succeeds on connect alone and measures the connect time', async () => {
    const result = await runTcpProbe(tcp(silent), ctx);
    expect(result).toMatchObject({ success: true, error: null });
    expect(result.metrics.probe_tcp_connect_seconds).toBeGreaterThan(0);
    expect(result.metrics.probe_ip_protocol).toBe(4);
    expect(result.durationSeconds).toBeGreaterThan(0);
  });

  it('matches a banner', async () => {
    const result = await runTcpProbe(tcp(banner, { expect: '^SSH-2\\.0' }), ctx);
    expect(result).toMatchObject({ success: true, error: null });
    expect(result.metrics.probe_failed_due_to_regex).toBe(0);
  });

  it('sends a command and matches the reply', async () => {
    const result = await runTcpProbe(tcp(redis, { send: 'PING\r\n', expect: '^\\+PONG' }), ctx);
    expect(result).toMatchObject({ success: true, error: null });
  });

  it('fails at once on a reply that does not match, quoting it', async () => {
    const result = await runTcpProbe(
      tcp(redis, { send: 'PONG\r\n', expect: '^\\+PONG', timeout: 5000 }),
      ctx,
    );
    expect(result.success).toBe(false);
    expect(result.error).toBe(`expected /^\\+PONG/ but ${redis} sent "-ERR unknown command\\r\\n"`);
    expect(result.metrics.probe_failed_due_to_regex).toBe(1);
    expect(result.durationSeconds).toBeLessThan(2);
  });

  it('fails on a banner mismatch', async () => {
    const result = await runTcpProbe(tcp(banner, { expect: '^220 ' }), ctx);
    expect(result.error).toBe(`expected /^220 / but ${banner} sent "SSH-2.0-OpenSSH_9.6\\r\\n"`);
  });

  it('fails when the server closes before the expected reply', async () => {
    const result = await runTcpProbe(tcp(hangsUp, { expect: '^SSH' }), ctx);
    expect(result.error).toBe(`expected /^SSH/ but ${hangsUp} sent "hello" and closed the connection`);
  });

  it('says connection refused, with where', async () => {
    const port = await freePort();
    const result = await runTcpProbe(tcp(`127.0.0.1:${port}`), ctx);
    expect(result).toMatchObject({ success: false, error: `connect 127.0.0.1:${port}: connection refused` });
  });

  it('times out within its timeout when the server stays silent', async () => {
    const result = await runTcpProbe(tcp(silent, { expect: '^SSH', timeout: 300 }), ctx);
    expect(result.error).toBe(`expected /^SSH/ but ${silent} sent nothing; timed out after 300ms`);
    expect(result.durationSeconds).toBeGreaterThanOrEqual(0.29);
    expect(result.durationSeconds).toBeLessThan(1.5);
  });

  it('stops when the runner aborts', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const result = await runTcpProbe(tcp(silent, { expect: '^SSH', timeout: 5000 }), {
      signal: controller.signal,
      now: Date.now,
    });
    expect(result.error).toBe(`expected /^SSH/ but ${silent} sent nothing; stopped before it finished`);
  });

  it('quotes the reason the runner gives when it aborts', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('timed out after 0.1 s')), 100);
    const result = await runTcpProbe(tcp(silent, { expect: '^SSH', timeout: 5000 }), {
      signal: controller.signal,
      now: Date.now,
    });
    expect(result.error).toBe(`expected /^SSH/ but ${silent} sent nothing; timed out after 0.1 s`);
  });

  it('explains a target that is not host:port', async () => {
    const result = await runTcpProbe(tcp('localhost'), ctx);
    expect(result.error).toBe(
      'tcp probe target "localhost" is not host:port; write it like db.internal:5432',
    );
  });
});
