import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import {
  createServer as createNetServer,
  type AddressInfo,
  type Server as NetServer,
  type Socket,
} from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { parseExposition } from './exposition.js';
import { BODY_PIECE_BYTES, SCRAPE_ACCEPT_HEADER, decodeBody, fetchScrapeBody } from './scrapeFetch.js';

const servers: Server[] = [];
const netServers: NetServer[] = [];
const netSockets: Socket[] = [];
afterAll(async () => {
  for (const server of servers) server.closeAllConnections();
  for (const socket of netSockets) socket.destroy();
  await Promise.all([...servers, ...netServers].map((s) => new Promise((resolve) => s.close(resolve))));
});

/**
 * A raw TCP server for responses `node:http` will not send: `onRequest` gets each request head (by the
 * empty line that ends it) with the socket and the count of requests seen on that connection.
 */
async function serveRaw(
  onRequest: (socket: Socket, nth: number) => void,
): Promise<{ url: string; connections: () => number }> {
  let connections = 0;
  const server = createNetServer((socket) => {
    connections++;
    netSockets.push(socket);
    socket.setNoDelay(true);
    let seen = '';
    let nth = 0;
    socket.on('error', () => {});
    socket.on('data', (data) => {
      seen += data.toString('latin1');
      while (seen.includes('\r\n\r\n')) {
        seen = seen.slice(seen.indexOf('\r\n\r\n') + 4);
        onRequest(socket, ++nth);
      }
    });
  });
  netServers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`,
    connections: () => connections,
  };
}

/** Writes `pieces` as separate TCP segments (a pause between them keeps the kernel from merging them). */
async function writeSlowly(socket: Socket, pieces: string[]): Promise<void> {
  for (const piece of pieces) {
    socket.write(piece);
    await sleep(2);
  }
}

function errorOf(result: Awaited<ReturnType<typeof fetchScrapeBody>>): string {
  return result.ok ? 'ok' : result.error;
}

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
}

const request = (url: string, bodyLimitBytes = 0) => ({ url, timeoutMs: 5000, bodyLimitBytes });

describe('fetchScrapeBody', () => {
  it('asks for gzip as Prometheus does and reads a gzip body', async () => {
    const seen: (string | undefined)[] = [];
    const url = await serve((req, res) => {
      seen.push(req.headers['accept-encoding']);
      res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4', 'Content-Encoding': 'gzip' });
      res.end(gzipSync('a 1\n'));
    });
    expect(await fetchScrapeBody(request(url))).toEqual({
      ok: true,
      pieces: ['a 1\n'],
      format: 'prometheus',
    });
    expect(seen).toEqual(['gzip']);
  });

  it('applies the body limit to the decompressed body', async () => {
    const url = await serve((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Encoding': 'gzip' });
      res.end(gzipSync('a 1\n'.repeat(10_000)));
    });
    expect(await fetchScrapeBody(request(url, 1000))).toEqual({
      ok: false,
      limit: 'body_size',
      error:
        "body exceeds the limit of 1000 bytes; raise the target's body limit or make the exporter return less",
    });
  });

  it('rejects a body that claims gzip but is not', async () => {
    const url = await serve((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Encoding': 'gzip' });
      res.end('a 1\n');
    });
    const result = await fetchScrapeBody(request(url));
    expect(result.ok ? '' : result.error).toMatch(
      /^body is not valid gzip \(.+\); check the exporter's Content-Encoding$/,
    );
  });

  it('keeps the connection open between scrapes', async () => {
    const ports: number[] = [];
    const url = await serve((req, res) => {
      ports.push(req.socket.remotePort ?? 0);
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('a 1\n');
    });
    for (let i = 0; i < 3; i++) expect((await fetchScrapeBody(request(url))).ok).toBe(true);
    expect(new Set(ports).size).toBe(1);
  });

  it('scrapes again after the target closed the kept connection', async () => {
    let requests = 0;
    const url = await serve((_req, res) => {
      requests++;
      // The server ends the connection after answering, as one with a short keep-alive timeout does.
      res.writeHead(200, { 'Content-Type': 'text/plain', Connection: 'close' });
      res.end('a 1\n');
    });
    for (let i = 0; i < 3; i++) expect(await fetchScrapeBody(request(url))).toMatchObject({ ok: true });
    expect(requests).toBe(3);
  });

  it('reads non-ASCII UTF-8 and refuses a bad URL with a message', async () => {
    const url = await serve((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('a{x="é"} 1\n');
    });
    expect(await fetchScrapeBody(request(url))).toMatchObject({ ok: true, pieces: ['a{x="é"} 1\n'] });
    expect(await fetchScrapeBody(request('not a url'))).toEqual({
      ok: false,
      error: 'url "not a url" is not a valid URL',
    });
  });

  it('reads bodies larger than one piece, plain and gzip, in whole lines', async () => {
    const lines = Array.from({ length: 20_000 }, (_, i) => `m{i="${i}",path="/é/${i % 7}"} ${i}\n`);
    const body = lines.join('');
    let gzip = false;
    const url = await serve((_req, res) => {
      res.writeHead(200, gzip ? { 'Content-Encoding': 'gzip' } : {});
      res.end(gzip ? gzipSync(body) : body);
    });
    for (gzip of [false, true, false]) {
      const result = await fetchScrapeBody(request(url));
      if (!result.ok) throw new Error(result.error);
      expect(result.pieces.length).toBeGreaterThan(2);
      expect(result.pieces.join('')).toBe(body);
      for (const piece of result.pieces) expect(piece.endsWith('\n')).toBe(true);
      const parsed = parseExposition(result.pieces);
      expect(parsed.ok && parsed.samples.length).toBe(lines.length);
    }
  });
});

describe('fetchScrapeBody over kept plain-http connections', () => {
  it('sends the scrape request headers', async () => {
    let head = '';
    const { url } = await serveRaw((socket) => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\na 1\n');
    });
    netServers[netServers.length - 1]?.on('connection', (socket: Socket) =>
      socket.on('data', (d: Buffer) => (head += d.toString('latin1'))),
    );
    expect(
      await fetchScrapeBody({ url: `${url}?x=1#frag`, timeoutMs: 2500, bodyLimitBytes: 0 }),
    ).toMatchObject({ ok: true, pieces: ['a 1\n'] });
    const lines = head.split('\r\n');
    expect(lines[0]).toBe('GET /metrics?x=1 HTTP/1.1');
    expect(lines).toContain(`Host: ${new URL(url).host}`);
    expect(lines).toContain(`Accept: ${SCRAPE_ACCEPT_HEADER}`);
    expect(lines).toContain('Accept-Encoding: gzip');
    expect(lines).toContain('User-Agent: swas-scraper');
    expect(lines).toContain('X-Prometheus-Scrape-Timeout-Seconds: 2.5');
  });

  it('reads a Content-Length body sent in pieces, and skips a 1xx response', async () => {
    const { url } = await serveRaw((socket) => {
      void writeSlowly(socket, [
        'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nconTent-LENGTH:  8 \r',
        '\nContent-Type: application/openmetrics-text; version=1.0.0\r\n\r',
        '\na 1\n',
        'b 2\n',
      ]);
    });
    expect(await fetchScrapeBody(request(url))).toEqual({
      ok: true,
      pieces: ['a 1\nb 2\n'],
      format: 'openmetrics',
    });
  });

  it('reads a chunked body split across many TCP writes, with extensions and trailers', async () => {
    const body = 'a 1\nb 2\n';
    const { url, connections } = await serveRaw((socket) => {
      void writeSlowly(socket, [
        'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n',
        '4;name=va',
        'lue\r',
        '\na 1',
        '\n\r',
        '\n',
        '4\r\nb ',
        '2\n\r\n0\r\nX-Trailer: ',
        'yes\r\n\r',
        '\n',
      ]);
    });
    for (let i = 0; i < 3; i++) {
      expect(await fetchScrapeBody(request(url))).toEqual({ ok: true, pieces: [body], format: 'prometheus' });
    }
    expect(connections()).toBe(1);
  });

  it('reads a gzip chunked body', async () => {
    const body = 'm{i="1"} 1\n'.repeat(5000);
    const url = await serve((_req, res) => {
      res.writeHead(200, { 'Content-Encoding': 'gzip' });
      const zipped = gzipSync(body);
      // No Content-Length and several writes: node sends it chunked.
      res.write(zipped.subarray(0, 100));
      res.write(zipped.subarray(100, 200));
      res.end(zipped.subarray(200));
    });
    const result = await fetchScrapeBody(request(url));
    expect(result.ok && result.pieces.join('')).toBe(body);
  });

  it('reads a body delimited by the end of the connection, and does not reuse that connection', async () => {
    const { url, connections } = await serveRaw((socket) => {
      socket.end('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\na 1\n');
    });
    for (let i = 0; i < 2; i++)
      expect(await fetchScrapeBody(request(url))).toMatchObject({ ok: true, pieces: ['a 1\n'] });
    expect(connections()).toBe(2);
  });

  it('uses one connection for sequential scrapes, a new one after Connection: close', async () => {
    let connections = 0;
    let close = false;
    const url = await serve((_req, res) => {
      res.writeHead(200, close ? { Connection: 'close' } : {});
      res.end('a 1\n');
    });
    servers[servers.length - 1]?.on('connection', () => connections++);
    for (let i = 0; i < 5; i++) expect((await fetchScrapeBody(request(url))).ok).toBe(true);
    expect(connections).toBe(1);
    close = true;
    for (let i = 0; i < 3; i++) expect((await fetchScrapeBody(request(url))).ok).toBe(true);
    // The first of these still used the kept connection.
    expect(connections).toBe(3);
  });

  it('retries on a new connection when the target closed the kept one (FIN or RST)', async () => {
    for (const reset of [false, true]) {
      const { url, connections } = await serveRaw((socket, nth) => {
        if (nth === 1) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\na 1\n');
        else if (reset) socket.resetAndDestroy();
        else socket.end();
      });
      for (let i = 0; i < 3; i++) expect(await fetchScrapeBody(request(url))).toMatchObject({ ok: true });
      expect(connections()).toBe(3);
    }
  });

  it('fails when a fresh connection closes before answering', async () => {
    const { url } = await serveRaw((socket) => socket.end());
    expect(errorOf(await fetchScrapeBody(request(url)))).toBe('socket hang up');
  });

  it('reports a status other than 200 and drops the connection', async () => {
    const { url, connections } = await serveRaw((socket) => {
      socket.write('HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found');
    });
    for (let i = 0; i < 2; i++) {
      expect(await fetchScrapeBody(request(url))).toEqual({
        ok: false,
        error: 'server returned HTTP status 404 Not Found; expected 200 (check the URL and metrics path)',
      });
    }
    expect(connections()).toBe(2);
  });

  it('times out in the middle of the body', async () => {
    const { url } = await serveRaw((socket) => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\na 1\n');
    });
    const started = Date.now();
    expect(await fetchScrapeBody({ url, timeoutMs: 200, bodyLimitBytes: 0 })).toEqual({
      ok: false,
      error:
        'scrape timed out after 200ms; the target did not answer in time (check it, or raise the timeout)',
    });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('stops at the body limit in the middle of the body, by length or chunked', async () => {
    for (const chunked of [false, true]) {
      const { url } = await serveRaw((socket) => {
        const line = 'x'.repeat(99) + '\n';
        socket.write(
          chunked
            ? 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'
            : 'HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n',
        );
        // Only part of the body is ever sent: the limit must trip while reading, not at the end.
        for (let i = 0; i < 20; i++) socket.write(chunked ? `64\r\n${line}\r\n` : line);
      });
      expect(await fetchScrapeBody({ url, timeoutMs: 5000, bodyLimitBytes: 1000 })).toEqual({
        ok: false,
        limit: 'body_size',
        error:
          "body exceeds the limit of 1000 bytes; raise the target's body limit or make the exporter return less",
      });
    }
  });

  it.each([
    ['HTTP/1.1 OK\r\n\r\n', 'bad status line "HTTP/1.1 OK"'],
    ['SSH-2.0-OpenSSH_9.6\r\n\r\n', 'bad status line "SSH-2.0-OpenSSH_9.6"'],
    ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', 'bad chunk size "zz"'],
    ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\na 1\nXY', 'no CRLF after chunk data'],
    ['HTTP/1.1 200 OK\r\nContent-Length: -4\r\n\r\na 1\n', 'invalid Content-Length "-4"'],
    [
      'HTTP/1.1 200 OK\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\n',
      'conflicting Content-Length headers "4" and "5"',
    ],
    ['HTTP/1.1 200 OK\r\nno colon here\r\n\r\n', 'bad header line "no colon here"'],
    [`HTTP/1.1 200 OK\r\n${'X-Big: y\r\n'.repeat(7000)}`, 'header block larger than 65536 bytes'],
  ])('fails a malformed response %#', async (response, what) => {
    const { url } = await serveRaw((socket) => socket.write(response));
    expect(await fetchScrapeBody(request(url))).toEqual({
      ok: false,
      error: `target sent a malformed HTTP response: ${what}`,
    });
  });

  it('fails a truncated body with a message', async () => {
    const { url } = await serveRaw((socket) => {
      socket.end('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\na 1\n');
    });
    expect(errorOf(await fetchScrapeBody(request(url)))).toBe(
      'the target closed the connection in the middle of the body',
    );
  });

  it('uses two connections for two concurrent scrapes of one target', async () => {
    const { url, connections } = await serveRaw((socket) => {
      setTimeout(() => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\na 1\n'), 50);
    });
    const results = await Promise.all([fetchScrapeBody(request(url)), fetchScrapeBody(request(url))]);
    expect(results.map((r) => r.ok)).toEqual([true, true]);
    expect(connections()).toBe(2);
    await Promise.all([fetchScrapeBody(request(url)), fetchScrapeBody(request(url))]);
    expect(connections()).toBe(2);
  });

  it('reports a refused connection as node does', async () => {
    const { url } = await serveRaw(() => {});
    const server = netServers.pop();
    await new Promise((resolve) => server?.close(resolve));
    expect(errorOf(await fetchScrapeBody(request(url)))).toBe(`connect ECONNREFUSED ${new URL(url).host}`);
  });
});

describe('decodeBody', () => {
  it('splits after newlines, keeps an over-long line whole, and refuses bad UTF-8', () => {
    const long = `${'x'.repeat(BODY_PIECE_BYTES + 10)} 1\n`;
    const pieces = decodeBody(Buffer.from(`a 1\n${long}b 2`));
    expect(pieces).toEqual([`a 1\n`, long, 'b 2']);
    expect(decodeBody(Buffer.alloc(0))).toEqual([]);
    expect(decodeBody(Buffer.from([0x61, 0x20, 0xff, 0x0a]))).toBeNull();
  });
});
