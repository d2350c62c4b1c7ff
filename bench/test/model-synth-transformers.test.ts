import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { Tokenizer } from '@huggingface/tokenizers';
import { env, pipeline } from '@huggingface/transformers';
import { cosine, meanPoolNormalized, runOnnx, testModelDir } from './reference-forward-fixtures.js';
import type { TokenBatch } from './reference-forward.js';

const TEXTS = [
  'What is the capital of France?',
  'The quick brown fox jumps over the lazy dog near the river bank.',
  // Long enough to pass ModernBERT's 128-token local window.
  Array.from({ length: 12 }, (_, i) => `Passage sentence ${i} describes how search engines rank documents for a query.`).join(' '),
];

/** Tokenizes like a server would: tokenizer.json alone, right-padded to the longest row. */
async function tokenizeRaw(modelDir: string, texts: string[]): Promise<TokenBatch> {
  const read = async (file: string) => JSON.parse(await readFile(join(modelDir, file), 'utf8')) as object;
  const tokenizer = new Tokenizer(await read('tokenizer.json'), await read('tokenizer_config.json'));
  const rows = texts.map((text) => tokenizer.encode(text, { add_special_tokens: true }).ids);
  const sequence = Math.max(...rows.map((row) => row.length));
  return {
    batch: rows.length,
    sequence,
    inputIds: rows.flatMap((row) => [...row, ...new Array<number>(sequence - row.length).fill(0)]),
    attentionMask: rows.flatMap((row) => [...row.map(() => 1), ...new Array<number>(sequence - row.length).fill(0)]),
  };
}

for (const arch of ['modernbert', 'bert'] as const) {
  describe(`${arch}-tiny in transformers.js and onnxruntime-node`, () => {
    it('gives the same mean-pooled, normalized embeddings (cosine > 0.9999)', async () => {
      const modelDir = testModelDir(arch);
      env.allowRemoteModels = false;
      env.localModelPath = dirname(modelDir);
      const extractor = await pipeline('feature-extraction', basename(modelDir), { dtype: 'fp32', device: 'cpu' });
      try {
        const fromPipeline = (await extractor(TEXTS, { pooling: 'mean', normalize: true })).tolist() as number[][];
        const tokens = await tokenizeRaw(modelDir, TEXTS);
        if (arch === 'modernbert') assert.ok(tokens.sequence > 128, `longest text has only ${tokens.sequence} tokens`);
        const hidden = await runOnnx(join(modelDir, 'onnx', 'model.onnx'), tokens);
        const fromOnnx = meanPoolNormalized(hidden.data as Float32Array, tokens, hidden.dims[2]!);
        assert.equal(fromPipeline.length, TEXTS.length);
        TEXTS.forEach((_, row) => {
          assert.equal(fromPipeline[row]!.length, fromOnnx[row]!.length);
          const similarity = cosine(fromPipeline[row]!, fromOnnx[row]!);
          assert.ok(similarity > 0.9999, `text ${row}: cosine ${similarity}`);
        });
        // Distinct texts must not collapse to one vector, or the comparison above proves nothing.
        assert.ok(cosine(fromOnnx[0]!, fromOnnx[1]!) < 0.9999);
      } finally {
        await extractor.dispose();
      }
    });
  });
}
