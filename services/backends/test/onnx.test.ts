import assert from 'node:assert/strict';
import { cosineSimilarity } from '@embedbench/loadtest/contract';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { ModelLoadError } from '../src/model-files.js';
import { OnnxBackend } from '../src/onnx/index.js';
import { WorkerCrashedError } from '../src/onnx/inference-worker.js';
import { CRASHING_WORKER, crashWorkersOnNextBatch } from './worker-crash.js';
import { assertEmbeddingRow, backendOptions, capturingLogger, copyModel, TEST_LIMITS, testModelDir, tokenize, VARIED_TEXTS } from './support.js';

const HIDDEN_SIZE = 64;

for (const arch of ['modernbert', 'bert'] as const) {
  describe(`onnx backend on ${arch}-tiny`, () => {
    const modelDir = testModelDir(arch);
    const backend = new OnnxBackend(backendOptions(modelDir, { workers: 2 }));

    before(async () => {
      const info = await backend.start(TEST_LIMITS);
      assert.deepEqual(info, {
        backend: 'onnx',
        executionProvider: 'cpu',
        dtype: 'fp32',
        gpuAvailable: false,
        providers: [{ provider: 'cpu', status: 'in use', reason: 'always available' }],
        parallelism: 2,
        maxBatchTokens: 1024,
        maxBatchRows: 32,
      });
    });
    after(() => backend.close());

    it('returns one row of hidden_size per input, in order, for varied lengths', async () => {
      const inputIds = await tokenize(modelDir, VARIED_TEXTS);
      const rows = await backend.embed({ inputIds });
      assert.equal(rows.length, VARIED_TEXTS.length);
      for (const row of rows) assertEmbeddingRow(row, HIDDEN_SIZE);
    });

    it('gives each of many concurrent single-text batches its own row, equal to its row in one padded batch', async () => {
      const inputIds = await tokenize(modelDir, VARIED_TEXTS);
      const batched = await backend.embed({ inputIds });
      const singles = await Promise.all(inputIds.map((ids) => backend.embed({ inputIds: [ids] })));
      singles.forEach(([row], i) => assert.ok(cosineSimilarity(row!, batched[i]!) > 0.9999, `row ${i} differs when batched`));
    });
  });
}

describe('onnx execution provider fallback', () => {
  it('reports tensorrt and cuda unavailable on a machine without their libraries, says why, and runs on cpu', async () => {
    const { logger, entries } = capturingLogger();
    const backend = new OnnxBackend(
      backendOptions(testModelDir('modernbert'), { device: 'auto', executionProviders: ['tensorrt', 'cuda', 'cpu'], logger }),
    );
    try {
      const info = await backend.start(TEST_LIMITS);
      assert.equal(info.executionProvider, 'cpu');
      assert.equal(info.dtype, 'fp32');
      assert.equal(info.gpuAvailable, false);
      assert.deepEqual(info.providers.map((entry) => [entry.provider, entry.status]), [['tensorrt', 'unavailable'], ['cuda', 'unavailable'], ['cpu', 'in use']]);
      for (const entry of info.providers.slice(0, 2)) assert.match(entry.reason, /not installed: .*libonnxruntime_providers_/);
      const logged = entries.filter((entry) => /execution provider (tensorrt|cuda) unavailable/.test(entry.msg));
      assert.equal(logged.length, 2, `the unavailable providers were not logged: ${JSON.stringify(entries)}`);
    } finally {
      await backend.close();
    }
  });

  it('fails clearly when only GPU providers are allowed and none is available', async () => {
    const backend = new OnnxBackend(backendOptions(testModelDir('modernbert'), { device: 'cuda', executionProviders: ['tensorrt', 'cuda', 'cpu'] }));
    await assert.rejects(
      backend.start(TEST_LIMITS),
      (error: Error) =>
        error instanceof ModelLoadError &&
        /no execution provider among \[tensorrt, cuda, cpu\] can run with --device cuda: tensorrt: not installed.*cpu: --device cuda/.test(error.message),
    );
  });
});

describe('onnx worker crash', () => {
  it('rejects the in-flight batch, reports unhealthy, restarts the worker and serves again', async () => {
    const modelDir = testModelDir('modernbert');
    const { logger, entries } = capturingLogger();
    const backend = new OnnxBackend(backendOptions(modelDir, { logger }), { workerScript: CRASHING_WORKER });
    await backend.start(TEST_LIMITS);
    try {
      const inputIds = await tokenize(modelDir, ['first', 'second']);
      crashWorkersOnNextBatch();
      await assert.rejects(backend.embed({ inputIds }), (error: Error) => error instanceof WorkerCrashedError && /exited with code 70/.test(error.message));
      assert.equal(backend.health().healthy, false);
      assert.match(backend.health().reason ?? '', /restarting/);
      for (let waited = 0; !backend.health().healthy; waited += 50) {
        assert.ok(waited < 30_000, 'the worker was not restarted within 30 s');
        await sleep(50);
      }
      const rows = await backend.embed({ inputIds });
      for (const row of rows) assertEmbeddingRow(row, HIDDEN_SIZE);
      assert.ok(entries.some((entry) => entry.msg === 'onnx inference worker restarted'));
    } finally {
      await backend.close();
    }
  });
});

describe('onnx model loading errors', () => {
  it('names a missing model directory', async () => {
    const backend = new OnnxBackend(backendOptions('/nonexistent/model-dir'));
    await assert.rejects(backend.start(TEST_LIMITS), /model directory not found: \/nonexistent\/model-dir/);
  });

  it('names a missing model file', async () => {
    const copy = await copyModel(testModelDir('modernbert'));
    try {
      await rm(join(copy.dir, 'onnx', 'model.onnx'));
      const backend = new OnnxBackend(backendOptions(copy.dir));
      await assert.rejects(backend.start(TEST_LIMITS), (error: Error) => error instanceof ModelLoadError && error.message.includes(`model file not found: ${join(copy.dir, 'onnx', 'model.onnx')}`));
    } finally {
      await copy.remove();
    }
  });

  it('reports a corrupt model file instead of crashing', async () => {
    const copy = await copyModel(testModelDir('modernbert'));
    try {
      await writeFile(join(copy.dir, 'onnx', 'model.onnx'), 'this is not an onnx protobuf');
      const backend = new OnnxBackend(backendOptions(copy.dir));
      await assert.rejects(backend.start(TEST_LIMITS), (error: Error) => error instanceof ModelLoadError && /cannot load the onnx model from .*cpu \(.*model\.onnx\)/.test(error.message));
    } finally {
      await copy.remove();
    }
  });
});
