import type { ExecutionProvider } from '@embedbench/core/backend';
import type { OnnxDtype } from '../model-files.js';
import type { OptimizedGraphUse } from './optimized-graph-cache.js';

/** What a worker needs to build its session; all paths absolute. */
export interface WorkerSetup {
  /** Providers to try in order, each with the model files to try with it, best first. */
  readonly attempts: readonly ProviderAttempt[];
  readonly padTokenId: number;
  readonly hiddenSize: number;
  readonly intraOpThreads: number;
  readonly interOpThreads: number;
  /** Longest row the core will send; WebGPU compiles kernels for every padded length up to it at start. */
  readonly maxSequenceLength: number;
}

export interface ProviderAttempt {
  readonly provider: ExecutionProvider;
  readonly modelFile: string;
  readonly dtype: OnnxDtype;
  /** Where this provider's optimized graph of the model is cached, if it is. */
  readonly optimizedModelFile?: string | undefined;
}

export interface SkippedProvider {
  readonly provider: ExecutionProvider;
  readonly modelFile: string;
  readonly reason: string;
}

export type ToWorker = { readonly type: 'embed'; readonly id: number; readonly inputIds: readonly Int32Array[] };

export type FromWorker =
  | {
      readonly type: 'ready';
      readonly provider: ExecutionProvider;
      readonly dtype: ProviderAttempt['dtype'];
      readonly modelFile: string;
      readonly optimizedGraph: OptimizedGraphUse;
      readonly skipped: readonly SkippedProvider[];
      /** Padded sequence lengths compiled and run at start (WebGPU), and how long that took. */
      readonly warmedLengths: readonly number[];
      readonly warmupSeconds: number;
    }
  | { readonly type: 'load-failed'; readonly message: string; readonly skipped: readonly SkippedProvider[] }
  /** `embeddings` is [rows, hiddenSize] row-major; its buffer is transferred, not copied. */
  | { readonly type: 'embedded'; readonly id: number; readonly embeddings: Float32Array }
  | { readonly type: 'failed'; readonly id: number; readonly message: string };
