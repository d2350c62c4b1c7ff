/** The core's own settings: how the one queue cuts batches and admits requests. */
export interface BatchingConfig {
  /** false: every request is its own batch. */
  readonly enabled: boolean;
  readonly maxBatchTokens: number;
  readonly maxBatchRequests: number;
  /** Requests admitted (waiting or running) at once; more answer 'overloaded'. */
  readonly maxQueue: number;
}

/** Batching as configured: an unset token budget or row limit is left to the backend (BackendInfo). */
export type BatchingSettings = Omit<BatchingConfig, 'maxBatchTokens' | 'maxBatchRequests'> & {
  readonly maxBatchTokens: number | undefined;
  readonly maxBatchRequests: number | undefined;
};
