import { isIP } from 'node:net';
import { LbError } from './LbError.js';
import {
  MEMBER_ADMIN_STATES,
  type LoadBalancer,
  type MemberAdminState,
  type NewPoolMember,
  type PoolMember,
  type PoolSummary,
} from './LoadBalancer.js';
import { HaproxyRuntimeClient, type RuntimeCommandTarget } from './HaproxyRuntimeClient.js';
import {
  buildPoolMembers,
  describeAdminFlags,
  isInheritedState,
  parseServersState,
  parseStatCsv,
  summarizePools,
  type ParseResult,
  type ServerStateRow,
} from './haproxyParsers.js';

/** Options for {@link HaproxyLoadBalancer.create}. */
export interface HaproxyLoadBalancerOptions {
  /** The load balancer's name in swas config. */
  readonly name: string;
  /** The runtime API: a unix socket path or host:port; it must be declared `level admin` for writes. */
  readonly socket: string;
  /**
   * Limit on connecting and on each wait for reply data, in milliseconds.
   * @default 2000
   */
  readonly timeoutMs?: number;
}

/** HAProxy's own limit for `set server … weight`. */
export const HAPROXY_MAX_WEIGHT = 256;
// HAProxy accepts letters, digits, '.', '-', '_' and ':' in proxy and server names; anything else could not
// name a real backend and might smuggle extra arguments into a runtime-API command.
const HAPROXY_NAME = /^[A-Za-z0-9._:-]{1,128}$/;
// Between the two reads of one listing a server can be added or removed at runtime; one re-read settles it.
const READ_ATTEMPTS = 2;

/** The LoadBalancer port over HAProxy's runtime API; state is read fresh on every call, never cached. */
export class HaproxyLoadBalancer implements LoadBalancer {
  readonly name: string;
  private readonly client: HaproxyRuntimeClient;

  private constructor(name: string, client: HaproxyRuntimeClient) {
    this.name = name;
    this.client = client;
  }

  /** Checks the options and builds the adapter; does not connect (HAProxy may start later). */
  static create(options: HaproxyLoadBalancerOptions): HaproxyLoadBalancer {
    if (options.name.trim() === '') {
      throw new LbError(
        'invalid_argument',
        `a HAProxy load balancer needs a name (socket ${options.socket})`,
        {
          lb: options.name,
          endpoint: options.socket,
        },
      );
    }
    const client = HaproxyRuntimeClient.create({
      lbName: options.name,
      socket: options.socket,
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    });
    return new HaproxyLoadBalancer(options.name, client);
  }

  /** Where this adapter talks to HAProxy, for display. */
  get endpoint(): string {
    return this.client.endpoint;
  }

  async listPools(): Promise<PoolSummary[]> {
    const states = this.parsed(
      parseServersState(await this.client.query('show servers state')),
      'show servers state',
    );
    // Type 2 = backend rows only; a backend without servers is still a pool.
    const stats = this.parsed(
      parseStatCsv(await this.client.query('show stat -1 2 -1')),
      'show stat -1 2 -1',
    );
    return summarizePools(states, stats);
  }

  async listMembers(pool: string): Promise<PoolMember[]> {
    this.checkName('pool', pool, { pool });
    return (await this.readPool(pool)).members;
  }

  async getMember(pool: string, member: string): Promise<PoolMember> {
    this.checkName('pool', pool, { pool, member });
    this.checkName('member', member, { pool, member });
    return (await this.readMember(pool, member)).member;
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
    const command = `set server ${pool}/${member} state ${state}`;
    await this.client.execute(command, target);
    const after = await this.readMember(pool, member);
    if (after.member.admin === state) return;
    const why = describeAdminFlags(after.adminFlags);
    const advice = isInheritedState(after.adminFlags, after.member.admin)
      ? 'the state comes from the server it tracks; change that server instead'
      : 'check the HAProxy log and the member with `swas lb members`';
    throw new LbError(
      'command_failed',
      `HAProxy "${this.name}" (runtime API ${this.endpoint}) accepted "${command}" but ${pool}/${member} is still ` +
        `'${after.member.admin}' (${why.join(', ') || 'no admin flags'}); ${advice}`,
      { lb: this.name, endpoint: this.endpoint, ...target, command },
    );
  }

  async setWeight(pool: string, member: string, weight: number): Promise<void> {
    const target = { pool, member };
    this.checkName('pool', pool, target);
    this.checkName('member', member, target);
    if (!Number.isInteger(weight) || weight < 0 || weight > HAPROXY_MAX_WEIGHT) {
      throw this.invalid(
        `weight ${String(weight)} for ${pool}/${member}; HAProxy takes a whole number from 0 to ${HAPROXY_MAX_WEIGHT}`,
        target,
      );
    }
    const command = `set server ${pool}/${member} weight ${weight}`;
    await this.client.execute(command, target);
    const after = await this.readMember(pool, member);
    if (after.member.weight === weight) return;
    throw new LbError(
      'command_failed',
      `HAProxy "${this.name}" (runtime API ${this.endpoint}) accepted "${command}" but ${pool}/${member} reports ` +
        `weight ${after.member.weight}; an agent-check may be setting weights for this server`,
      { lb: this.name, endpoint: this.endpoint, ...target, command },
    );
  }

  async addMember(pool: string, member: NewPoolMember): Promise<void> {
    const target = { pool, member: member.name };
    this.checkName('pool', pool, target);
    this.checkName('member', member.name, target);
    if (isIP(member.address) === 0)
      throw this.invalid(
        `address ${JSON.stringify(member.address)} for ${pool}/${member.name}; give an IPv4 or IPv6 address`,
        target,
      );
    if (!Number.isInteger(member.port) || member.port < 1 || member.port > 65535)
      throw this.invalid(`port ${String(member.port)} for ${pool}/${member.name}; use 1 to 65535`, target);
    if (!Number.isInteger(member.weight) || member.weight < 1 || member.weight > HAPROXY_MAX_WEIGHT)
      throw this.invalid(
        `weight ${String(member.weight)} for ${pool}/${member.name}; use 1 to ${HAPROXY_MAX_WEIGHT}`,
        target,
      );
    const existing = (await this.readPool(pool)).members.find((m) => m.name === member.name);
    if (existing !== undefined)
      throw new LbError(
        'command_failed',
        `backend "${pool}" of HAProxy "${this.name}" already has a server "${member.name}" (${existing.address}:${String(existing.port)}); remove it first or pick another name`,
        { lb: this.name, endpoint: this.endpoint, ...target },
      );
    const address = member.address.includes(':') ? `[${member.address}]` : member.address;
    const slowstart = member.slowstartMs > 0 ? ` slowstart ${member.slowstartMs}ms` : '';
    // Dynamic servers start in maint; `check` uses the backend's check settings (option httpchk …).
    const command = `add server ${pool}/${member.name} ${address}:${member.port} weight ${member.weight} check${slowstart}`;
    const reply = (await this.client.send(command, target)).trim();
    if (!/New server registered/i.test(reply))
      throw new LbError(
        'command_failed',
        `HAProxy "${this.name}" (runtime API ${this.endpoint}) refused "${command}": ${reply || 'no reply'}; dynamic servers need HAProxy 2.4 or later`,
        { lb: this.name, endpoint: this.endpoint, ...target, command },
      );
    await this.client.execute(`enable health ${pool}/${member.name}`, target);
  }

  async removeMember(pool: string, member: string): Promise<void> {
    const target = { pool, member };
    this.checkName('pool', pool, target);
    this.checkName('member', member, target);
    const { member: current } = await this.readMember(pool, member);
    if (current.admin !== 'maint' || current.activeSessions > 0)
      throw new LbError(
        'command_failed',
        `${pool}/${member} is ${current.admin} with ${current.activeSessions} active session(s); put it in maint and let its sessions end before removing it`,
        { lb: this.name, endpoint: this.endpoint, ...target },
      );
    const command = `del server ${pool}/${member}`;
    const reply = (await this.client.send(command, target)).trim();
    if (!/Server deleted/i.test(reply))
      throw new LbError(
        'command_failed',
        `HAProxy "${this.name}" (runtime API ${this.endpoint}) refused "${command}": ${reply || 'no reply'}; only servers added at runtime (or declared without tracking) can be removed`,
        { lb: this.name, endpoint: this.endpoint, ...target, command },
      );
  }

  private async readMember(
    pool: string,
    member: string,
  ): Promise<{ member: PoolMember; adminFlags: number }> {
    const { members, states } = await this.readPool(pool);
    const found = members.find((candidate) => candidate.name === member);
    const state = states.find((row) => row.server === member);
    if (found === undefined || state === undefined) {
      throw new LbError(
        'no_such_member',
        `backend "${pool}" of HAProxy "${this.name}" (runtime API ${this.endpoint}) has no server "${member}"; ` +
          `it has ${members.length === 0 ? 'no servers' : members.map((m) => m.name).join(', ')}`,
        { lb: this.name, endpoint: this.endpoint, pool, member },
      );
    }
    return { member: found, adminFlags: state.adminFlags };
  }

  private async readPool(pool: string): Promise<{ members: PoolMember[]; states: ServerStateRow[] }> {
    const target = { pool };
    for (let attempt = 1; ; attempt++) {
      const stateCommand = `show servers state ${pool}`;
      const states = this.parsed(
        parseServersState(await this.client.query(stateCommand, target)),
        stateCommand,
        target,
      );
      const first = states[0];
      if (first === undefined) return { members: [], states };
      // By numeric id: `show stat` would read an all-digit backend name as an id.
      const statCommand = `show stat ${first.backendId} 4 -1`;
      const stats = this.parsed(
        parseStatCsv(await this.client.query(statCommand, target)),
        statCommand,
        target,
      );
      const joined = buildPoolMembers(states, stats);
      if (joined.ok) return { members: joined.value, states };
      if (attempt >= READ_ATTEMPTS)
        throw this.unreadable(joined.error, `${stateCommand} + ${statCommand}`, target);
    }
  }

  private parsed<T>(result: ParseResult<T>, command: string, target: RuntimeCommandTarget = {}): T {
    if (result.ok) return result.value;
    throw this.unreadable(result.error, command, target);
  }

  private unreadable(error: string, command: string, target: RuntimeCommandTarget): LbError {
    return new LbError(
      'command_failed',
      `HAProxy "${this.name}" (runtime API ${this.endpoint}) gave an unreadable reply to "${command}": ${error}; ` +
        `check that ${this.endpoint} is a stats socket of HAProxy 1.8 or later`,
      { lb: this.name, endpoint: this.endpoint, ...target, command },
    );
  }

  private checkName(what: 'pool' | 'member', value: string, target: RuntimeCommandTarget): void {
    if (HAPROXY_NAME.test(value)) return;
    throw this.invalid(
      `${what} name ${JSON.stringify(value)}; HAProxy ${what === 'pool' ? 'backend' : 'server'} names use only ` +
        `letters, digits, '.', '-', '_' and ':'`,
      target,
    );
  }

  private invalid(what: string, target: RuntimeCommandTarget): LbError {
    return new LbError('invalid_argument', `HAProxy "${this.name}" (${this.endpoint}): invalid ${what}`, {
      lb: this.name,
      endpoint: this.endpoint,
      ...target,
    });
  }
}
