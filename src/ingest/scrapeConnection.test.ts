import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { MAX_CONNECTIONS_PER_ORIGIN, rawGet } from './scrapeConnection.js';
import { RawHttpError, ResponseReader } from './scrapeResponseReader.js';

// Small buffers so that growing the body buffer is exercised too.
const buffers = { take: (size: number) => Buffer.alloc(Math.max(size, 4)), give: () => {} };

/** Feeds `response` in two pieces split at every position, then byte by byte; returns each outcome. */
function readSplits(response: string, limit = 0): string[] {
  const bytes = Buffer.from(response, 'latin1');
  const splits: Buffer[][] = [];
  for (let at = 0; at <= bytes.length; at++) splits.push([bytes.subarray(0, at), bytes.subarray(at)]);
  splits.push([...bytes].map((b) => Buffer.from([b])));
  return splits.map((pieces) => {
    const reader = new ResponseReader(limit, buffers);
    try {
      let done = false;
      for (const piece of pieces) if (piece.length > 0) done = reader.feed(piece);
      if (!done) reader.end();
      const r = reader.response();
      return `${r.status} ${r.statusText} ${r.contentType ?? '-'} ${r.body.toString('latin1')} keep=${reader.keepAlive && !reader.extra}`;
    } catch (error) {
      return error instanceof RawHttpError ? `${error.kind}: ${error.message}` : String(error);
    }
  });
}

const only = (outcomes: string[]): string[] => [...new Set(outcomes)];

describe('ResponseReader', () => {
  it('reads the same response however it is split', () => {
    expect(
      only(
        readSplits(
          'HTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n' +
            'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: gzip, chunked\r\n\r\n' +
            '3;a=b\r\nabc\r\nA\r\n0123456789\r\n0\r\nT: 1\r\n\r\n',
        ),
      ),
    ).toEqual(['200 OK text/plain abc0123456789 keep=true']);
    expect(only(readSplits('HTTP/1.1 200 OK\nContent-Length: 3\n\nabc'))).toEqual(['200 OK - abc keep=true']);
    expect(only(readSplits('HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nabc'))).toEqual([
      '200 OK - abc keep=false',
    ]);
    expect(only(readSplits('HTTP/1.1 200 OK\r\nConnection: Close\r\nContent-Length: 0\r\n\r\n'))).toEqual([
      '200 OK -  keep=false',
    ]);
    expect(only(readSplits('HTTP/1.1 200 OK\r\n\r\nuntil close'))).toEqual([
      '200 OK - until close keep=false',
    ]);
    expect(only(readSplits('HTTP/1.1 500 Oops\r\nContent-Length: 3\r\n\r\nabc'))).toEqual([
      '500 Oops -  keep=false',
    ]);
  });

  it('fails at the body limit and on bad framing, however split', () => {
    expect(only(readSplits('HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n0123456789x', 10))).toEqual([
      'too_large: body exceeds 10 bytes',
    ]);
    expect(only(readSplits('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab'))).toEqual([
      'failed: the target closed the connection in the middle of the body',
    ]);
    expect(only(readSplits('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n'))).toEqual([
      'failed: target sent a malformed HTTP response: bad chunk size "-1"',
    ]);
    expect(only(readSplits('HTTP/1.1 200 OK\r\nContent-'))).toEqual(['Error: socket hang up']);
  });
});

describe('rawGet', () => {
  const servers: Server[] = [];
  const sockets: Socket[] = [];
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  });

  async function slowServer(delayMs: number): Promise<{ port: number; connections: () => number }> {
    let connections = 0;
    const server = createServer((socket) => {
      connections++;
      sockets.push(socket);
      socket.on('data', () => {
        setTimeout(() => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'), delayMs);
      });
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { port: (server.address() as AddressInfo).port, connections: () => connections };
  }

  const get = (port: number, timeoutMs = 5000) =>
    rawGet({
      host: '127.0.0.1',
      port,
      head: Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'),
      timeoutMs,
      bodyLimitBytes: 0,
      fresh: false,
      buffers,
    });

  it(`opens at most ${MAX_CONNECTIONS_PER_ORIGIN} connections per origin; others wait their turn`, async () => {
    const { port, connections } = await slowServer(30);
    const responses = await Promise.all(Array.from({ length: 10 }, () => get(port)));
    expect(responses.map((r) => r.body.toString())).toEqual(Array(10).fill('ok'));
    expect(connections()).toBe(MAX_CONNECTIONS_PER_ORIGIN);
  });

  it('times out a request still waiting for a connection, and the pool stays usable', async () => {
    const { port } = await slowServer(200);
    const results = await Promise.allSettled(
      Array.from({ length: MAX_CONNECTIONS_PER_ORIGIN + 1 }, () => get(port, 100)),
    );
    expect(results.map((r) => (r.status === 'rejected' ? (r.reason as RawHttpError).kind : 'ok'))).toEqual(
      Array(MAX_CONNECTIONS_PER_ORIGIN + 1).fill('timeout'),
    );
    expect((await get(port)).body.toString()).toBe('ok');
  });
});
