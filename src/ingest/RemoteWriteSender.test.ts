import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readdirSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InputError, labelsKey } from '../core/index.js';
import { decodeWriteRequest, snappyDecode } from './index.js';
import { makeTempDir } from '../../test/support/tmp.js';
import { MemorySeriesStore } from '../tsdb/index.js';
import { RemoteWriteSender } from './RemoteWriteSender.js';

/** A real remote-write receiver over HTTP that decodes bodies and can be told to fail. */
interface Receiver {
  readonly url: string;
  /** `series-key@t=v` for every sample received, in arrival order. */
  readonly samples: string[];
  status: number;
  close(): Promise<void>;
}

async function startReceiver(): Promise<Receiver> {
  const samples: string[] = [];
  const receiver: { samples: string[]; status: number } = { samples, status: 204 };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (receiver.status < 300) {
        const request = decodeWriteRequest(snappyDecode(Buffer.concat(chunks)));
        for (const s of request.series) {
          const key = labelsKey(Object.fromEntries(s.labels.map((l) => [l.name, l.value])));
          s.t.forEach((t, i) => samples.push(`${key}@${t}=${s.v[i]}`));
        }
      }
      res.writeHead(receiver.status).end(receiver.status < 300 ? '' : 'receiver says no');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/write`;
  return Object.assign(receiver, {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}

let dir: string;
let removeDir: () => Promise<void>;
let receiver: Receiver | undefined;
const senders: RemoteWriteSender[] = [];

function sender(
  options: Partial<Parameters<typeof RemoteWriteSender.create>[0]> & { url: string },
): RemoteWriteSender {
  const s = RemoteWriteSender.create({
    queueDir: dir,
    minBackoffMs: 5,
    maxBackoffMs: 20,
    flushIntervalMs: 50,
    ...options,
  });
  senders.push(s);
  return s;
}

beforeEach(async () => {
  ({ dir, remove: removeDir } = await makeTempDir('rw-sender'));
});

afterEach(async () => {
  for (const s of senders.splice(0)) await s.close();
  await receiver?.close();
  receiver = undefined;
  await removeDir();
});

const up = (instance: string) => ({ __name__: 'up', instance });

describe('RemoteWriteSender', () => {
  it('refuses options that cannot work', () => {
    expect(() => RemoteWriteSender.create({ url: 'nope', queueDir: dir })).toThrow(InputError);
    expect(() => RemoteWriteSender.create({ url: 'ftp://x/', queueDir: dir })).toThrow(/http or https/);
    expect(() =>
      RemoteWriteSender.create({ url: 'http://x/', queueDir: dir, maxSamplesPerBatch: 0 }),
    ).toThrow(/maxSamplesPerBatch/);
  });

  it('forwards to the next store and sends only the samples it accepted, in batches', async () => {
    receiver = await startReceiver();
    const store = new MemorySeriesStore();
    const s = sender({ url: receiver.url, next: store, maxSamplesPerBatch: 3 });
    expect(s.append(up('a'), 1000, 1)).toEqual({ ok: true });
    expect(s.append(up('a'), 500, 9)).toEqual({ ok: false, reason: 'out_of_order' });
    for (let t = 2000; t <= 5000; t += 1000) s.append(up('b'), t, t / 1000);
    expect(await s.drain(5000)).toBe(true);
    expect(store.sampleCount()).toBe(5);
    const a = labelsKey(up('a'));
    const b = labelsKey(up('b'));
    expect(receiver.samples.sort()).toEqual(
      [`${a}@1000=1`, `${b}@2000=2`, `${b}@3000=3`, `${b}@4000=4`, `${b}@5000=5`].sort(),
    );
    expect(s.stats()).toMatchObject({
      sentSamples: 5,
      queuedBatches: 0,
      droppedSamples: 0,
      failedAttempts: 0,
    });
  });

  it('keeps batches through a receiver outage and delivers them in order afterwards', async () => {
    receiver = await startReceiver();
    receiver.status = 503;
    const errors: string[] = [];
    const s = sender({ url: receiver.url, maxSamplesPerBatch: 2, onError: (m) => errors.push(m) });
    for (let t = 1; t <= 10; t++) s.append(up('a'), t * 1000, t);
    expect(await s.drain(200)).toBe(false);
    expect(s.stats().queuedSamples).toBe(10);
    expect(readdirSync(dir).filter((n) => n.endsWith('.rw'))).toHaveLength(5);
    expect(errors[0]).toMatch(/HTTP 503, will retry: receiver says no/);
    receiver.status = 204;
    expect(await s.drain(5000)).toBe(true);
    const key = labelsKey(up('a'));
    expect(receiver.samples).toEqual(
      Array.from({ length: 10 }, (_, i) => `${key}@${(i + 1) * 1000}=${i + 1}`),
    );
    expect(s.stats().failedAttempts).toBeGreaterThan(0);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('drops the oldest batches past maxQueueBytes and counts them', async () => {
    receiver = await startReceiver();
    receiver.status = 503;
    const s = sender({ url: receiver.url, maxSamplesPerBatch: 1, maxQueueBytes: 150 });
    for (let t = 1; t <= 20; t++) s.append(up('a'), t * 1000, t);
    const stats = s.stats();
    expect(stats.droppedSamples).toBeGreaterThan(0);
    expect(stats.queuedBytes).toBeLessThanOrEqual(150 + 60);
    receiver.status = 204;
    expect(await s.drain(5000)).toBe(true);
    const delivered = receiver.samples.map((x) => Number(x.split('=').at(-1)));
    // The newest samples survive; what was dropped is exactly what is missing.
    expect(delivered.at(-1)).toBe(20);
    expect(delivered.length + s.stats().droppedSamples).toBe(20);
  });

  it('resumes the on-disk queue after a restart', async () => {
    const first = sender({ url: 'http://127.0.0.1:9/api/v1/write' });
    for (let t = 1; t <= 4; t++) first.append(up('a'), t * 1000, t);
    await first.close();
    receiver = await startReceiver();
    const second = sender({ url: receiver.url });
    expect(second.stats().queuedSamples).toBe(4);
    second.append(up('a'), 5000, 5);
    expect(await second.drain(5000)).toBe(true);
    expect(receiver.samples.map((x) => x.split('@')[1])).toEqual([
      '1000=1',
      '2000=2',
      '3000=3',
      '4000=4',
      '5000=5',
    ]);
  });

  it('does not retry a batch the receiver refuses with 400', async () => {
    receiver = await startReceiver();
    receiver.status = 400;
    const s = sender({ url: receiver.url });
    s.append(up('a'), 1000, 1);
    expect(await s.drain(5000)).toBe(true);
    expect(s.stats()).toMatchObject({ rejectedSamples: 1, sentSamples: 0, failedAttempts: 0 });
    expect(s.stats().lastError).toMatch(/HTTP 400, batch dropped/);
  });
});

describe('RemoteWriteSender queue directory failures', () => {
  it('counts a batch it cannot write to disk as dropped instead of failing the append', async () => {
    const s = sender({ url: 'http://127.0.0.1:9/api/v1/write' });
    await removeDir();
    s.append(up('a'), 1000, 1);
    s.flush();
    expect(s.stats()).toMatchObject({ droppedSamples: 1, queuedSamples: 0 });
    expect(s.stats().lastError).toMatch(/cannot store a batch \(1 samples dropped\)/);
  });
});
