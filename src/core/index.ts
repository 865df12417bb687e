export * from './labels.js';
export * from './samples.js';
export * from './duration.js';
export * from './errors.js';
export * from './template.js';
export * from './alertState.js';
export * from './incidentGrouping.js';
