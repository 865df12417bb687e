import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { TokenIdentity, TokenRepository, TokenRole } from '../store/index.js';

const RANK: Record<TokenRole, number> = { viewer: 0, operator: 1, admin: 2 };

/** Who made a request, attached by the auth hook. */
declare module 'fastify' {
  interface FastifyRequest {
    identity?: TokenIdentity;
  }
  interface FastifyContextConfig {
    /** The least role a route needs; `public` routes need no token. */
    role?: TokenRole | 'public';
  }
}

/** Options for {@link createAuthHook}. */
export interface AuthOptions {
  readonly tokens: TokenRepository;
  readonly logger: Logger;
  readonly now: () => number;
  /** Failed attempts per client address per minute before answers become 429. @default 20 */
  readonly maxFailuresPerMinute?: number;
}

/**
 * Checks the bearer token and the route's role on every request. Reading routes need a viewer, changing
 * routes an operator unless they say otherwise. Repeated failures from one address are rate-limited and logged.
 */
export function createAuthHook(options: AuthOptions) {
  const failures = new Map<string, number[]>();
  const limit = options.maxFailuresPerMinute ?? 20;
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const required =
      request.routeOptions.config.role ??
      (request.method === 'GET' || request.method === 'HEAD' ? 'viewer' : 'operator');
    if (required === 'public') return;
    const now = options.now();
    const recent = (failures.get(request.ip) ?? []).filter((t) => now - t < 60_000);
    if (recent.length >= limit) {
      await reply
        .status(429)
        .header('retry-after', '60')
        .send({
          error: {
            code: 'SWAS-AUTH-003',
            message: 'too many failed authentication attempts from this address; wait a minute',
          },
        });
      return;
    }
    const header = request.headers.authorization ?? '';
    const token = header.startsWith('Bearer ') ? header.slice('Bearer '.length).trim() : '';
    const identity = token === '' ? null : await options.tokens.verify(token, now);
    if (identity === null) {
      recent.push(now);
      failures.set(request.ip, recent);
      options.logger.warn(
        { ip: request.ip, url: request.url, failures: recent.length },
        token === '' ? 'API request without a token' : 'API request with an invalid token',
      );
      const message =
        token === ''
          ? 'this route needs an API token: send "Authorization: Bearer <token>" (create one with `swas token create`)'
          : 'the API token is unknown or revoked';
      await reply
        .status(401)
        .header('www-authenticate', 'Bearer')
        .send({ error: { code: token === '' ? 'SWAS-AUTH-001' : 'SWAS-AUTH-002', message } });
      return;
    }
    if (RANK[identity.role] < RANK[required]) {
      options.logger.warn(
        { ip: request.ip, url: request.url, token: identity.name, role: identity.role },
        'API request refused: role too low',
      );
      await reply.status(403).send({
        error: {
          code: 'SWAS-AUTH-004',
          message: `this route needs the ${required} role; token "${identity.name}" is ${identity.role}`,
        },
      });
      return;
    }
    request.identity = identity;
  };
}
