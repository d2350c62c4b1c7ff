import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runOnnx, testModelDir, tokenBatch } from './reference-forward-fixtures.js';
import { referenceForward } from './reference-forward.js';

// 200 tokens > ModernBERT's local window (128), so the local layer's window is exercised;
// the shorter rows put padding in the batch.
const LENGTHS = [200, 37, 129];
const TOLERANCE = 1e-4;

for (const arch of ['modernbert', 'bert'] as const) {
  describe(`${arch}-tiny fp32 graph`, () => {
    it(`matches an independent Float64 forward pass within ${TOLERANCE} at every real position`, async () => {
      const modelDir = testModelDir(arch);
      const config = JSON.parse(await readFile(join(modelDir, 'config.json'), 'utf8')) as { hidden_size: number; vocab_size: number; cls_token_id?: number; sep_token_id?: number };
      const tokens = tokenBatch(LENGTHS, config.vocab_size, config.cls_token_id ?? 101, config.sep_token_id ?? 102);
      const [actual, expected] = await Promise.all([runOnnx(join(modelDir, 'onnx', 'model.onnx'), tokens), referenceForward(modelDir, tokens)]);
      assert.deepEqual(actual.dims, [tokens.batch, tokens.sequence, config.hidden_size]);
      const data = actual.data as Float32Array;
      let worst = 0;
      let compared = 0;
      for (let index = 0; index < tokens.batch * tokens.sequence; index++) {
        // Padded positions are unspecified (HF ModernBERT zeros them); nothing downstream reads them.
        if (tokens.attentionMask[index] !== 1) continue;
        for (let d = 0; d < config.hidden_size; d++) {
          const offset = index * config.hidden_size + d;
          worst = Math.max(worst, Math.abs(data[offset]! - expected[offset]!));
          compared++;
        }
      }
      assert.equal(compared, LENGTHS.reduce((a, b) => a + b, 0) * config.hidden_size);
      assert.ok(worst < TOLERANCE, `max |onnxruntime - reference| = ${worst}`);
    });
  });
}
