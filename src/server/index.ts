export { SwasServer, type SwasServerOptions } from './SwasServer.js';
export type { ServerLifecycle, ServerParts } from './ServerParts.js';
export { checkExpression } from './adapters.js';
export { VERSION } from './version.js';
