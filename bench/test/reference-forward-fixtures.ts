/** Shared by the model-synth tests: where the test models live, token batches, and ORT helpers. */
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';
import type { TokenBatch } from './reference-forward.js';

/** Made by scripts/run-tests.mjs (`model synth --size tiny --seed 42`) before the tests run. */
export function testModelDir(arch: 'bert' | 'modernbert'): string {
  return fileURLToPath(new URL(`../../../.cache/test-models/${arch}-tiny`, import.meta.url));
}

/**
 * Right-padded rows of the given lengths with deterministic ids below `vocabLimit`, first token
 * `clsId` and last real token `sepId` like a tokenizer's output.
 */
export function tokenBatch(lengths: number[], vocabLimit: number, clsId: number, sepId: number): TokenBatch {
  const sequence = Math.max(...lengths);
  const inputIds: number[] = [];
  const attentionMask: number[] = [];
  lengths.forEach((length, row) => {
    for (let position = 0; position < sequence; position++) {
      const real = position < length;
      const body = (row * 7919 + position * 104729) % vocabLimit;
      inputIds.push(!real ? 0 : position === 0 ? clsId : position === length - 1 ? sepId : body);
      attentionMask.push(real ? 1 : 0);
    }
  });
  return { batch: lengths.length, sequence, inputIds, attentionMask };
}

/** Runs one ONNX file on the batch; token_type_ids (zeros) are fed only when the graph asks for them. */
export async function runOnnx(path: string, tokens: TokenBatch): Promise<ort.Tensor> {
  const session = await ort.InferenceSession.create(path, { intraOpNumThreads: 1 });
  try {
    const shape = [tokens.batch, tokens.sequence];
    const int64 = (values: number[]) => new ort.Tensor('int64', BigInt64Array.from(values, BigInt), shape);
    const feeds: Record<string, ort.Tensor> = { input_ids: int64(tokens.inputIds), attention_mask: int64(tokens.attentionMask) };
    if (session.inputNames.includes('token_type_ids')) feeds.token_type_ids = int64(tokens.inputIds.map(() => 0));
    const output = (await session.run(feeds)).last_hidden_state;
    if (output === undefined) throw new Error(`${path} has no last_hidden_state output`);
    return output;
  } finally {
    await session.release();
  }
}

/** Mean over the real (mask = 1) positions of each row, then L2-normalized: [batch][hidden]. */
export function meanPoolNormalized(hidden: ArrayLike<number>, tokens: TokenBatch, width: number): number[][] {
  return Array.from({ length: tokens.batch }, (_, b) => {
    const sum = new Array<number>(width).fill(0);
    let count = 0;
    for (let position = 0; position < tokens.sequence; position++) {
      if (tokens.attentionMask[b * tokens.sequence + position] !== 1) continue;
      count++;
      const offset = (b * tokens.sequence + position) * width;
      for (let d = 0; d < width; d++) sum[d]! += hidden[offset + d]!;
    }
    const mean = sum.map((value) => value / count);
    const norm = Math.hypot(...mean);
    return mean.map((value) => value / norm);
  });
}

export function cosine(a: number[], b: number[]): number {
  let dot = 0;
  for (let d = 0; d < a.length; d++) dot += a[d]! * b[d]!;
  return dot / (Math.hypot(...a) * Math.hypot(...b));
}
