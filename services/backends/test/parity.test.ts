import assert from 'node:assert/strict';
import { cosineSimilarity } from '@embedbench/loadtest/contract';
import { after, before, describe, it } from 'node:test';
import type { Backend } from '@embedbench/core/backend';
import { createBackend } from '../src/registry.js';
import { backendOptions, TEST_LIMITS, testModelDir, tokenize, VARIED_TEXTS } from './support.js';

/** Small enough that several texts are cut, so both backends' truncation is compared too. */
const MAX_INPUT_TOKENS = 24;

for (const arch of ['modernbert', 'bert'] as const) {
  describe(`transformers and onnx parity on ${arch}-tiny`, () => {
    const modelDir = testModelDir(arch);
    let onnx: Backend;
    let transformers: Backend;

    before(async () => {
      onnx = await createBackend('onnx', backendOptions(modelDir));
      transformers = await createBackend('transformers', backendOptions(modelDir));
      await Promise.all([onnx.start(TEST_LIMITS), transformers.start(TEST_LIMITS)]);
    });
    after(() => Promise.all([onnx.close(), transformers.close()]));

    async function compare(texts: readonly string[], maxInputTokens?: number): Promise<void> {
      const inputIds = await tokenize(modelDir, texts, maxInputTokens);
      const [fromOnnx, fromTransformers] = await Promise.all([onnx.embed({ inputIds }), transformers.embed({ inputIds })]);
      assert.equal(fromOnnx.length, texts.length);
      assert.equal(fromTransformers.length, texts.length);
      texts.forEach((text, i) => {
        const similarity = cosineSimilarity(fromOnnx[i]!, fromTransformers[i]!);
        assert.ok(similarity >= 0.9999, `cosine ${similarity} < 0.9999 for ${JSON.stringify(text.slice(0, 40))}`);
      });
    }

    it('agrees on 20 varied texts in one padding-heavy batch', () => compare(VARIED_TEXTS));

    it('agrees on each text alone', async () => {
      for (const text of VARIED_TEXTS) await compare([text]);
    });

    it('agrees when the core truncates long texts to a small token limit', async () => {
      const inputIds = await tokenize(modelDir, VARIED_TEXTS, MAX_INPUT_TOKENS);
      assert.ok(inputIds.filter((ids) => ids.length === MAX_INPUT_TOKENS).length >= 3, 'the limit cuts too few texts to test truncation');
      await compare(VARIED_TEXTS, MAX_INPUT_TOKENS);
    });

    it('agrees on a batch of one very short and one long text (mostly padding)', () =>
      compare(['a', VARIED_TEXTS[17]!]));
  });
}
