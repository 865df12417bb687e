import { z } from 'zod';
import { isStaleNaN, STALE_NAN } from '../core/index.js';

/**
 * The agent link: JSON text frames over a WebSocket the agent opens to `/api/v1/agents/connect`
 * (`Authorization: Bearer <agent credential>`). Both sides validate every frame with these schemas; the
 * server closes an agent's connection on a malformed or oversized frame, the agent logs and ignores a
 * malformed frame from the server.
 */
export const AGENT_PROTOCOL_VERSION = 1;

/** The largest frame either side accepts, in bytes. */
export const MAX_FRAME_BYTES = 4 * 1024 * 1024;

/** The most samples one `samples` frame may carry. */
export const MAX_SAMPLES_PER_FRAME = 20_000;

const labelName = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const metricName = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

/**
 * A sample value: a number, or the text of a non-finite value (JSON has no NaN or infinities); `stale` is
 * Prometheus's staleness marker, so a series the agent stopped reporting ends at once on the server.
 */
export const wireValue = z.union([z.number(), z.enum(['NaN', '+Inf', '-Inf', 'stale'])]);

/** One sample as agents send it. */
export const wireSample = z.strictObject({
  name: z.string().regex(metricName, { message: 'not a metric name' }),
  labels: z.record(z.string().regex(labelName, { message: 'not a label name' }), z.string().max(4096)),
  /** Epoch milliseconds. */
  t: z.number().int().nonnegative(),
  v: wireValue,
});

/** Frames an agent sends. */
export const agentFrame = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('hello'),
    protocol: z.literal(AGENT_PROTOCOL_VERSION),
    hostname: z.string().min(1).max(253),
    version: z.string().max(64),
    labels: z.record(z.string().regex(labelName), z.string().max(1024)).default({}),
    /** The version of the pushed config the agent runs, or null before any push. */
    configVersion: z.string().max(128).nullable(),
  }),
  z.strictObject({
    type: z.literal('samples'),
    /** The spool sequence number of this batch; the server acks it once the samples are durable. */
    seq: z.number().int().positive(),
    samples: z.array(wireSample).max(MAX_SAMPLES_PER_FRAME),
  }),
  z.strictObject({
    type: z.literal('action_result'),
    id: z.string().min(1).max(128),
    ok: z.boolean(),
    exitCode: z.number().int().nullable(),
    /** Captured output, tail-trimmed by the agent. */
    output: z.string().max(65_536),
    durationMs: z.number().nonnegative(),
    /** Why it failed or was refused (an action not in the agent's allow-list), else null. */
    error: z.string().max(4096).nullable(),
  }),
  z.strictObject({
    type: z.literal('config_status'),
    version: z.string().max(128),
    ok: z.boolean(),
    error: z.string().max(4096).nullable(),
  }),
]);

/** Frames the server sends. */
export const serverFrame = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('welcome'), agent: z.string(), serverTime: z.number() }),
  z.strictObject({ type: z.literal('ack'), seq: z.number().int().positive() }),
  z.strictObject({
    type: z.literal('action'),
    id: z.string().min(1).max(128),
    /** The name of an action in the agent's own allow-list; nothing else is ever run. */
    name: z.string().min(1).max(128),
    timeoutMs: z.number().int().positive(),
    // The signed part (see actionSigning.ts). Optional here so the agent can refuse an unsigned request
    // with a reason the server records, instead of dropping it as malformed.
    /** The id of the agent the request is for. */
    agentId: z.string().min(1).max(128).optional(),
    /** When the server issued the request, epoch milliseconds. */
    issuedAt: z.number().int().nonnegative().optional(),
    /** The end of the acceptance window, epoch milliseconds. */
    expiresAt: z.number().int().nonnegative().optional(),
    /** Base64 Ed25519 signature by the server's agent signing key over the fields above. */
    signature: z.string().max(256).optional(),
  }),
  z.strictObject({ type: z.literal('config'), version: z.string().min(1).max(128), config: z.unknown() }),
]);

/** A frame from an agent. */
export type AgentFrame = z.output<typeof agentFrame>;
/** A frame from the server. */
export type ServerFrame = z.output<typeof serverFrame>;
/** A sample on the wire. */
export type WireSample = z.output<typeof wireSample>;

/** Why a frame was refused: what was wrong and where. */
export type FrameParse<T> = { ok: true; frame: T } | { ok: false; error: string };

/** Parses and validates one frame; never throws. */
export function parseFrame<T>(schema: z.ZodType<T>, data: string | Buffer): FrameParse<T> {
  const size = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
  if (size > MAX_FRAME_BYTES)
    return { ok: false, error: `frame of ${size} bytes is over the ${MAX_FRAME_BYTES}-byte limit` };
  let json: unknown;
  try {
    json = JSON.parse(typeof data === 'string' ? data : data.toString('utf8'));
  } catch (error) {
    return { ok: false, error: `frame is not JSON: ${(error as Error).message}` };
  }
  const parsed = schema.safeParse(json);
  if (parsed.success) return { ok: true, frame: parsed.data };
  const issue = parsed.error.issues[0];
  const where = issue === undefined || issue.path.length === 0 ? '' : `${issue.path.join('.')}: `;
  return { ok: false, error: `bad frame: ${where}${issue?.message ?? 'invalid'}` };
}

/** A wire value as a number. */
export function fromWireValue(v: z.output<typeof wireValue>): number {
  if (typeof v === 'number') return v;
  if (v === 'stale') return STALE_NAN;
  return v === 'NaN' ? Number.NaN : v === '+Inf' ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
}

/** A number as a wire value. */
export function toWireValue(v: number): z.output<typeof wireValue> {
  if (Number.isFinite(v)) return v;
  if (isStaleNaN(v)) return 'stale';
  return Number.isNaN(v) ? 'NaN' : v > 0 ? '+Inf' : '-Inf';
}
