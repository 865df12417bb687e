export { freePort, freePorts } from '../../examples/demo/ports.js';
