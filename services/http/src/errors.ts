import type { EmbedErrorType } from '@embedbench/loadtest/contract';

/** Errors only HTTP can have: the request itself is unreadable, unauthorized or unrouted. */
export type TransportErrorType =
  | 'malformed_json'
  | 'unauthorized'
  | 'not_found'
  | 'method_not_allowed'
  | 'payload_too_large'
  | 'request_timeout'
  | 'unsupported_media_type';

export class TransportError extends Error {
  constructor(
    readonly type: TransportErrorType,
    message: string,
  ) {
    super(message);
    this.name = 'TransportError';
  }
}

/** The single mapping from error types, the core's and the transport's, to HTTP status codes. */
export const STATUS_BY_ERROR_TYPE: Record<EmbedErrorType | TransportErrorType, number> = {
  malformed_json: 400,
  empty_input: 400,
  unauthorized: 401,
  not_found: 404,
  method_not_allowed: 405,
  request_timeout: 408,
  payload_too_large: 413,
  unsupported_media_type: 415,
  validation: 422,
  overloaded: 429,
  // nginx's "client closed request": nobody reads it, but logs and metrics tell it apart.
  client_closed: 499,
  internal: 500,
  not_ready: 503,
  backend: 503,
};
