import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { errorMessage } from '../core/index.js';
import { LbError, type LbErrorContext } from './LbError.js';
import {
  MEMBER_ADMIN_STATES,
  type LoadBalancer,
  type MemberAdminState,
  type PoolMember,
  type PoolSummary,
} from './LoadBalancer.js';
import {
  BIGIP_ADMIN_PATCH,
  bigIpErrorMessage,
  buildBigIpMembers,
  parseMemberConfigs,
  parseMemberStats,
  parsePoolNames,
  type BigIpParse,
} from './bigipParsers.js';

/** Options for {@link BigIpLoadBalancer.create}. */
export interface BigIpLoadBalancerOptions {
  /** The load balancer's name in swas config. */
  readonly name: string;
  /** The management address, e.g. `https://bigip.example.com` (iControl REST lives under `/mgmt/tm`). */
  readonly url: string;
  readonly username: string;
  readonly password: string;
  /** @default 'Common' */
  readonly partition?: string;
  /**
   * `token` logs in once (`POST /mgmt/shared/authn/login`) and sends `X-F5-Auth-Token`, logging in again when
   * the token expires; `basic` sends the credentials with every request. @default 'token'
   */
  readonly auth?: 'token' | 'basic';
  /** Per request, in milliseconds. @default 5000 */
  readonly timeoutMs?: number;
}

/** BIG-IP's limits for a member's `ratio`. */
export const BIGIP_MIN_RATIO = 1;
export const BIGIP_MAX_RATIO = 65535;
// Pool and member names: letters, digits and . _ - : (members are node:port; IPv6 uses addr.port).
const BIGIP_NAME = /^[A-Za-z0-9._:-]{1,255}$/;

interface Answer {
  readonly status: number;
  readonly body: string;
}

/**
 * The LoadBalancer port over F5 BIG-IP's iControl REST API. Drain is "Disabled" (existing and persistent
 * connections continue, no new ones), maint is "Forced Offline", ready is "Enabled"; weights are member
 * ratios. State is read fresh on every call and every change is read back before it counts as done.
 */
export class BigIpLoadBalancer implements LoadBalancer {
  readonly name: string;
  private readonly base: URL;
  private readonly partition: string;
  private readonly timeoutMs: number;
  private token: string | null = null;

  private constructor(private readonly options: BigIpLoadBalancerOptions) {
    this.name = options.name;
    this.base = new URL(options.url);
    this.partition = options.partition ?? 'Common';
    this.timeoutMs = options.timeoutMs ?? 5000;
  }

  /** Checks the options and builds the adapter; does not connect. */
  static create(options: BigIpLoadBalancerOptions): BigIpLoadBalancer {
    const context = { lb: options.name, endpoint: options.url };
    let url: URL;
    try {
      url = new URL(options.url);
    } catch {
      throw new LbError(
        'invalid_argument',
        `BIG-IP "${options.name}": url "${options.url}" is not a URL`,
        context,
      );
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new LbError(
        'invalid_argument',
        `BIG-IP "${options.name}": url must be https://host[:port]`,
        context,
      );
    }
    if (options.username === '' || options.password === '') {
      throw new LbError(
        'invalid_argument',
        `BIG-IP "${options.name}": username and password are required (a user with the Operator role suffices)`,
        context,
      );
    }
    if (options.partition !== undefined && !BIGIP_NAME.test(options.partition)) {
      throw new LbError('invalid_argument', `BIG-IP "${options.name}": invalid partition name`, context);
    }
    return new BigIpLoadBalancer(options);
  }

  /** Where this adapter talks to the BIG-IP, for display. */
  get endpoint(): string {
    return this.base.origin;
  }

  async listPools(): Promise<PoolSummary[]> {
    const names = this.parsed(
      parsePoolNames(await this.getJson('/mgmt/tm/ltm/pool', {}), this.partition),
      {},
    );
    const out: PoolSummary[] = [];
    for (const name of names) {
      const members = await this.readPool(name);
      const up = members.filter((m) => m.operational === 'up' || m.operational === 'starting').length;
      const serving = members.some((m) => m.admin === 'ready' && m.operational === 'up');
      out.push({ name, members: members.length, up, status: serving ? 'UP' : 'DOWN' });
    }
    return out;
  }

  listMembers(pool: string): Promise<PoolMember[]> {
    this.checkName('pool', pool, { pool });
    return this.readPool(pool);
  }

  async getMember(pool: string, member: string): Promise<PoolMember> {
    this.checkName('pool', pool, { pool, member });
    this.checkName('member', member, { pool, member });
    const members = await this.readPool(pool);
    const found = members.find((m) => m.name === member);
    if (found !== undefined) return found;
    throw new LbError(
      'no_such_member',
      `pool "${pool}" of BIG-IP "${this.name}" (${this.endpoint}) has no member "${member}"; it has ` +
        `${members.length === 0 ? 'no members' : members.map((m) => m.name).join(', ')}`,
      this.context({ pool, member }),
    );
  }

  async setAdminState(pool: string, member: string, state: MemberAdminState): Promise<void> {
    const target = { pool, member };
    this.checkName('pool', pool, target);
    this.checkName('member', member, target);
    if (!MEMBER_ADMIN_STATES.includes(state)) {
      throw this.invalid(
        `admin state ${JSON.stringify(state)} for ${pool}/${member}; use ready, drain or maint`,
        target,
      );
    }
    await this.patchMember(pool, member, BIGIP_ADMIN_PATCH[state]);
    const after = await this.getMember(pool, member);
    if (after.admin === state) return;
    throw new LbError(
      'command_failed',
      `BIG-IP "${this.name}" accepted the change of ${pool}/${member} to ${state} but reports it ${after.admin} ` +
        `(${after.statusText}); check the member on the BIG-IP`,
      this.context(target),
    );
  }

  async setWeight(pool: string, member: string, weight: number): Promise<void> {
    const target = { pool, member };
    this.checkName('pool', pool, target);
    this.checkName('member', member, target);
    if (!Number.isInteger(weight) || weight < BIGIP_MIN_RATIO || weight > BIGIP_MAX_RATIO) {
      throw this.invalid(
        `weight ${String(weight)} for ${pool}/${member}; BIG-IP ratios are whole numbers from ${BIGIP_MIN_RATIO} ` +
          `to ${BIGIP_MAX_RATIO} (to stop new connections, drain the member instead)`,
        target,
      );
    }
    await this.patchMember(pool, member, { ratio: weight });
    const after = await this.getMember(pool, member);
    if (after.weight === weight) return;
    throw new LbError(
      'command_failed',
      `BIG-IP "${this.name}" accepted ratio ${weight} for ${pool}/${member} but reports ${after.weight}`,
      this.context(target),
    );
  }

  private async readPool(pool: string): Promise<PoolMember[]> {
    const target = { pool };
    const path = `/mgmt/tm/ltm/pool/${this.pathName(pool)}/members`;
    const configs = this.parsed(parseMemberConfigs(await this.getJson(path, target)), target);
    const stats = this.parsed(parseMemberStats(await this.getJson(`${path}/stats`, target)), target);
    return buildBigIpMembers(pool, configs, stats);
  }

  private async patchMember(pool: string, member: string, body: Record<string, unknown>): Promise<void> {
    const path = `/mgmt/tm/ltm/pool/${this.pathName(pool)}/members/${this.pathName(member)}`;
    await this.call('PATCH', path, JSON.stringify(body), { pool, member });
  }

  private async getJson(path: string, target: { pool?: string; member?: string }): Promise<unknown> {
    const answer = await this.call('GET', path, null, target);
    try {
      return JSON.parse(answer.body) as unknown;
    } catch {
      throw new LbError(
        'command_failed',
        `BIG-IP "${this.name}" answered GET ${path} with a body that is not JSON; check that url points at the ` +
          `management address`,
        this.context({ ...target, command: `GET ${path}` }),
      );
    }
  }

  /** One request with authentication; a token that expired is renewed once. */
  private async call(
    method: string,
    path: string,
    body: string | null,
    target: { pool?: string; member?: string },
  ): Promise<Answer> {
    const command = `${method} ${path}`;
    let answer = await this.send(method, path, body, await this.authHeaders(target), target);
    if (answer.status === 401 && this.options.auth !== 'basic' && this.token !== null) {
      this.token = null;
      answer = await this.send(method, path, body, await this.authHeaders(target), target);
    }
    if (answer.status >= 200 && answer.status < 300) return answer;
    const message = bigIpErrorMessage(answer.body);
    const context = this.context({ ...target, command, reply: message });
    if (answer.status === 401 || answer.status === 403) {
      throw new LbError(
        'permission_denied',
        `BIG-IP "${this.name}" refused ${command} (HTTP ${answer.status}: ${message}); check the credentials and ` +
          `that the user may change pool members (role Operator or higher) in partition ${this.partition}`,
        context,
      );
    }
    if (answer.status === 404) {
      const kind = target.member !== undefined && method === 'PATCH' ? 'no_such_member' : 'no_such_pool';
      const what =
        kind === 'no_such_member'
          ? `member "${target.member}" of pool "${target.pool}"`
          : `pool "${target.pool}"`;
      throw new LbError(
        kind,
        `BIG-IP "${this.name}" has no ${what} in partition ${this.partition} (${message})`,
        context,
      );
    }
    throw new LbError(
      'command_failed',
      `BIG-IP "${this.name}" rejected ${command}: HTTP ${answer.status}: ${message}`,
      context,
    );
  }

  private async authHeaders(target: { pool?: string; member?: string }): Promise<Record<string, string>> {
    if (this.options.auth === 'basic') {
      const basic = Buffer.from(`${this.options.username}:${this.options.password}`).toString('base64');
      return { authorization: `Basic ${basic}` };
    }
    if (this.token === null) {
      const login = JSON.stringify({
        username: this.options.username,
        password: this.options.password,
        loginProviderName: 'tmos',
      });
      const answer = await this.send('POST', '/mgmt/shared/authn/login', login, {}, target);
      if (answer.status !== 200) {
        throw new LbError(
          'permission_denied',
          `BIG-IP "${this.name}" refused the login of "${this.options.username}" (HTTP ${answer.status}: ` +
            `${bigIpErrorMessage(answer.body)}); check username and password`,
          this.context({ ...target, command: 'POST /mgmt/shared/authn/login' }),
        );
      }
      const token = readToken(answer.body);
      if (token === null) {
        throw new LbError(
          'command_failed',
          `BIG-IP "${this.name}" answered the login without a token; check that url points at the management address`,
          this.context({ ...target, command: 'POST /mgmt/shared/authn/login' }),
        );
      }
      this.token = token;
    }
    return { 'x-f5-auth-token': this.token };
  }

  private send(
    method: string,
    path: string,
    body: string | null,
    headers: Record<string, string>,
    target: { pool?: string; member?: string },
  ): Promise<Answer> {
    const url = new URL(path, this.base);
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<Answer>((resolve, reject) => {
      const req = request(
        url,
        {
          method,
          headers: {
            ...headers,
            accept: 'application/json',
            ...(body === null
              ? {}
              : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }),
          },
          timeout: this.timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
          );
          res.on('error', (error) => reject(this.unreachable(method, path, error, target)));
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.timeoutMs} ms`)));
      req.on('error', (error) => reject(this.unreachable(method, path, error, target)));
      req.end(body ?? undefined);
    });
  }

  private unreachable(
    method: string,
    path: string,
    error: unknown,
    target: { pool?: string; member?: string },
  ): LbError {
    return new LbError(
      'unreachable',
      `BIG-IP "${this.name}" at ${this.endpoint} is unreachable: ${errorMessage(error)}`,
      this.context({ ...target, command: `${method} ${path}` }),
      { cause: error },
    );
  }

  // Names are checked against BIGIP_NAME first, so they need no escaping in a path.
  private pathName(name: string): string {
    return `~${this.partition}~${name}`;
  }

  private parsed<T>(result: BigIpParse<T>, target: { pool?: string; member?: string }): T {
    if (result.ok) return result.value;
    throw new LbError(
      'command_failed',
      `BIG-IP "${this.name}" gave an unreadable answer: ${result.error}; check that it runs TMOS 12 or later`,
      this.context(target),
    );
  }

  private checkName(
    what: 'pool' | 'member',
    value: string,
    target: { pool?: string; member?: string },
  ): void {
    if (BIGIP_NAME.test(value)) return;
    throw this.invalid(
      `${what} name ${JSON.stringify(value)}; BIG-IP ${what} names use only letters, digits, '.', '-', '_' and ':'`,
      target,
    );
  }

  private invalid(what: string, target: { pool?: string; member?: string }): LbError {
    return new LbError(
      'invalid_argument',
      `BIG-IP "${this.name}" (${this.endpoint}): invalid ${what}`,
      this.context(target),
    );
  }

  private context(extra: Partial<LbErrorContext>): LbErrorContext {
    return { lb: this.name, endpoint: this.endpoint, ...extra };
  }
}

function readToken(body: string): string | null {
  try {
    const json = JSON.parse(body) as { token?: { token?: unknown } };
    return typeof json.token?.token === 'string' ? json.token.token : null;
  } catch {
    return null;
  }
}
