import { createServer, type IncomingMessage, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../test/support/ports.js';
import type { Notification } from './notification.js';
import { WebhookChannel, type WebhookTarget } from './WebhookChannel.js';

const notification: Notification = {
  event: 'incident.opened',
  urgency: 'low',
  incident: {
    id: 7,
    title: 'MemberDown (member=web-1)',
    status: 'open',
    severity: 'page',
    labels: { pool: 'web' },
    openedAt: 1_700_000_000_000,
    resolvedAt: null,
    acknowledgedAt: null,
  },
  alerts: [
    {
      labels: { alertname: 'MemberDown' },
      annotations: {},
      state: 'firing',
      activeAt: 1_700_000_000_000,
      firedAt: 1_700_000_001_000,
    },
  ],
  reason: 'alert MemberDown is firing',
  timeline: [{ at: 1_700_000_000_000, kind: 'alert.firing', message: 'MemberDown firing' }],
  url: 'http://127.0.0.1:7927/#/incidents/7',
};

let server: Server | undefined;
afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

async function receiver(
  statuses: number[],
  received: { headers: IncomingMessage['headers']; body: unknown }[],
  hang = false,
): Promise<string> {
  server = createServer((req, res) => {
    let text = '';
    req.on('data', (chunk: Buffer) => (text += chunk.toString()));
    req.on('end', () => {
      received.push({ headers: req.headers, body: JSON.parse(text) as unknown });
      if (hang) return;
      res.statusCode = statuses.shift() ?? 200;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/hook`;
}

const target = (url: string, extra: Partial<WebhookTarget> = {}): WebhookTarget => ({
  name: 'ops',
  url,
  headers: { authorization: 'Bearer s3cret' },
  timeoutMs: 1000,
  retries: 3,
  events: ['incident.opened'],
  ...extra,
});

describe('WebhookChannel', () => {
  it('posts the documented JSON body with headers', async () => {
    const received: { headers: IncomingMessage['headers']; body: unknown }[] = [];
    const url = await receiver([200], received);
    const result = await new WebhookChannel(target(url), { now: () => 1_700_000_002_000 }).deliver(
      notification,
    );
    expect(result).toMatchObject({ ok: true, attempts: 1, error: null, channel: 'ops' });
    expect(received[0]?.headers).toMatchObject({
      'content-type': 'application/json',
      authorization: 'Bearer s3cret',
      'x-swas-event': 'incident.opened',
      'x-swas-delivery': result.deliveryId,
    });
    expect(received[0]?.body).toEqual({
      version: '1',
      delivery_id: result.deliveryId,
      event: 'incident.opened',
      sent_at: '2023-11-14T22:13:22.000Z',
      urgency: 'low',
      reason: 'alert MemberDown is firing',
      incident: {
        id: 7,
        title: 'MemberDown (member=web-1)',
        status: 'open',
        severity: 'page',
        labels: { pool: 'web' },
        opened_at: '2023-11-14T22:13:20.000Z',
        acknowledged_at: null,
        resolved_at: null,
        url: 'http://127.0.0.1:7927/#/incidents/7',
      },
      alerts: [
        {
          labels: { alertname: 'MemberDown' },
          annotations: {},
          state: 'firing',
          active_at: '2023-11-14T22:13:20.000Z',
          fired_at: '2023-11-14T22:13:21.000Z',
        },
      ],
      timeline: [{ at: '2023-11-14T22:13:20.000Z', kind: 'alert.firing', message: 'MemberDown firing' }],
    });
  });

  it('retries a failing receiver with the same delivery id until it answers 2xx', async () => {
    const received: { headers: IncomingMessage['headers']; body: unknown }[] = [];
    const url = await receiver([503, 500, 204], received);
    const result = await new WebhookChannel(target(url), { backoffMs: 10 }).deliver(notification);
    expect(result).toMatchObject({ ok: true, attempts: 3 });
    expect(new Set(received.map((r) => r.headers['x-swas-delivery']))).toEqual(new Set([result.deliveryId]));
  });

  it('gives up after its retries and says why, when the receiver is down', async () => {
    const closed = `http://127.0.0.1:${await freePort()}/hook`;
    const result = await new WebhookChannel(target(closed, { retries: 2 }), { backoffMs: 10 }).deliver(
      notification,
    );
    expect(result.ok).toBe(false);
    expect(result.attempts).toBe(3);
    expect(result.error).toMatch(/ECONNREFUSED/);
  });

  it('times out a receiver that never answers', async () => {
    const url = await receiver([], [], true);
    const result = await new WebhookChannel(target(url, { retries: 1, timeoutMs: 200 }), {
      backoffMs: 10,
    }).deliver(notification);
    expect(result).toMatchObject({ ok: false, attempts: 2, error: 'no answer within 200 ms' });
    server?.closeAllConnections();
  });

  it('only wants the events it is subscribed to', () => {
    const channel = new WebhookChannel(target('http://127.0.0.1:9/'));
    expect(channel.wants('incident.opened')).toBe(true);
    expect(channel.wants('incident.resolved')).toBe(false);
  });
});
