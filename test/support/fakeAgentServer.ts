import { createPublicKey, generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  actionSigningPayload,
  agentFrame,
  parseFrame,
  type AgentFrame,
  type SignedActionFields,
} from '../../src/agent/index.js';

/** One `samples` frame as the fake server received it, with the connection it came on. */
export interface ReceivedBatch {
  readonly seq: number;
  readonly samples: Extract<AgentFrame, { type: 'samples' }>['samples'];
  readonly connection: number;
}

/**
 * A small server speaking the agent protocol, for testing the agent: enrollment with single-use tokens,
 * bearer-checked WebSocket connect, welcome after hello, ack after each samples frame (unless paused), and
 * levers to cut the link, stop and restart on the same port, revoke a credential and send raw frames. Like
 * the real server it has an Ed25519 key, sends its public key at enrollment and signs action requests.
 */
export class FakeAgentServer {
  /** Every valid frame received, in order. */
  readonly frames: AgentFrame[] = [];
  /** Frames that failed validation (the agent must never send one). */
  readonly invalidFrames: string[] = [];
  /** Every samples frame received (replays included), in order. */
  readonly batches: ReceivedBatch[] = [];
  /** Seqs acknowledged so far. */
  readonly acked = new Set<number>();
  /** Seqs received again after the server had acknowledged them (must stay empty). */
  readonly duplicatesAfterAck: number[] = [];
  /** Enrollment requests, accepted or not. */
  readonly enrollments: {
    token: string;
    name: string;
    hostname: string;
    labels: Record<string, string>;
    status: number;
  }[] = [];
  /** Connect attempts refused with 401. */
  refusedConnects = 0;
  /** Whether samples are acknowledged as they arrive. */
  autoAck = true;
  /** The key action requests are signed with; its public half is sent at enrollment. */
  readonly actionKey: KeyObject = generateKeyPairSync('ed25519').privateKey;
  private readonly tokens = new Set<string>();
  private readonly credentials = new Set<string>();
  private readonly sockets = new Set<WebSocket>();
  private connectionCount = 0;
  private server: Server | null = null;
  private readonly wss = new WebSocketServer({ noServer: true });

  private constructor(private port: number) {}

  /** Starts on a free 127.0.0.1 port with the given valid enrollment tokens. */
  static async start(tokens: readonly string[] = []): Promise<FakeAgentServer> {
    const fake = new FakeAgentServer(0);
    for (const token of tokens) fake.tokens.add(token);
    await fake.listen();
    return fake;
  }

  /** http://127.0.0.1:PORT */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Connections accepted so far. */
  get connections(): number {
    return this.connectionCount;
  }

  /** Connections open now. */
  get openConnections(): number {
    return this.sockets.size;
  }

  /** Distinct seqs received, in order of first arrival. */
  distinctSeqs(): number[] {
    return [...new Set(this.batches.map((b) => b.seq))];
  }

  /** Accepts a further enrollment token. */
  addToken(token: string): void {
    this.tokens.add(token);
  }

  /** Makes a credential unknown: the next connect with it gets 401. */
  revoke(credential: string): void {
    this.credentials.delete(credential);
  }

  /**
   * Sends a frame object to every open connection; an `action` frame without a `signature` is signed for
   * the last enrolled agent first (see {@link signedAction}). Text is sent as it is (malformed or unsigned frames).
   */
  send(frame: string | object): void {
    const signIt =
      typeof frame === 'object' && 'type' in frame && frame.type === 'action' && !('signature' in frame);
    const text =
      typeof frame === 'string'
        ? frame
        : JSON.stringify(signIt ? this.signedAction(frame as Partial<SignedActionFields>) : frame);
    for (const socket of this.sockets) socket.send(text);
  }

  /** The agent id the last accepted enrollment was given. */
  get lastAgentId(): string {
    return `agent-${this.enrollments.length}`;
  }

  /**
   * A signed `action` frame: `fields` over defaults (a random id, 5 s timeout, for the last enrolled agent,
   * issued now, valid 60 s), signed with `key` (default: this server's action key).
   */
  signedAction(fields: Partial<SignedActionFields>, key: KeyObject = this.actionKey): object {
    const issuedAt = fields.issuedAt ?? Date.now();
    const signed: SignedActionFields = {
      agentId: this.lastAgentId,
      id: randomUUID(),
      name: 'hello',
      timeoutMs: 5000,
      expiresAt: issuedAt + 60_000,
      ...fields,
      issuedAt,
    };
    const signature = sign(null, actionSigningPayload(signed), key).toString('base64');
    return { type: 'action', ...fields, ...signed, signature };
  }

  /** Acknowledges a seq now (with autoAck off). */
  ack(seq: number): void {
    this.acked.add(seq);
    this.send({ type: 'ack', seq });
  }

  /** Closes every open agent connection (the server keeps listening). */
  dropConnections(): void {
    for (const socket of this.sockets) socket.terminate();
  }

  /** Stops listening and drops every connection; `restart()` listens again on the same port. */
  async stop(): Promise<void> {
    this.dropConnections();
    const server = this.server;
    this.server = null;
    if (server === null) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Listens again on the same port. */
  async restart(): Promise<void> {
    await this.listen();
  }

  /** Stops for good. */
  async close(): Promise<void> {
    await this.stop();
    this.wss.close();
  }

  private async listen(): Promise<void> {
    const server = createServer((req, res) => void this.onRequest(req, res));
    server.on('upgrade', (req, socket, head) => this.onUpgrade(req, socket, head));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    if (typeof address === 'object' && address !== null) this.port = address.port;
    this.server = server;
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'POST' || req.url !== '/api/v1/agents/enroll') {
      res.writeHead(404).end();
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
      token: string;
      name: string;
      hostname: string;
      labels: Record<string, string>;
    };
    const valid = this.tokens.delete(body.token);
    this.enrollments.push({ ...body, status: valid ? 201 : 401 });
    if (!valid) {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'enrollment token is invalid, expired or already used' }));
      return;
    }
    const credential = `cred-${randomUUID()}`;
    this.credentials.add(credential);
    res.writeHead(201, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        agent: { id: this.lastAgentId, name: body.name },
        credential,
        actionKey: publicPem(this.actionKey),
      }),
    );
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (req.url !== '/api/v1/agents/connect' || bearer === undefined || !this.credentials.has(bearer)) {
      this.refusedConnects += 1;
      socket.end('HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws));
  }

  private onConnection(ws: WebSocket): void {
    const connection = ++this.connectionCount;
    this.sockets.add(ws);
    ws.on('close', () => this.sockets.delete(ws));
    ws.on('message', (data: Buffer) => {
      const parsed = parseFrame(agentFrame, data);
      if (!parsed.ok) {
        this.invalidFrames.push(`${parsed.error}: ${data.toString('utf8').slice(0, 200)}`);
        return;
      }
      const frame = parsed.frame;
      this.frames.push(frame);
      if (frame.type === 'hello')
        ws.send(JSON.stringify({ type: 'welcome', agent: 'agent-1', serverTime: Date.now() }));
      if (frame.type !== 'samples') return;
      if (this.acked.has(frame.seq)) this.duplicatesAfterAck.push(frame.seq);
      this.batches.push({ seq: frame.seq, samples: frame.samples, connection });
      if (this.autoAck) {
        this.acked.add(frame.seq);
        ws.send(JSON.stringify({ type: 'ack', seq: frame.seq }));
      }
    });
  }
}

function publicPem(privateKey: KeyObject): string {
  return createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString();
}
