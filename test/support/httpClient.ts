import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { PeerCertificate, TLSSocket } from 'node:tls';

/** What {@link httpCall} got back. */
export interface HttpAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: unknown;
  /** The server certificate, for https:// URLs. */
  readonly peer: PeerCertificate | null;
}

/** Options for {@link httpCall}: TLS material (PEM text) and the client's own address. */
export interface HttpCallOptions {
  readonly method?: 'GET' | 'POST' | 'DELETE';
  readonly token?: string | null;
  readonly json?: unknown;
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
  /** Bind the client to this local address, e.g. 127.0.0.2, to be another client to the server. */
  readonly localAddress?: string;
}

/**
 * One HTTP(S) request with what fetch cannot do: a private CA, a client certificate, a chosen source
 * address. A fresh connection every time (no keep-alive), so a reloaded certificate is seen at once.
 */
export function httpCall(url: string, options: HttpCallOptions = {}): Promise<HttpAnswer> {
  const target = new URL(url);
  const request = target.protocol === 'https:' ? httpsRequest : httpRequest;
  const body = options.json === undefined ? undefined : JSON.stringify(options.json);
  return new Promise((resolve, reject) => {
    const req = request(
      target,
      {
        method: options.method ?? 'GET',
        agent: false,
        timeout: 15_000,
        headers: {
          ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(options.ca === undefined ? {} : { ca: options.ca }),
        ...(options.cert === undefined ? {} : { cert: options.cert }),
        ...(options.key === undefined ? {} : { key: options.key }),
        ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
      },
      (res) => {
        const peer = target.protocol === 'https:' ? (res.socket as TLSSocket).getPeerCertificate() : null;
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            parsed = text;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed, peer });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('no answer within 15 s')));
    req.on('error', reject);
    req.end(body);
  });
}
