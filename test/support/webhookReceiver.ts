import { createServer, type Server } from 'node:http';

/** A local webhook receiver that records what swas sends; `failFirst` answers 503 that many times first. */
export async function startWebhookReceiver(options: { failFirst?: number } = {}): Promise<{
  url: string;
  received: {
    event: string;
    urgency: string;
    reason: string;
    incident: { id: number; status: string };
    delivery: string;
  }[];
  attempts: number;
  stop(): Promise<void>;
}> {
  let failures = options.failFirst ?? 0;
  const state = {
    url: '',
    received: [] as {
      event: string;
      urgency: string;
      reason: string;
      incident: { id: number; status: string };
      delivery: string;
    }[],
    attempts: 0,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  const server: Server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      state.attempts += 1;
      if (failures > 0) {
        failures -= 1;
        response.statusCode = 503;
        response.end();
        return;
      }
      const parsed = JSON.parse(body) as {
        event: string;
        urgency: string;
        reason: string;
        incident: { id: number; status: string };
      };
      state.received.push({ ...parsed, delivery: String(request.headers['x-swas-delivery']) });
      response.statusCode = 204;
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  state.url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/hook`;
  return state;
}
