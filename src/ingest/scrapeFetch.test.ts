import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { fetchScrapeBody } from './scrapeFetch.js';

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
    expect(await fetchScrapeBody(request(url))).toEqual({ ok: true, text: 'a 1\n', format: 'prometheus' });
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
    expect(await fetchScrapeBody(request(url))).toMatchObject({ ok: true, text: 'a{x="é"} 1\n' });
    expect(await fetchScrapeBody(request('not a url'))).toEqual({
      ok: false,
      error: 'url "not a url" is not a valid URL',
    });
  });
});
