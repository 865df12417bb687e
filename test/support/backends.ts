import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { freePort } from './ports.js';

/** A tiny real HTTP server for load-balancer tests: `/health` answers 200, `/slow` waits for `release()`. */
export interface HttpBackend {
  readonly name: string;
  readonly port: number;
  /** Requests answered or held since start, health checks excluded. */
  readonly served: number;
  /** `/slow` requests waiting for `release()`. */
  readonly held: number;
  /** Answers every held `/slow` request. */
  release(): void;
  /** Stops listening and drops open connections (health checks start failing). */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  start(): Promise<void>;
}

/** Starts an HTTP backend on a free port (or the one given) of 127.0.0.1. */
export async function startHttpBackend(name: string, port?: number): Promise<HttpBackend> {
  const held: ServerResponse[] = [];
  let served = 0;
  const handle = (request: IncomingMessage, response: ServerResponse): void => {
    if (request.url === '/health') {
      response.end('ok');
      return;
    }
    served++;
    if (request.url === '/slow') {
      held.push(response);
      return;
    }
    response.end(name);
  };
  const listenPort = port ?? (await freePort());
  let server: Server = await listen(handle, listenPort);
  const release = (): void => {
    for (const response of held.splice(0)) response.end(name);
  };
  return {
    name,
    port: listenPort,
    get served() {
      return served;
    },
    get held() {
      return held.length;
    },
    release,
    async stop() {
      release();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
    async start() {
      if (server.listening) return;
      server = await listen(handle, listenPort);
    },
  };
}

async function listen(
  handle: (request: IncomingMessage, response: ServerResponse) => void,
  port: number,
): Promise<Server> {
  const server = createServer(handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return server;
}
