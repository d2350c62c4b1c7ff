/**
 * The one error the core raises toward clients. The HTTP layer owns the single type -> status
 * table; nothing else about transport leaks into the core.
 */
export type EmbedErrorType =
  | 'malformed_json'
  | 'empty_input'
  | 'unauthorized'
  | 'not_found'
  | 'method_not_allowed'
  | 'payload_too_large'
  | 'request_timeout'
  | 'unsupported_media_type'
  | 'validation'
  | 'overloaded'
  | 'client_closed'
  | 'not_ready'
  | 'backend'
  | 'internal';

export class EmbedError extends Error {
  constructor(
    readonly type: EmbedErrorType,
    message: string,
    options?: { cause?: unknown; retryAfterSeconds?: number },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'EmbedError';
    this.retryAfterSeconds = options?.retryAfterSeconds;
  }

  /** Set on 'overloaded': how long a client should wait before retrying. */
  readonly retryAfterSeconds: number | undefined;
}

export function isEmbedError(error: unknown): error is EmbedError {
  return error instanceof EmbedError;
}
