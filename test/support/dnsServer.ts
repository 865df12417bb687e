import { createSocket, type RemoteInfo } from 'node:dgram';
import { isIPv4, isIPv6 } from 'node:net';

/** One record the test DNS server answers with. */
export type TestDnsRecord =
  | { type: 'A' | 'AAAA' | 'CNAME' | 'NS'; value: string }
  | { type: 'TXT'; value: string }
  | { type: 'MX'; priority: number; exchange: string }
  | { type: 'SRV'; priority: number; weight: number; port: number; target: string };

/** What the server knows, and names it misbehaves for. */
export interface TestDnsZone {
  /** Records by name (case-insensitive, no trailing dot); a name not here gets NXDOMAIN. */
  records: Record<string, TestDnsRecord[]>;
  /** Names the server never answers, so clients time out. */
  silent?: string[];
  /** Names answered with SERVFAIL. */
  servfail?: string[];
}

/** A running UDP DNS server on 127.0.0.1. */
export interface TestDnsServer {
  /** `127.0.0.1:<port>`, ready for `Resolver.setServers`. */
  readonly address: string;
  /** Questions received, as `TYPE name`. */
  readonly queries: string[];
  stop(): Promise<void>;
}

const TYPE_CODES: Record<TestDnsRecord['type'], number> = {
  A: 1,
  NS: 2,
  CNAME: 5,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
};
const TYPE_NAMES = new Map(Object.entries(TYPE_CODES).map(([name, code]) => [code, name]));
const RCODE = { noError: 0, servFail: 2, nxDomain: 3, formErr: 1 } as const;

/** A name in wire format, uncompressed. */
function encodeName(name: string): Buffer {
  const labels = name
    .replace(/\.$/, '')
    .split('.')
    .filter((label) => label !== '');
  return Buffer.concat([
    ...labels.map((label) => Buffer.concat([Buffer.from([label.length]), Buffer.from(label)])),
    Buffer.from([0]),
  ]);
}

/** An IPv6 address as its 16 bytes (handles `::`). */
function ipv6Bytes(text: string): Buffer {
  const [head = '', tail] = text.split('::');
  const groups = (part: string) => (part === '' ? [] : part.split(':'));
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const all = [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  const bytes = Buffer.alloc(16);
  all.forEach((group, i) => bytes.writeUInt16BE(parseInt(group, 16), i * 2));
  return bytes;
}

function u16(value: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(value);
  return b;
}

/** The RDATA of one record. */
function encodeData(record: TestDnsRecord): Buffer {
  switch (record.type) {
    case 'A':
      if (!isIPv4(record.value))
        throw new Error(`test DNS zone: A record ${record.value} is not an IPv4 address`);
      return Buffer.from(record.value.split('.').map(Number));
    case 'AAAA':
      if (!isIPv6(record.value))
        throw new Error(`test DNS zone: AAAA record ${record.value} is not an IPv6 address`);
      return ipv6Bytes(record.value);
    case 'CNAME':
    case 'NS':
      return encodeName(record.value);
    case 'TXT': {
      const text = Buffer.from(record.value);
      const strings: Buffer[] = [];
      for (let at = 0; at < text.length || strings.length === 0; at += 255) {
        const part = text.subarray(at, at + 255);
        strings.push(Buffer.from([part.length]), part);
      }
      return Buffer.concat(strings);
    }
    case 'MX':
      return Buffer.concat([u16(record.priority), encodeName(record.exchange)]);
    case 'SRV':
      return Buffer.concat([
        u16(record.priority),
        u16(record.weight),
        u16(record.port),
        encodeName(record.target),
      ]);
  }
}

/** Reads the single question: its name, type and where the question section ends. */
function readQuestion(message: Buffer): { name: string; type: number; end: number } | null {
  if (message.length < 12 || message.readUInt16BE(4) !== 1) return null;
  const labels: string[] = [];
  let at = 12;
  while (at < message.length) {
    const length = message[at] ?? 0;
    if (length === 0) break;
    if (length > 63) return null; // compression in a question is not something clients send
    labels.push(message.subarray(at + 1, at + 1 + length).toString());
    at += 1 + length;
  }
  if (at + 5 > message.length) return null;
  return { name: labels.join('.').toLowerCase(), type: message.readUInt16BE(at + 1), end: at + 5 };
}

/** Builds the reply: header, the question copied back, and the answers. */
function buildReply(query: Buffer, questionEnd: number, rcode: number, answers: TestDnsRecord[]): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(query.readUInt16BE(0), 0);
  const recursionDesired = (query[2] ?? 0) & 0x01;
  header[2] = 0x80 | 0x04 | recursionDesired; // QR, AA, RD copied
  header[3] = 0x80 | rcode; // RA
  header.writeUInt16BE(questionEnd > 12 ? 1 : 0, 4);
  header.writeUInt16BE(answers.length, 6);
  const records = answers.map((record) => {
    const data = encodeData(record);
    const fixed = Buffer.alloc(10);
    fixed.writeUInt16BE(TYPE_CODES[record.type], 0);
    fixed.writeUInt16BE(1, 2); // class IN
    fixed.writeUInt32BE(60, 4); // TTL
    fixed.writeUInt16BE(data.length, 8);
    return Buffer.concat([Buffer.from([0xc0, 0x0c]), fixed, data]); // name: pointer to the question
  });
  return Buffer.concat([header, query.subarray(12, questionEnd), ...records]);
}

/** Starts a small authoritative UDP DNS server on 127.0.0.1 answering from `zone`. */
export async function startDnsServer(zone: TestDnsZone): Promise<TestDnsServer> {
  const socket = createSocket('udp4');
  const queries: string[] = [];
  const silent = new Set(zone.silent ?? []);
  const servfail = new Set(zone.servfail ?? []);
  const records = new Map(Object.entries(zone.records).map(([name, list]) => [name.toLowerCase(), list]));
  socket.on('message', (message: Buffer, from: RemoteInfo) => {
    const question = readQuestion(message);
    const reply = (rcode: number, answers: TestDnsRecord[], end: number) =>
      socket.send(buildReply(message, end, rcode, answers), from.port, from.address);
    if (question === null) {
      if (message.length >= 12) reply(RCODE.formErr, [], 12);
      return;
    }
    const typeName = TYPE_NAMES.get(question.type) ?? `TYPE${question.type}`;
    queries.push(`${typeName} ${question.name}`);
    if (silent.has(question.name)) return;
    if (servfail.has(question.name)) return reply(RCODE.servFail, [], question.end);
    const known = records.get(question.name);
    if (known === undefined) return reply(RCODE.nxDomain, [], question.end);
    reply(
      RCODE.noError,
      known.filter((record) => record.type === typeName),
      question.end,
    );
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => resolve());
  });
  return {
    address: `127.0.0.1:${socket.address().port}`,
    queries,
    stop: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
