import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enrollmentToken } from './support/agentProcess.js';
import { httpCall } from './support/httpClient.js';
import { startTestServer, type TestServer } from './support/swasServer.js';
import { makeTempDir } from './support/tmp.js';

// Issue 6: enrollment is public (the token is the credential), so token guessing must be slowed down per
// client address without locking out agents that enroll from elsewhere.
describe('enrollment rate limiting', { timeout: 60_000 }, () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let swas: TestServer;
  let admin: string;

  beforeAll(async () => {
    tmp = await makeTempDir('enroll-limit');
    swas = await startTestServer(tmp.dir, '');
    admin = await swas.token('admin');
  });

  afterAll(async () => {
    await swas?.stop();
    await tmp?.remove();
  });

  // The whole loopback range reaches the server, so 127.0.0.2 is another client with its own address.
  const enroll = (token: string, name: string, localAddress: string) =>
    httpCall(`${swas.url}/api/v1/agents/enroll`, {
      method: 'POST',
      json: { token, name, hostname: `${name}.example` },
      localAddress,
    });

  const refusedMetric = async (): Promise<Record<string, number>> => {
    const text = (await swas.get('/metrics', admin)).body as string;
    const out: Record<string, number> = {};
    for (const m of text.matchAll(/^swas_agent_enroll_refused_total\{reason="([a-z_]+)"\} (\d+)$/gm))
      out[m[1] ?? ''] = Number(m[2]);
    return out;
  };

  it('answers 429 with Retry-After after 10 refused tokens from one address, and counts the refusals', async () => {
    for (let i = 0; i < 10; i++) {
      const guess = await enroll(`swas_enroll_guess${i}`, 'intruder', '127.0.0.2');
      expect(guess.status).toBe(401);
    }
    const limited = await enroll('swas_enroll_guess10', 'intruder', '127.0.0.2');
    expect(limited.status).toBe(429);
    const retryAfter = Number(limited.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    const error = (limited.body as { error: { code: string; message: string } }).error;
    expect(error.code).toBe('SWAS-AGENT-015');
    expect(error.message).toContain('too many refused enrollment tokens from 127.0.0.2; try again in');

    // A valid token from the limited address is not even checked: it would tell a guesser it was right.
    const valid = await enrollmentToken(swas, admin, {});
    expect((await enroll(valid, 'intruder', '127.0.0.2')).status).toBe(429);

    // Another address enrolls with that same token at once.
    const ok = await enroll(valid, 'web-1', '127.0.0.1');
    expect(ok.status).toBe(201);
    expect(ok.body).toMatchObject({ agent: { name: 'web-1' } });
    expect((ok.body as { credential: unknown }).credential).toMatch(/^swas_/);

    expect(await refusedMetric()).toMatchObject({ unknown_token: 10, rate_limited: 2 });
  });

  it('does not count bad requests or a taken name towards the limit, but counts them as refusals', async () => {
    const bad = await httpCall(`${swas.url}/api/v1/agents/enroll`, {
      method: 'POST',
      json: { name: 'x' },
      localAddress: '127.0.0.3',
    });
    expect(bad.status).toBe(400);
    for (let i = 0; i < 10; i++) {
      const token = await enrollmentToken(swas, admin, {});
      // web-1 is enrolled above: the name is taken, the (valid) token is not spent.
      expect((await enroll(token, 'web-1', '127.0.0.3')).status).toBe(409);
    }
    const token = await enrollmentToken(swas, admin, {});
    expect((await enroll(token, 'web-2', '127.0.0.3')).status).toBe(201);
    expect(await refusedMetric()).toMatchObject({ invalid_request: 1, name_taken: 10 });
  });
});
