export * from './labels.js';
export * from './samples.js';
export * from './duration.js';
export * from './errors.js';
