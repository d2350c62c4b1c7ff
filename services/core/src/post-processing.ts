import { l2Normalize } from '@embedbench/loadtest/contract';

export interface PostProcessOptions {
  readonly normalize: boolean;
  /** Keep only the first N values (Matryoshka-style); renormalized when `normalize` is set. */
  readonly dimensions?: number | undefined;
}

/** Post-processing of the backends' mean-pooled rows: `dimensions` truncation, then L2 normalization. */
export function postProcess(row: Float32Array, options: PostProcessOptions): Float32Array {
  const truncated = options.dimensions === undefined ? row : row.subarray(0, options.dimensions);
  return options.normalize ? l2Normalize(truncated) : Float32Array.from(truncated);
}
