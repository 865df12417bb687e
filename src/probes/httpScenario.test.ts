import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../test/support/ports.js';
import { httpScenarioSchema } from '../config/httpProbeSchema.js';
import { runHttpScenario, type HttpScenarioConfig, type ProbeContext } from './index.js';

const ctx: ProbeContext = { signal: new AbortController().signal, now: () => Date.now() };
const sockets = new Set<Socket>();
let server: Server;
let base = '';

/** Parses through the real config schema, so the tests also pin the schema's output shape. */
function scenario(steps: Record<string, unknown>[], timeout = '5s'): HttpScenarioConfig {
  return httpScenarioSchema.parse({ kind: 'http_scenario', timeout, steps });
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function cookies(req: IncomingMessage): Record<string, string> {
  const pairs = (req.headers.cookie ?? '').split(';').map((p) => p.trim().split('='));
  return Object.fromEntries(pairs.filter((p) => p.length === 2).map(([k = '', v = '']) => [k, v]));
}

/** A tiny app: a login page with a CSRF token, form or JSON login setting a session cookie and a token. */
async function app(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://x');
  const body = await readBody(req);
  if (url.pathname === '/login-page') {
    res.writeHead(200, { 'Content-Type': 'text/html', 'X-Request-Id': 'req-77' });
    res.end('<form><input type="hidden" name="csrf" value="c5rf42"></form>');
  } else if (url.pathname === '/login') {
    const fields =
      req.headers['content-type'] === 'application/json'
        ? (JSON.parse(body) as Record<string, string>)
        : Object.fromEntries(new URLSearchParams(body));
    if (fields.user !== 'alice' || fields.password !== 'secret' || fields.csrf !== 'c5rf42') {
      res.writeHead(401, { 'Content-Type': 'application/json' }).end('{"error":"bad credentials"}');
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/json', 'Set-Cookie': 'session=s-1; Path=/; HttpOnly' });
    res.end(JSON.stringify({ auth: { token: 'tok-123' } }));
  } else if (url.pathname === '/login-redirect') {
    res.writeHead(303, { Location: '/profile-cookie-only', 'Set-Cookie': 'session=s-1; Path=/' }).end();
  } else if (url.pathname === '/profile') {
    const ok = cookies(req).session === 's-1' && req.headers.authorization === 'Bearer tok-123';
    res.writeHead(ok ? 200 : 401).end(ok ? 'Welcome alice' : 'who are you?');
  } else if (url.pathname === '/profile-cookie-only') {
    const ok = cookies(req).session === 's-1';
    res.writeHead(ok ? 200 : 401).end(ok ? 'Welcome back' : 'who are you?');
  } else if (url.pathname === '/logout') {
    res.writeHead(200, { 'Set-Cookie': 'session=s-1; Path=/; Max-Age=0' }).end('bye');
  } else if (url.pathname === '/hang') {
    return;
  } else res.writeHead(404).end('not found');
}

beforeAll(async () => {
  server = createServer((req, res) => void app(req, res));
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => server.close(resolve));
});

const loginPage = () => ({
  name: 'login-page',
  url: `${base}/login-page`,
  expect: { body_contains: 'csrf' },
  extract: { csrf: { regex: 'name="csrf" value="(\\w+)"' }, request_id: { header: 'X-Request-Id' } },
});

const formLogin = (password: string) => ({
  name: 'login',
  method: 'POST',
  url: `${base}/login`,
  headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  body: `user=alice&password=${password}&csrf={{ vars.csrf }}`,
  extract: { token: { json: '$.auth.token' } },
});

const profile = () => ({
  name: 'profile',
  url: `${base}/profile?via={{vars.request_id}}`,
  headers: { Authorization: 'Bearer {{ vars.token }}' },
  expect: { body_contains: 'Welcome alice' },
});

describe('runHttpScenario', () => {
  it('logs in with a form, keeps the cookie, uses the token and reads a protected page', async () => {
    const result = await runHttpScenario(scenario([loginPage(), formLogin('secret'), profile()]), ctx);
    expect(result.error).toBeNull();
    expect(result.success).toBe(true);
    expect(result.metrics).toMatchObject({
      probe_http_scenario_steps: 3,
      probe_http_scenario_steps_passed: 3,
      probe_http_scenario_failed_step: 0,
      probe_http_status_code: 200,
    });
  });

  it('logs in with a JSON body', async () => {
    const jsonLogin = {
      ...formLogin('secret'),
      headers: { 'Content-Type': 'application/json' },
      body: '{"user":"alice","password":"secret","csrf":"{{ vars.csrf }}"}',
    };
    const result = await runHttpScenario(scenario([loginPage(), jsonLogin, profile()]), ctx);
    expect(result.error).toBeNull();
  });

  it('names the step whose login fails', async () => {
    const result = await runHttpScenario(scenario([loginPage(), formLogin('wrong'), profile()]), ctx);
    expect(result.success).toBe(false);
    expect(result.error).toBe('step 2 (login): status 401 not in [2xx]');
    expect(result.metrics).toMatchObject({
      probe_http_scenario_steps_passed: 1,
      probe_http_scenario_failed_step: 2,
      probe_http_status_code: 401,
    });
  });

  it('fails the step when a value cannot be extracted', async () => {
    const step = { ...formLogin('secret'), extract: { token: { json: '$.token' } } };
    const result = await runHttpScenario(scenario([loginPage(), step, profile()]), ctx);
    expect(result.error).toBe('step 2 (login): extract token: $.token not found in the JSON body');
  });

  it('stops sending a cookie the server deleted with Max-Age=0', async () => {
    const logout = { name: 'logout', url: `${base}/logout` };
    const refused = { ...profile(), name: 'profile-after-logout', expect: { status: [401] } };
    const result = await runHttpScenario(scenario([loginPage(), formLogin('secret'), logout, refused]), ctx);
    expect(result.error).toBeNull();
  });

  it('keeps a cookie set on a redirect response', async () => {
    const step = {
      name: 'login',
      method: 'POST',
      url: `${base}/login-redirect`,
      body: 'x=1',
      expect: { body_contains: 'Welcome back' },
    };
    const result = await runHttpScenario(scenario([step]), ctx);
    expect(result.error).toBeNull();
    expect(result.metrics.probe_http_redirects).toBe(1);
  });

  it('fails within the scenario timeout and names the step that hung', async () => {
    const started = Date.now();
    const hang = { name: 'hang', url: `${base}/hang` };
    const result = await runHttpScenario(scenario([loginPage(), hang], '400ms'), ctx);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(result.error).toBe(
      `step 2 (hang): GET ${base}/hang: timed out after 400ms while waiting for the response`,
    );
  });

  it('reports a refused connection with the step', async () => {
    const url = `http://127.0.0.1:${await freePort()}/`;
    const result = await runHttpScenario(scenario([{ name: 'first', url }]), ctx);
    expect(result.error).toBe(
      `step 1 (first): GET ${url}: connection refused (ECONNREFUSED); is the service listening?`,
    );
  });
});
