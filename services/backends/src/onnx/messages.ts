import type { ExecutionProvider } from '@embedbench/core/backend';

/** What a worker needs to build its session; all paths absolute. */
export interface WorkerSetup {
  /** Providers to try in order, each with the model files to try with it, best first. */
  readonly attempts: readonly ProviderAttempt[];
  readonly padTokenId: number;
  readonly hiddenSize: number;
  readonly intraOpThreads: number;
  readonly interOpThreads: number;
}

export interface ProviderAttempt {
  readonly provider: ExecutionProvider;
  readonly modelFile: string;
  readonly dtype: 'fp32' | 'fp16' | 'q8';
}

export interface SkippedProvider {
  readonly provider: ExecutionProvider;
  readonly modelFile: string;
  readonly reason: string;
}

export type ToWorker =
  | { readonly type: 'embed'; readonly id: number; readonly inputIds: readonly Int32Array[] }
  /** Fault injection for tests and drills: the worker exits as soon as its next batch arrives. */
  | { readonly type: 'crash-on-next-batch' };

export type FromWorker =
  | {
      readonly type: 'ready';
      readonly provider: ExecutionProvider;
      readonly dtype: ProviderAttempt['dtype'];
      readonly modelFile: string;
      readonly skipped: readonly SkippedProvider[];
    }
  | { readonly type: 'load-failed'; readonly message: string; readonly skipped: readonly SkippedProvider[] }
  /** `embeddings` is [rows, hiddenSize] row-major; its buffer is transferred, not copied. */
  | { readonly type: 'embedded'; readonly id: number; readonly embeddings: Float32Array }
  | { readonly type: 'failed'; readonly id: number; readonly message: string };
