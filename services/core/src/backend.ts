/**
 * The contract between the shared core (queue, tokenization, post-processing, transport-free
 * errors) and an embedding backend. Backends implement it; nothing else about them is visible to
 * the core or the HTTP layer. Modelled on text-embeddings-inference's tiny Backend trait.
 */
import type { Logger } from 'pino';

export const BACKEND_NAMES = ['transformers', 'onnx'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

export const DTYPES = ['auto', 'fp32', 'fp16', 'q8', 'q8f16'] as const;
export type Dtype = (typeof DTYPES)[number];

export const DEVICES = ['auto', 'cpu', 'cuda', 'webgpu'] as const;
export type Device = (typeof DEVICES)[number];

export const EXECUTION_PROVIDERS = ['tensorrt', 'cuda', 'webgpu', 'cpu'] as const;
export type ExecutionProvider = (typeof EXECUTION_PROVIDERS)[number];

/** What a backend needs to load a model; every field is already resolved (no 'unset' values). */
export interface BackendOptions {
  /** Local directory holding config.json, tokenizer files and onnx/model*.onnx. */
  readonly modelDir: string;
  /** Display name reported by /health, /info and responses. */
  readonly modelId: string;
  /** 'auto' lets the backend pick (fp16 on GPU, fp32 on CPU for onnx; fp32 for transformers). */
  readonly dtype: Dtype;
  readonly device: Device;
  /** Providers to try, in order; one that fails to load is logged and skipped. */
  readonly executionProviders: readonly ExecutionProvider[];
  /** Threads per inference session (per worker); unset: the backend chooses from the core count. */
  readonly intraOpThreads: number | undefined;
  readonly interOpThreads: number;
  /** Inference worker threads (the onnx backend's parallelism); unset: the backend chooses. */
  readonly workers: number | undefined;
  /**
   * With dtype 'auto' on the CPU, the int8 model is used only when its embeddings of a fixed probe
   * set reach this cosine similarity with the fp32 model's.
   */
  readonly int8MinCosine: number;
  readonly logger: Logger;
}

/** One batch cut by the queue: rows are already tokenized and truncated, sorted by length. */
export interface TokenizedBatch {
  /** Token ids per row, special tokens included, no padding. */
  readonly inputIds: readonly Int32Array[];
}

/** One execution provider's fate at start-up, as /info reports it. */
export interface ProviderStatus {
  readonly provider: string;
  /** 'in use'; 'unavailable' (not installed, no device, or a probe session failed); 'skipped' (left out by a setting, or the model failed to load with it); 'not needed' (a provider before it is in use). */
  readonly status: 'in use' | 'unavailable' | 'skipped' | 'not needed';
  readonly reason: string;
}

export interface BackendInfo {
  readonly backend: string;
  /** Execution provider actually in use, e.g. 'tensorrt', 'cuda', 'cpu'. */
  readonly executionProvider: string;
  /** Weight/compute precision actually in use: 'fp32' | 'fp16' | 'q8'. */
  readonly dtype: string;
  /** A hardware GPU provider was proven to work on this machine (whether or not it is the one in use). */
  readonly gpuAvailable: boolean;
  /** Every execution provider considered, in order, with why each is or is not in use. */
  readonly providers: readonly ProviderStatus[];
  /** Number of batches the backend can run at the same time (worker threads). */
  readonly parallelism: number;
  /**
   * The token budget of one batch (rows x longest row) this backend runs fastest with on its
   * device; the queue uses it unless the operator sets --max-batch-tokens.
   */
  readonly maxBatchTokens: number;
  /** The most rows (texts) one batch holds on this backend's device; the queue uses it unless the operator sets --max-batch-requests. */
  readonly maxBatchRows: number;
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

/** What the core promises a backend about the batches it will send. */
export interface BackendLimits {
  /** Longest row, in tokens with special tokens, that any batch will hold. */
  readonly maxSequenceLength: number;
}

export interface Backend {
  readonly name: string;
  /**
   * Loads the model and prepares it for the batches `limits` allow (the core then runs one warm-up
   * request); rejects with a clear error if the model is missing or corrupt.
   */
  start(limits: BackendLimits): Promise<BackendInfo>;
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
