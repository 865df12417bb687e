export { startHaproxy, haproxyBinary, HAPROXY_INSTALL_COMMAND } from '../../examples/demo/haproxy.js';
export type { HaproxyProcess, StartHaproxyOptions } from '../../examples/demo/haproxy.js';
