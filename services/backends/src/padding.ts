import { batchRowLimit, batchTokenBudget } from './providers/selection.js';

/** Right-padded token ids and attention mask of one batch, row-major [rows, sequenceLength]. */
export interface PaddedBatch {
  readonly rows: number;
  readonly sequenceLength: number;
  readonly inputIds: BigInt64Array;
  readonly attentionMask: BigInt64Array;
}

/**
 * Pads every row to `paddedLength` (default: the longest row). Rows longer than it are an error,
 * since a shorter padded length would cut them.
 */
export function padBatch(rows: readonly Int32Array[], padId: number, paddedLength?: number): PaddedBatch {
  const lengths = Int32Array.from(rows, (row) => row.length);
  if (rows.length === 0 || lengths.some((length) => length === 0)) {
    throw new Error('cannot run an empty batch or an empty row');
  }
  const longest = Math.max(...lengths);
  if (paddedLength !== undefined && paddedLength < longest) throw new Error(`cannot pad a ${longest}-token row to ${paddedLength}`);
  const sequenceLength = paddedLength ?? longest;
  const inputIds = new BigInt64Array(rows.length * sequenceLength).fill(BigInt(padId));
  const attentionMask = new BigInt64Array(rows.length * sequenceLength);
  rows.forEach((row, r) => {
    const offset = r * sequenceLength;
    for (let t = 0; t < row.length; t++) {
      inputIds[offset + t] = BigInt(row[t]!);
      attentionMask[offset + t] = 1n;
    }
  });
  return { rows: rows.length, sequenceLength, inputIds, attentionMask };
}

/**
 * The padded sequence lengths of a provider that compiles kernels per input shape (WebGPU): steps
 * of 16 tokens up to 128, 32 up to 256, 64 up to 512 and 128 beyond, ending at `maxLength`. A
 * handful of shapes can all be compiled at start, and no row is padded by more than a quarter of
 * its length past 64 tokens.
 */
export function lengthBuckets(maxLength: number): number[] {
  const buckets: number[] = [];
  for (let length = 16; length < maxLength; length += length < 128 ? 16 : length < 256 ? 32 : length < 512 ? 64 : 128) {
    buckets.push(length);
  }
  buckets.push(maxLength);
  return buckets;
}

/** The smallest bucket that holds `length` tokens. */
export function bucketFor(length: number, buckets: readonly number[]): number {
  const bucket = buckets.find((candidate) => candidate >= length);
  if (bucket === undefined) throw new Error(`a ${length}-token row is longer than the longest padded length ${buckets.at(-1)}`);
  return bucket;
}

/**
 * The shapes to run once at start so that no request waits for a shader compiler: every padded
 * length, with one row and with as many rows as the GPU batch limits allow.
 */
export function warmupShapes(buckets: readonly number[]): Array<{ readonly rows: number; readonly length: number }> {
  return buckets.flatMap((length) =>
    [...new Set([1, Math.min(batchRowLimit('webgpu'), Math.max(1, Math.floor(batchTokenBudget('webgpu') / length)))])].map((rows) => ({ rows, length })),
  );
}
