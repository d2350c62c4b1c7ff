export { createBackend } from './registry.js';
export { ModelLoadError } from './model-files.js';
