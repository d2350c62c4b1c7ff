export * from './backend.js';
export * from './config.js';
export * from './errors.js';
export * from './metrics.js';
export * from './post-processing.js';
export * from './queue.js';
export * from './service.js';
export * from './tokenization.js';
