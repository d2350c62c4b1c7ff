import type { EmbedErrorType } from '@embedbench/loadtest/contract';

/**
 * The one error the core raises toward clients. A transport maps its `type` to its own codes;
 * nothing about transport leaks into the core.
 */
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
