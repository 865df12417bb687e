export { SwasServer, type ServerLifecycle, type ServerParts, type SwasServerOptions } from './SwasServer.js';
export { createLogger, type LogFormat } from './logger.js';
export { checkExpression } from './adapters.js';
export { VERSION } from './version.js';
