import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir } from '../../test/support/tmp.js';
import { runTcpProbe, runTlsProbe, type ProbeContext, type TlsProbeConfig } from './index.js';

const ctx: ProbeContext = { signal: new AbortController().signal, now: () => Date.now() };
const DAY = 86_400_000;

/** A self-signed certificate for db.internal (and 127.0.0.1), valid 3 days from now, made with the openssl CLI. */
function makeCertificate(dir: string): { certFile: string; keyFile: string } {
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '3',
        '-subj',
        '/CN=db.internal',
        '-addext',
        'subjectAltName=DNS:db.internal,IP:127.0.0.1',
        '-keyout',
        keyFile,
        '-out',
        certFile,
      ],
      { stdio: 'pipe' },
    );
  } catch (error) {
    throw new Error(
      `could not make a test certificate with openssl (install it: apt-get install openssl): ${String(error)}`,
    );
  }
  return { certFile, keyFile };
}

/** Listens on 127.0.0.1:0 and returns `127.0.0.1:<port>`. */
async function listen(server: TcpServer): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('test server has no TCP address');
  return `127.0.0.1:${address.port}`;
}

describe('runTlsProbe against a real TLS server', () => {
  let temp: { dir: string; remove: () => Promise<void> };
  let certFile = '';
  let target = '';
  let silentTarget = '';
  let plainTarget = '';
  const serverNames: string[] = [];
  const servers: TcpServer[] = [];
  const sockets = new Set<Socket>();

  beforeAll(async () => {
    temp = await makeTempDir('tls-probe');
    const made = makeCertificate(temp.dir);
    certFile = made.certFile;
    const tlsServer = createTlsServer(
      {
        cert: readFileSync(made.certFile),
        key: readFileSync(made.keyFile),
        // Called during the handshake, so the name is recorded before the client sees the handshake done.
        SNICallback: (servername, callback) => {
          serverNames.push(servername);
          callback(null, undefined);
        },
      },
      (socket: TLSSocket) => {
        socket.on('error', () => undefined);
        socket.on('data', (data: Buffer) => socket.write(data.toString() === 'PING\n' ? 'PONG\n' : 'WHAT\n'));
      },
    );
    tlsServer.on('tlsClientError', () => undefined);
    const silentServer = createTcpServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
    });
    const plainServer = createTcpServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.write('SSH-2.0-OpenSSH_9.6\r\n');
    });
    servers.push(tlsServer, silentServer, plainServer);
    target = await listen(tlsServer);
    silentTarget = await listen(silentServer);
    plainTarget = await listen(plainServer);
  });
  afterAll(async () => {
    sockets.forEach((socket) => socket.destroy());
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
    await temp.remove();
  });

  function probe(extra: Partial<TlsProbeConfig> = {}): TlsProbeConfig {
    return { kind: 'tls', target, timeout: 2000, insecure_skip_verify: false, ...extra };
  }

  it('trusts the certificate through ca_file, sends SNI and measures expiry and handshake', async () => {
    const before = serverNames.length;
    const result = await runTlsProbe(probe({ ca_file: certFile, server_name: 'db.internal' }), ctx);
    expect(result).toMatchObject({ success: true, error: null });
    expect(serverNames[before]).toBe('db.internal');
    const expiry = (result.metrics.probe_tls_cert_expiry_timestamp_seconds ?? 0) * 1000;
    expect(Math.abs(expiry - (Date.now() + 3 * DAY))).toBeLessThan(5 * 60_000);
    expect(result.metrics.probe_ssl_earliest_cert_expiry).toBe(
      result.metrics.probe_tls_cert_expiry_timestamp_seconds,
    );
    expect(result.metrics.probe_tls_handshake_seconds).toBeGreaterThan(0);
    expect(result.metrics.probe_tcp_connect_seconds).toBeGreaterThan(0);
  });

  it('checks an IP target against the certificate IP names', async () => {
    const result = await runTlsProbe(probe({ ca_file: certFile }), ctx);
    expect(result).toMatchObject({ success: true, error: null });
  });

  it('fails on an untrusted certificate but still reports its expiry', async () => {
    const result = await runTlsProbe(probe({ server_name: 'db.internal' }), ctx);
    expect(result.success).toBe(false);
    expect(result.error).toBe(
      `TLS ${target}: certificate of db.internal is not trusted: it is self-signed (DEPTH_ZERO_SELF_SIGNED_CERT); set ca_file to the CA that issued it, or insecure_skip_verify: true`,
    );
    expect(result.metrics.probe_tls_cert_expiry_timestamp_seconds).toBeGreaterThan(Date.now() / 1000);
  });

  it('accepts an untrusted certificate with insecure_skip_verify', async () => {
    const result = await runTlsProbe(
      probe({ insecure_skip_verify: true, server_name: 'other.internal' }),
      ctx,
    );
    expect(result).toMatchObject({ success: true, error: null });
  });

  it('fails when server_name is not in the certificate', async () => {
    const result = await runTlsProbe(probe({ ca_file: certFile, server_name: 'other.internal' }), ctx);
    expect(result.error).toMatch(
      new RegExp(
        `^TLS ${target}: certificate of other\\.internal is not trusted: Hostname/IP does not match certificate's altnames: .*DNS:db\\.internal.*; set server_name to a name the certificate holds$`,
      ),
    );
  });

  it('fails when the certificate expires sooner than cert_expires_after', async () => {
    const soon = await runTlsProbe(
      probe({ ca_file: certFile, server_name: 'db.internal', cert_expires_after: 14 * DAY }),
      ctx,
    );
    expect(soon.error).toBe('certificate of db.internal expires in 2 days (< 14 days)');
    const fine = await runTlsProbe(
      probe({ ca_file: certFile, server_name: 'db.internal', cert_expires_after: DAY }),
      ctx,
    );
    expect(fine.success).toBe(true);
  });

  it('judges expiry by the clock it is given', async () => {
    const later: ProbeContext = { ...ctx, now: () => Date.now() + 3.5 * DAY };
    const result = await runTlsProbe(
      probe({ ca_file: certFile, server_name: 'db.internal', cert_expires_after: 36 * 3_600_000 }),
      later,
    );
    expect(result.error).toMatch(/^certificate of db\.internal expired (11|12) hours ago \(< 1d12h\)$/);
  });

  it('times out a handshake the server never answers', async () => {
    const result = await runTlsProbe(probe({ target: silentTarget, timeout: 300 }), ctx);
    expect(result.error).toBe(`TLS handshake with ${silentTarget}: timed out after 300ms`);
    expect(result.durationSeconds).toBeLessThan(1.5);
  });

  it('says when the port does not speak TLS', async () => {
    const result = await runTlsProbe(probe({ target: plainTarget }), ctx);
    expect(result.error).toBe(
      `TLS handshake with ${plainTarget}: the server did not answer in TLS (wrong version number); is this a plain-text port?`,
    );
  });

  it('says when ca_file cannot be read', async () => {
    const missing = join(temp.dir, 'missing.pem');
    const result = await runTlsProbe(probe({ ca_file: missing }), ctx);
    expect(result.error).toMatch(
      new RegExp(`^TLS ${target}: cannot read ca_file ${missing}: .*no such file`),
    );
  });

  it('runs a tcp probe over TLS: send and expect inside the TLS session', async () => {
    const tls = { ca_file: certFile, server_name: 'db.internal', insecure_skip_verify: false };
    const ok = await runTcpProbe(
      { kind: 'tcp', target, timeout: 2000, send: 'PING\n', expect: '^PONG', tls },
      ctx,
    );
    expect(ok).toMatchObject({ success: true, error: null });
    expect(ok.metrics.probe_tls_cert_expiry_timestamp_seconds).toBeGreaterThan(0);
    const bad = await runTcpProbe(
      { kind: 'tcp', target, timeout: 2000, send: 'HI\n', expect: '^PONG', tls },
      ctx,
    );
    expect(bad.error).toBe(`expected /^PONG/ but ${target} sent "WHAT\\n"`);
  });
});
