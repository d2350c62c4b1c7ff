/**
 * The contract between the shared core (queue, tokenization, pooling, HTTP-agnostic errors)
 * and an embedding backend. Backends implement it; nothing else about them is visible to the core
 * or the HTTP layer. Modelled on text-embeddings-inference's tiny Backend trait.
 */

/** One batch cut by the queue: rows are already tokenized and truncated, sorted by length. */
export interface TokenizedBatch {
  /** The raw texts, for backends whose own API takes text (the transformers pipeline). */
  readonly texts: readonly string[];
  /** Token ids per row, special tokens included, no padding. */
  readonly inputIds: readonly Int32Array[];
}

export interface BackendInfo {
  readonly backend: string;
  /** Execution provider actually in use, e.g. 'tensorrt', 'cuda', 'cpu'. */
  readonly executionProvider: string;
  /** Weight/compute precision actually in use: 'fp32' | 'fp16' | 'q8'. */
  readonly dtype: string;
  readonly gpuAvailable: boolean;
  /** Number of batches the backend can run at the same time (worker threads). */
  readonly parallelism: number;
  /**
   * The token budget of one batch (rows x longest row) this backend runs fastest with on its
   * device; the queue uses it unless the operator sets --max-batch-tokens.
   */
  readonly maxBatchTokens: number;
  /** How the precision was chosen, when the backend chose it by measuring (dtype 'auto'). */
  readonly precisionChoice?: PrecisionChoice | undefined;
}

/** A precision chosen by comparing a lower-precision model's embeddings with fp32's. */
export interface PrecisionChoice {
  /** The precision in use: 'q8' or 'fp32'. */
  readonly dtype: string;
  /** Lowest cosine similarity between the two models' embeddings of fixed probe texts; null if not measured. */
  readonly cosine: number | null;
  readonly reason: string;
}

/** A backend's own view of whether it can serve, e.g. false while a crashed worker restarts. */
export interface BackendHealth {
  readonly healthy: boolean;
  /** Why it is unhealthy. */
  readonly reason?: string;
}

export interface Backend {
  readonly name: string;
  /** Loads the model and warms it up; rejects with a clear error if the model is missing or corrupt. */
  start(): Promise<BackendInfo>;
  /**
   * Mean-pooled (over real tokens), un-normalized embeddings, one row per input row, in order.
   * Rejects if inference fails; the core maps that to a 503 and marks the service unhealthy.
   */
  embed(batch: TokenizedBatch): Promise<Float32Array[]>;
  /**
   * Optional, polled by the core after start(): unhealthy while the backend recovers by itself
   * (the onnx backend restarting a crashed worker). Absent means healthy once started.
   */
  health?(): BackendHealth;
  /** Stops accepting work and releases the model and any worker threads. */
  close(): Promise<void>;
}
