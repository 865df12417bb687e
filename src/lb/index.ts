export type {
  LoadBalancer,
  MemberAdminState,
  MemberOperationalState,
  NewPoolMember,
  PoolMember,
  PoolSummary,
} from './LoadBalancer.js';
export { MEMBER_ADMIN_STATES } from './LoadBalancer.js';
export { LbError, LB_ERROR_CODES, isLbError } from './LbError.js';
export type { LbErrorContext, LbErrorKind } from './LbError.js';
export { HaproxyLoadBalancer, HAPROXY_MAX_WEIGHT } from './HaproxyLoadBalancer.js';
export type { HaproxyLoadBalancerOptions } from './HaproxyLoadBalancer.js';
export { HaproxyRuntimeClient, parseRuntimeSocketAddress } from './HaproxyRuntimeClient.js';
export type {
  HaproxyRuntimeClientOptions,
  RuntimeCommandTarget,
  RuntimeSocketAddress,
} from './HaproxyRuntimeClient.js';
export { BigIpLoadBalancer, BIGIP_MAX_RATIO, BIGIP_MIN_RATIO } from './BigIpLoadBalancer.js';
export type { BigIpLoadBalancerOptions } from './BigIpLoadBalancer.js';
