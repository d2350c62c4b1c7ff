import type { Logger } from 'pino';
import type { Backend, BackendInfo, PrecisionChoice, ProviderStatus } from './backend.js';
import type { BatchingConfig, BatchingSettings } from './config.js';
import { EmbedError } from './errors.js';
import { batchActivationBytes, batchMemoryBudget, readModelDimensions } from './memory.js';
import { ServiceMetrics } from './metrics.js';
import { postProcess } from './post-processing.js';
import { BatchQueue, type PhaseTimings } from './queue.js';
import { TextTokenizer } from './tokenization.js';

export type ServiceState = 'loading' | 'healthy' | 'unhealthy';
type LoadState = 'loading' | 'ready';

export interface ServiceHealth {
  readonly status: ServiceState;
  /** Why the service is unhealthy. */
  readonly reason?: string;
}

export interface EmbeddingServiceOptions {
  readonly backend: Backend;
  readonly modelDir: string;
  /** Display name of the model. */
  readonly modelId: string;
  readonly batching: BatchingSettings;
  /** Most texts accepted in one request. */
  readonly maxClientBatch: number;
  /** Caps the model's own maximum input length when set. */
  readonly maxInputTokens?: number | undefined;
  /** Activation memory one batch may use; unset: what the token budget allows at the maximum input length. */
  readonly maxBatchMemoryBytes?: number | undefined;
  readonly version: string;
  readonly logger: Logger;
}

export interface EmbedRequest {
  readonly texts: readonly string[];
  /** false: inputs over the maximum length are a 'validation' error instead of being cut. */
  readonly truncate: boolean;
  /** L2-normalize each row (after the `dimensions` cut). */
  readonly normalize: boolean;
  /** Keep only the first N values of each row (Matryoshka-style); more than the model's dimension is a 'validation' error. */
  readonly dimensions?: number | undefined;
  readonly signal?: AbortSignal | undefined;
}

/** Milliseconds per phase; 0 for a phase that did not run. */
export interface RequestTimings extends PhaseTimings {
  tokenizationMs: number;
}

export interface EmbedResult {
  /** One row per input text, in order: mean-pooled, cut to `dimensions`, normalized when asked. */
  readonly embeddings: Float32Array[];
  /** Input tokens after truncation, special tokens included. */
  readonly promptTokens: number;
}

export interface ServiceInfo {
  readonly model: string;
  readonly backend: string;
  readonly executionProvider: string | undefined;
  readonly dtype: string | undefined;
  readonly precisionChoice: PrecisionChoice | undefined;
  readonly gpuAvailable: boolean;
  readonly providers: readonly ProviderStatus[];
  readonly embeddingDim: number | undefined;
  readonly maxInputTokens: number | undefined;
  readonly maxClientBatch: number;
  readonly batching: BatchingSettings & { readonly parallelism: number | undefined };
  /** Estimated peak activation memory of one batch, which the queue keeps every batch within. */
  readonly maxBatchMemoryBytes: number | undefined;
  readonly version: string;
}

/**
 * A backend behind the shared tokenizer, batching queue, post-processing and metrics: everything a
 * transport needs to embed texts, without knowing which backend runs.
 */
export class EmbeddingService {
  readonly metrics: ServiceMetrics;
  private stateValue: LoadState = 'loading';
  private backendInfo: BackendInfo | undefined;
  private tokenizer: TextTokenizer | undefined;
  private queue: BatchQueue | undefined;
  private batching: BatchingConfig | undefined;
  private maxBatchMemoryBytes: number | undefined;
  private embeddingDim: number | undefined;
  /** Message of the last failed batch, until a batch succeeds. */
  private lastFailure: string | undefined;

  constructor(private readonly options: EmbeddingServiceOptions) {
    this.metrics = new ServiceMetrics(options.backend.name);
  }

  /**
   * A backend that reports its own health (restarting a crashed worker by itself) is trusted;
   * otherwise the last batch's outcome decides, and the next successful batch recovers.
   */
  health(): ServiceHealth {
    if (this.stateValue === 'loading') return { status: 'loading' };
    const ownHealth = this.options.backend.health?.();
    if (ownHealth !== undefined) {
      return ownHealth.healthy ? { status: 'healthy' } : { status: 'unhealthy', reason: ownHealth.reason ?? 'backend unhealthy' };
    }
    return this.lastFailure === undefined ? { status: 'healthy' } : { status: 'unhealthy', reason: this.lastFailure };
  }

  get modelId(): string {
    return this.options.modelId;
  }

  get backendName(): string {
    return this.options.backend.name;
  }

  get gpuAvailable(): boolean {
    return this.backendInfo?.gpuAvailable ?? false;
  }

  /** Loads the tokenizer and the model, warms up with one request, then reports healthy. */
  async start(): Promise<void> {
    const { backend, modelDir, logger } = this.options;
    this.tokenizer = await TextTokenizer.load(modelDir, { maxInputTokens: this.options.maxInputTokens });
    this.backendInfo = await backend.start({ maxSequenceLength: this.tokenizer.maxInputTokens });
    this.batching = {
      ...this.options.batching,
      maxBatchTokens: this.options.batching.maxBatchTokens ?? this.backendInfo.maxBatchTokens,
      maxBatchRequests: this.options.batching.maxBatchRequests ?? this.backendInfo.maxBatchRows,
    };
    const dims = await readModelDimensions(modelDir, this.backendInfo.dtype);
    this.maxBatchMemoryBytes = batchMemoryBudget(dims, {
      ...this.batching,
      maxInputTokens: this.tokenizer.maxInputTokens,
      maxBatchMemoryBytes: this.options.maxBatchMemoryBytes,
    });
    const memory = { budgetBytes: this.maxBatchMemoryBytes, activationBytes: (rows: number, longest: number) => batchActivationBytes(dims, rows, longest) };
    this.queue = new BatchQueue(backend, this.batching, memory, this.backendInfo.parallelism, this.metrics, (error) =>
      this.recordBatchOutcome(error),
    );
    const [probe] = await this.queue.enqueue({
      inputIds: this.tokenizer.encode(['warm-up'], true).inputIds,
      timings: { queueMs: 0, inferenceMs: 0 },
    });
    this.embeddingDim = probe!.length;
    this.stateValue = 'ready';
    const { backend: _sameAsLoggerBase, ...details } = this.backendInfo;
    logger.info({ ...details, embeddingDim: this.embeddingDim, model: this.options.modelId }, 'model ready');
  }

  info(): ServiceInfo {
    return {
      model: this.options.modelId,
      backend: this.options.backend.name,
      executionProvider: this.backendInfo?.executionProvider,
      dtype: this.backendInfo?.dtype,
      precisionChoice: this.backendInfo?.precisionChoice,
      gpuAvailable: this.gpuAvailable,
      providers: this.backendInfo?.providers ?? [],
      embeddingDim: this.embeddingDim,
      maxInputTokens: this.tokenizer?.maxInputTokens,
      maxClientBatch: this.options.maxClientBatch,
      batching: { ...(this.batching ?? this.options.batching), parallelism: this.backendInfo?.parallelism },
      maxBatchMemoryBytes: this.maxBatchMemoryBytes,
      version: this.options.version,
    };
  }

  /**
   * Validates, takes an admission permit (before any work), tokenizes, queues the texts and
   * post-processes the pooled rows. `timings` is filled in as phases complete, also when the
   * request fails.
   */
  async embed(request: EmbedRequest, timings: RequestTimings): Promise<EmbedResult> {
    const { queue, tokenizer, embeddingDim } = this;
    if (this.stateValue === 'loading' || queue === undefined || tokenizer === undefined) {
      throw new EmbedError('not_ready', 'the model is still loading');
    }
    if (request.dimensions !== undefined && embeddingDim !== undefined && request.dimensions > embeddingDim) {
      throw new EmbedError('validation', `dimensions: ${request.dimensions} is more than the model's ${embeddingDim}`);
    }
    if (request.texts.length === 0) throw new EmbedError('empty_input', 'no input texts were given');
    const emptyRow = request.texts.findIndex((text) => text.length === 0);
    if (emptyRow >= 0) throw new EmbedError('empty_input', `input ${emptyRow} is an empty string`);
    if (request.texts.length > this.options.maxClientBatch) {
      throw new EmbedError(
        'validation',
        `${request.texts.length} inputs is more than the maximum of ${this.options.maxClientBatch} per request`,
      );
    }
    const permit = queue.admit();
    try {
      const tokenizationStart = performance.now();
      const tokenized = tokenizer.encode(request.texts, request.truncate);
      timings.tokenizationMs = performance.now() - tokenizationStart;
      this.metrics.tokenizationDuration.observe(timings.tokenizationMs / 1000);
      const embeddings = await queue.enqueue({
        inputIds: tokenized.inputIds,
        signal: request.signal,
        timings,
      });
      this.metrics.embeddings.inc(embeddings.length);
      this.metrics.tokens.inc(tokenized.tokenCount);
      const options = { normalize: request.normalize, dimensions: request.dimensions };
      return { embeddings: embeddings.map((row) => postProcess(row, options)), promptTokens: tokenized.tokenCount };
    } finally {
      permit.release();
    }
  }

  /** Stops admitting requests; resolves once the backend has released the model. */
  async close(): Promise<void> {
    this.queue?.close();
    await this.options.backend.close();
  }

  private recordBatchOutcome(error: Error | undefined): void {
    if (error !== undefined) {
      this.options.logger.error({ err: error }, 'inference failed');
      this.lastFailure = `inference failed: ${error.message}`;
    } else if (this.lastFailure !== undefined) {
      this.options.logger.info('inference recovered');
      this.lastFailure = undefined;
    }
  }
}
