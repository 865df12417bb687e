import { readFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCa, makeSignedCert, type CertFiles } from '../../test/support/certs.js';
import { makeTempDir } from '../../test/support/tmp.js';
import { TlsTroubleLog, tlsTroubleOf } from './tlsTrouble.js';

// Real handshakes against real certificates: the codes are Node's and OpenSSL's, not made up here.
describe('tlsTroubleOf', () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let ca: CertFiles;
  const servers: Server[] = [];

  beforeAll(async () => {
    tmp = await makeTempDir('tls-trouble');
    ca = makeCa(tmp.dir, 'ca');
  });
  afterAll(async () => {
    for (const server of servers) server.close();
    await tmp?.remove();
  });

  const serve = async (cert: CertFiles, clientCa?: string): Promise<number> => {
    const server = createServer(
      {
        cert: readFileSync(cert.certFile),
        key: readFileSync(cert.keyFile),
        ...(clientCa === undefined ? {} : { ca: clientCa, requestCert: true, rejectUnauthorized: true }),
      },
      (_req, res) => res.end('ok'),
    );
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return (server.address() as AddressInfo).port;
  };
  const failure = (port: number, options: { ca?: string; servername?: string } = {}): Promise<Error> =>
    new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, method: 'POST', ...options }, () =>
        reject(new Error('expected the handshake to fail')),
      );
      req.on('error', resolve);
      req.end('{}');
    });

  it('advises on an untrusted, expired or misnamed server certificate and a missing client certificate', async () => {
    const caPem = readFileSync(ca.certFile, 'utf8');
    const good = await serve(makeSignedCert(tmp.dir, ca, 'good'));
    const expired = await serve(makeSignedCert(tmp.dir, ca, 'expired', { expired: true }));
    const mtls = await serve(makeSignedCert(tmp.dir, ca, 'mtls'), caPem);

    expect(tlsTroubleOf(await failure(good))).toEqual({
      code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      error: 'unable to verify the first certificate',
      advice:
        "the server's TLS certificate is not trusted; set tls.ca_file in agent.yaml to the CA that signed it",
    });
    const old = tlsTroubleOf(await failure(expired, { ca: caPem }));
    expect(old?.code).toBe('CERT_HAS_EXPIRED');
    expect(old?.advice).toMatch(/renew the certificate in the server's server\.tls\.cert_file/);
    const misnamed = tlsTroubleOf(await failure(good, { ca: caPem, servername: 'swas.example.com' }));
    expect(misnamed?.code).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
    expect(misnamed?.advice).toMatch(/does not name the host in agent\.yaml `server`/);
    // Wrapped, as enrollment wraps it: found through the cause.
    const wrapped = new Error('cannot reach the server', { cause: await failure(mtls, { ca: caPem }) });
    const noClientCert = tlsTroubleOf(wrapped);
    expect(noClientCert?.code).toBe('ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED');
    expect(noClientCert?.error).toBe('tlsv13 alert certificate required');
    expect(noClientCert?.advice).toMatch(/set tls\.cert_file and tls\.key_file in agent\.yaml/);
    expect(tlsTroubleOf(new Error('connect ECONNREFUSED 127.0.0.1:1'))).toBeNull();
  });

  it('logs each distinct trouble once until reset', async () => {
    const port = await serve(makeSignedCert(tmp.dir, ca, 'once'));
    const warned: string[] = [];
    const log = new TlsTroubleLog({
      debug: () => undefined,
      info: () => undefined,
      warn: (_fields, message) => warned.push(message),
      error: () => undefined,
    });
    const error = await failure(port);
    expect(log.note(error, 'cannot connect', 'wss://x')).toBe(true);
    expect(log.note(error, 'cannot connect', 'wss://x')).toBe(true);
    expect(log.note(new Error('socket hang up'), 'cannot connect', 'wss://x')).toBe(false);
    expect(warned).toHaveLength(1);
    log.reset();
    log.note(error, 'cannot connect', 'wss://x');
    expect(warned).toHaveLength(2);
    expect(warned[0]).toMatch(
      /^cannot connect: the server's TLS certificate is not trusted; .* retrying with backoff$/,
    );
  });
});
