import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError } from '../src/config.js';
import { runServer } from '../src/main.js';
import { histogramCount, postJson, TINY_MODERNBERT, waitUntil } from './helpers.js';

const quiet = { EMBEDBENCH_LOG_LEVEL: 'silent' };

describe('runServer', () => {
  it('serves on the configured port, and on shutdown finishes in-flight requests before closing', async () => {
    const server = await runServer(['--backend', 'onnx', '--model', TINY_MODERNBERT, '--port', '0', '--max-input-tokens', '64', '--execution-providers', 'cpu'], quiet);
    const url = server.url!;
    assert.equal((await fetch(`${url}/health`)).status, 200);
    const info = (await (await fetch(`${url}/info`)).json()) as {
      backend: string;
      model: string;
      max_input_tokens: number;
      batching: { max_batch_tokens: number };
    };
    assert.deepEqual([info.backend, info.model, info.max_input_tokens], ['onnx', 'modernbert-tiny', 64]);
    assert.equal(info.batching.max_batch_tokens, 1024, 'without --max-batch-tokens the queue takes the CPU backend\'s budget');

    const metrics = server.service!.metrics;
    const tokenizedBefore = await histogramCount(metrics.tokenizationDuration);
    const inFlight = postJson(`${url}/embed`, { texts: Array.from({ length: 64 }, (_, i) => `passage number ${i}`) });
    await waitUntil(async () => (await histogramCount(metrics.tokenizationDuration)) > tokenizedBefore);
    const stopping = server.shutdown();
    const response = await inFlight;
    assert.equal(response.status, 200);
    assert.equal(((await response.json()) as { num_embeddings: number }).num_embeddings, 64);
    await stopping;
    await server.closed;
    await assert.rejects(fetch(`${url}/health`), 'the port no longer accepts connections');
  });

  it('accepts a model directory relative to the working directory', async () => {
    const modelDir = relative(process.cwd(), TINY_MODERNBERT);
    const server = await runServer(['--backend', 'transformers', '--model', modelDir, '--port', '0'], quiet);
    try {
      assert.equal((await fetch(`${server.url}/health`)).status, 200);
    } finally {
      await server.shutdown();
    }
  });

  it('rejects with a clear error when the model cannot be loaded, and stops listening', async () => {
    const emptyDir = await mkdtemp(join(tmpdir(), 'embedbench-empty-model-'));
    try {
      await assert.rejects(
        runServer(['--backend', 'onnx', '--model', emptyDir, '--port', '0', '--execution-providers', 'cpu'], quiet),
        (error: unknown) => error instanceof Error && error.message.startsWith(`failed to load the model from ${emptyDir}`),
      );
    } finally {
      await rm(emptyDir, { recursive: true, force: true });
    }
  });

  it('rejects invalid settings and unknown flags with ConfigError, before loading anything', async () => {
    await assert.rejects(runServer(['--backend', 'onnx'], quiet), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /--model \(EMBEDBENCH_MODEL\)/);
      return true;
    });
    await assert.rejects(runServer(['--backend', 'onnx', '--model', '/nonexistent/model'], quiet), /is not a model directory/);
    await assert.rejects(runServer(['--colour', 'blue'], quiet), ConfigError);
  });
});
