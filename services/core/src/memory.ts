import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';

/** What a batch's activation memory depends on: config.json's dimensions and the compute precision. */
export interface ModelDimensions {
  readonly hiddenSize: number;
  readonly intermediateSize: number;
  readonly attentionHeads: number;
  /** Bytes per activation value: 2 for fp16 and q8f16, 4 otherwise (q8 weights still compute in fp32). */
  readonly bytesPerValue: number;
}

/**
 * Activation values live at the peak of one encoder layer, per token: about four hidden-size
 * vectors (the residual stream, the normed input, the attention context, its projection) and three
 * intermediate-size ones (the feed-forward input projection and its activation).
 */
const HIDDEN_VALUES_PER_TOKEN = 4;
const INTERMEDIATE_VALUES_PER_TOKEN = 3;
/** Attention scores and their softmax, each rows x heads x L x L, are alive at once. */
const ATTENTION_SCORE_COPIES = 2;

const configSchema = z.object({
  hidden_size: z.number().int().positive(),
  intermediate_size: z.number().int().positive(),
  num_attention_heads: z.number().int().positive(),
});

/** Reads the dimensions from the model directory's config.json; `dtype` is the precision the backend runs. */
export async function readModelDimensions(modelDir: string, dtype: string): Promise<ModelDimensions> {
  const path = join(modelDir, 'config.json');
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new Error(`cannot read ${path}: ${(error as Error).message}`, { cause: error });
  }
  const config = configSchema.safeParse(parsed);
  if (!config.success) {
    const missing = config.error.issues.map((issue) => issue.path.join('.')).join(', ');
    throw new Error(`${path} does not state the dimensions the memory budget needs: ${missing}`);
  }
  return {
    hiddenSize: config.data.hidden_size,
    intermediateSize: config.data.intermediate_size,
    attentionHeads: config.data.num_attention_heads,
    bytesPerValue: dtype === 'fp16' || dtype === 'q8f16' ? 2 : 4,
  };
}

/**
 * Peak activation memory of one forward pass over `rows` rows padded to `longest` tokens. The
 * runtime reuses one layer's buffers in the next, so the layer count does not multiply it; the
 * attention term grows with the square of the length. Fitted to the RSS growth onnxruntime's CPU
 * arena shows on the synthetic ModernBERT-base (measurements in test/memory.test.ts).
 */
export function batchActivationBytes(dims: ModelDimensions, rows: number, longest: number): number {
  const tokens = rows * longest;
  const perToken = HIDDEN_VALUES_PER_TOKEN * dims.hiddenSize + INTERMEDIATE_VALUES_PER_TOKEN * dims.intermediateSize;
  const attention = ATTENTION_SCORE_COPIES * rows * dims.attentionHeads * longest * longest;
  return dims.bytesPerValue * (tokens * perToken + attention);
}

/**
 * The activation memory one batch may use. Unless the operator sets it, it is that of the costliest
 * batch the token and row limits already let through: for each row count, rows as long as the
 * token budget and the maximum input length allow. Throws when one text of the maximum length
 * alone would exceed it.
 */
export function batchMemoryBudget(
  dims: ModelDimensions,
  limits: {
    readonly maxBatchTokens: number;
    readonly maxBatchRequests: number;
    readonly maxInputTokens: number;
    readonly maxBatchMemoryBytes: number | undefined;
  },
): number {
  const { maxBatchTokens, maxBatchRequests, maxInputTokens } = limits;
  const oneText = batchActivationBytes(dims, 1, maxInputTokens);
  let budget = limits.maxBatchMemoryBytes;
  if (budget === undefined) {
    budget = oneText;
    for (let rows = 2; rows <= maxBatchRequests && rows <= maxBatchTokens; rows++) {
      const longest = Math.min(maxInputTokens, Math.floor(maxBatchTokens / rows));
      budget = Math.max(budget, batchActivationBytes(dims, rows, longest));
    }
  }
  if (oneText > budget) {
    throw new Error(
      `one text of the maximum ${maxInputTokens} tokens needs ${formatMiB(oneText)} of activation memory, ` +
        `more than the batch memory budget of ${formatMiB(budget)}; raise the budget or lower the maximum input tokens`,
    );
  }
  return budget;
}

export function formatMiB(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
