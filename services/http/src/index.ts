export { createApp, type AppOptions } from './app.js';
export { runServer, type RunningServer } from './main.js';
export { STATUS_BY_ERROR_TYPE, TransportError, type TransportErrorType } from './errors.js';
