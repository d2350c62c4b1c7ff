/**
 * Post-processing of the backends' mean-pooled rows: L2 normalization, `dimensions` truncation
 * (then renormalization) and the OpenAI base64 encoding (little-endian float32 bytes).
 */

export function l2Normalize(row: Float32Array): Float32Array {
  let sumOfSquares = 0;
  for (const value of row) sumOfSquares += value * value;
  const norm = Math.sqrt(sumOfSquares);
  const out = new Float32Array(row.length);
  if (norm === 0) return out;
  for (let i = 0; i < row.length; i++) out[i] = row[i]! / norm;
  return out;
}

export interface PostProcessOptions {
  readonly normalize: boolean;
  /** Keep only the first N values (Matryoshka-style); renormalized when `normalize` is set. */
  readonly dimensions?: number | undefined;
}

export function postProcess(row: Float32Array, options: PostProcessOptions): Float32Array {
  const truncated = options.dimensions === undefined ? row : row.subarray(0, options.dimensions);
  return options.normalize ? l2Normalize(truncated) : Float32Array.from(truncated);
}

/** Little-endian float32 bytes, base64-encoded, as the OpenAI API returns with encoding_format=base64. */
export function float32ToBase64(row: Float32Array): string {
  const bytes = Buffer.alloc(row.length * 4);
  for (let i = 0; i < row.length; i++) bytes.writeFloatLE(row[i]!, i * 4);
  return bytes.toString('base64');
}

export function base64ToFloat32(text: string): Float32Array {
  const bytes = Buffer.from(text, 'base64');
  const out = new Float32Array(bytes.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = bytes.readFloatLE(i * 4);
  return out;
}

export function cosineSimilarity(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`cosine of vectors of different lengths ${a.length} and ${b.length}`);
  let dot = 0;
  let normA = 0;
  let normB = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    normA += a[i]! * a[i]!;
    normB += b[i]! * b[i]!;
  }
  return dot / Math.sqrt(normA * normB);
}
