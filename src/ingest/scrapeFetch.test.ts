import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { parseExposition } from './exposition.js';
import { BODY_PIECE_BYTES, decodeBody, fetchScrapeBody } from './scrapeFetch.js';

const servers: Server[] = [];
afterAll(async () => {
  for (const server of servers) server.closeAllConnections();
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
});

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

describe('decodeBody', () => {
  it('splits after newlines, keeps an over-long line whole, and refuses bad UTF-8', () => {
    const long = `${'x'.repeat(BODY_PIECE_BYTES + 10)} 1\n`;
    const pieces = decodeBody(Buffer.from(`a 1\n${long}b 2`));
    expect(pieces).toEqual([`a 1\n`, long, 'b 2']);
    expect(decodeBody(Buffer.alloc(0))).toEqual([]);
    expect(decodeBody(Buffer.from([0x61, 0x20, 0xff, 0x0a]))).toBeNull();
  });
});
