export { IncidentManager, type IncidentManagerOptions } from './IncidentManager.js';
