import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ModelLoadError } from '../src/model-files.js';
import { createBackend } from '../src/transformers/index.js';
import { assertEmbeddingRow, backendOptions, copyModel, TEST_LIMITS, testModelDir, tokenize, VARIED_TEXTS } from './support.js';

for (const arch of ['modernbert', 'bert'] as const) {
  describe(`transformers backend on ${arch}-tiny`, () => {
    const modelDir = testModelDir(arch);
    const backend = createBackend(backendOptions(modelDir, { device: 'auto' }));

    before(async () => {
      const { providers, ...info } = await backend.start(TEST_LIMITS);
      assert.deepEqual(info, { backend: 'transformers', executionProvider: 'cpu', dtype: 'fp32', gpuAvailable: false, parallelism: 1, maxBatchTokens: 1024, maxBatchRows: 32 });
      // --device auto tries cuda, then webgpu on a hardware GPU, then the CPU; this machine has no GPU.
      assert.deepEqual(providers.map((entry) => entry.provider), ['cuda', 'webgpu', 'cpu']);
      assert.equal(providers[0]!.status, 'unavailable');
      assert.notEqual(providers[1]!.status, 'in use');
      assert.deepEqual(providers[2], { provider: 'cpu', status: 'in use', reason: 'always available' });
    });
    after(() => backend.close());

    it('returns one row of hidden_size per input, in order, for varied lengths', async () => {
      const inputIds = await tokenize(modelDir, VARIED_TEXTS);
      const rows = await backend.embed({ inputIds });
      assert.equal(rows.length, VARIED_TEXTS.length);
      for (const row of rows) assertEmbeddingRow(row, 64);
    });
  });
}

describe('transformers model loading errors', () => {
  it('names a missing model file', async () => {
    const copy = await copyModel(testModelDir('bert'));
    try {
      await rm(join(copy.dir, 'onnx', 'model.onnx'));
      const backend = createBackend(backendOptions(copy.dir));
      await assert.rejects(backend.start(TEST_LIMITS), (error: Error) => error instanceof ModelLoadError && error.message.includes(`model file not found: ${join(copy.dir, 'onnx', 'model.onnx')}`));
    } finally {
      await copy.remove();
    }
  });

  it('reports a corrupt model file instead of crashing', async () => {
    const copy = await copyModel(testModelDir('bert'));
    try {
      await writeFile(join(copy.dir, 'onnx', 'model.onnx'), 'this is not an onnx protobuf');
      const backend = createBackend(backendOptions(copy.dir));
      await assert.rejects(backend.start(TEST_LIMITS), (error: Error) => error instanceof ModelLoadError && /cannot load the transformers pipeline from/.test(error.message));
    } finally {
      await copy.remove();
    }
  });

  it('refuses precisions other than the fp32 baseline', async () => {
    const backend = createBackend(backendOptions(testModelDir('bert'), { dtype: 'q8' }));
    await assert.rejects(backend.start(TEST_LIMITS), /fp32 baseline; dtype q8/);
  });
});
