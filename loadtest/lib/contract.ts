/**
 * What the embedding service promises every client and observer, independent of any transport:
 * timing header names, metric names, the error types the core raises, and the vector math both
 * sides apply to embeddings. The service, the HTTP layer, the built-in load driver, the k6 script,
 * the dashboards and `compare` all import it, so each name is spelled once.
 *
 * It lives in loadtest/lib because k6 runs loadtest/embed.ts natively: k6 resolves only relative
 * paths and k6/* modules, and the k6 containers mount loadtest/ alone. So this file imports nothing,
 * uses no Node built-ins or globals, and is published to Node code as `@embedbench/loadtest/contract`.
 */

/** Response headers carrying the server's time per phase, in milliseconds. */
export const TIMING_HEADERS = {
  queue: 'x-queue-time',
  tokenization: 'x-tokenization-time',
  inference: 'x-inference-time',
  total: 'x-total-time',
} as const;

/** Every metric the service exports on /metrics (each labelled with `backend`). */
export const METRIC_NAMES = {
  requestDuration: 'embedbench_request_duration_seconds',
  queueDuration: 'embedbench_queue_duration_seconds',
  tokenizationDuration: 'embedbench_tokenization_duration_seconds',
  inferenceDuration: 'embedbench_inference_duration_seconds',
  batchSize: 'embedbench_batch_size',
  batchTokens: 'embedbench_batch_tokens',
  queueDepth: 'embedbench_queue_depth',
  requestsInFlight: 'embedbench_requests_in_flight',
  httpRequests: 'embedbench_http_requests_total',
  errors: 'embedbench_errors_total',
  embeddings: 'embedbench_embeddings_total',
  tokens: 'embedbench_tokens_total',
} as const;

/**
 * The `error_type` values the embedding service itself raises; a transport adds its own (a
 * malformed body, a missing API key) and maps every type to its status codes.
 */
export const EMBED_ERROR_TYPES = [
  'empty_input',
  'validation',
  'overloaded',
  'client_closed',
  'not_ready',
  'backend',
  'internal',
] as const;
export type EmbedErrorType = (typeof EMBED_ERROR_TYPES)[number];

/** The row divided by its Euclidean norm; an all-zero row stays all zeros. */
export function l2Normalize(row: Float32Array): Float32Array {
  let sumOfSquares = 0;
  for (const value of row) sumOfSquares += value * value;
  const norm = Math.sqrt(sumOfSquares);
  const out = new Float32Array(row.length);
  if (norm === 0) return out;
  for (let i = 0; i < row.length; i++) out[i] = row[i]! / norm;
  return out;
}

/** Cosine of the angle between two vectors of the same length; 0 when either is all zeros. */
export function cosineSimilarity(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`cosine of vectors of different lengths: ${a.length} and ${b.length} dimensions`);
  let dot = 0;
  let normA = 0;
  let normB = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    normA += a[i]! * a[i]!;
    normB += b[i]! * b[i]!;
  }
  const denominator = Math.sqrt(normA * normB);
  return denominator === 0 ? 0 : dot / denominator;
}

const BASE64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Little-endian float32 bytes, base64-encoded, as the OpenAI API returns with encoding_format=base64. */
export function float32ToBase64(row: Float32Array): string {
  const bytes = new Uint8Array(row.length * 4);
  const view = new DataView(bytes.buffer);
  row.forEach((value, i) => view.setFloat32(i * 4, value, true));
  const chunks: string[] = [];
  for (let i = 0; i < bytes.length; i += 3) {
    const [first = 0, second, third] = [bytes[i], bytes[i + 1], bytes[i + 2]];
    const triple = (first << 16) | ((second ?? 0) << 8) | (third ?? 0);
    chunks.push(
      BASE64_ALPHABET[(triple >> 18) & 63]! +
        BASE64_ALPHABET[(triple >> 12) & 63]! +
        (second === undefined ? '=' : BASE64_ALPHABET[(triple >> 6) & 63]!) +
        (third === undefined ? '=' : BASE64_ALPHABET[triple & 63]!),
    );
  }
  return chunks.join('');
}

/** The inverse of float32ToBase64. */
export function base64ToFloat32(text: string): Float32Array {
  const digits = text.replace(/=+$/, '');
  const bytes = new Uint8Array(Math.floor((digits.length * 3) / 4));
  let bits = 0;
  let bitCount = 0;
  let written = 0;
  for (const digit of digits) {
    const value = BASE64_ALPHABET.indexOf(digit);
    if (value < 0) throw new Error(`not base64: ${JSON.stringify(digit)}`);
    bits = ((bits << 6) | value) & 0xffffff;
    bitCount += 6;
    if (bitCount >= 8) {
      bitCount -= 8;
      bytes[written++] = (bits >> bitCount) & 0xff;
    }
  }
  const view = new DataView(bytes.buffer);
  const out = new Float32Array(Math.floor(bytes.length / 4));
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}
