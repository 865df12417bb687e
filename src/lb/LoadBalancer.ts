/** What an operator (or a runbook) asked the load balancer to do with a member. */
export type MemberAdminState = 'ready' | 'drain' | 'maint';

/** What the load balancer's health checks say about a member. */
export type MemberOperationalState = 'up' | 'down' | 'starting' | 'stopping';

/** The admin states, in the order operators usually read them. */
export const MEMBER_ADMIN_STATES: readonly MemberAdminState[] = ['ready', 'drain', 'maint'];

/** One server of a pool, as the load balancer sees it right now. */
export interface PoolMember {
  readonly pool: string;
  readonly name: string;
  readonly address: string;
  /** null when the member has no port of its own (it uses the client's destination port). */
  readonly port: number | null;
  readonly admin: MemberAdminState;
  readonly operational: MemberOperationalState;
  /** Current user weight. */
  readonly weight: number;
  /** Weight from the config file. */
  readonly initialWeight: number;
  readonly activeSessions: number;
  readonly totalSessions: number;
  /** Slow-start throttle in percent; null when the member is not throttled. */
  readonly throttlePercent: number | null;
  /** Last health-check result code, e.g. 'L7OK', 'L4CON'; null when the member is not checked. */
  readonly checkStatus: string | null;
  /** The status as the load balancer prints it ('UP', 'DRAIN', 'MAINT', 'UP 1/3', 'no check', ...). */
  readonly statusText: string;
}

/** A pool at a glance. */
export interface PoolSummary {
  readonly name: string;
  readonly members: number;
  /** Members whose health checks say they can serve ('up' or 'starting'), draining ones included. */
  readonly up: number;
  /** The pool's status as the load balancer prints it ('UP', 'DOWN'). */
  readonly status: string;
}

/** A member to add to a pool at runtime. */
export interface NewPoolMember {
  readonly name: string;
  /** An IPv4 or IPv6 address (no host names: the load balancer would need resolvers for them). */
  readonly address: string;
  readonly port: number;
  /** Its configured (full) weight. */
  readonly weight: number;
  /** Ramp-up after it turns ready, in ms; 0 for none. */
  readonly slowstartMs: number;
}

/** The port runbooks and `swas lb` use to read and change load-balancer pools; adapters implement it. */
export interface LoadBalancer {
  readonly name: string;
  listPools(): Promise<PoolSummary[]>;
  listMembers(pool: string): Promise<PoolMember[]>;
  getMember(pool: string, member: string): Promise<PoolMember>;
  /** Resolves once the load balancer reports the member in `state`. */
  setAdminState(pool: string, member: string, state: MemberAdminState): Promise<void>;
  /** Sets the absolute weight, 0..256; resolves once the load balancer reports it. */
  setWeight(pool: string, member: string, weight: number): Promise<void>;
  /**
   * Adds a member in `maint`, with health checks running, so swas can check it and bring it to ready with a
   * ramp. Absent on adapters that cannot change pool membership.
   */
  addMember?(pool: string, member: NewPoolMember): Promise<void>;
  /** Removes a member that is in `maint` with no active sessions; absent where membership is fixed. */
  removeMember?(pool: string, member: string): Promise<void>;
}
