export { freePort } from '../../examples/demo/ports.js';
