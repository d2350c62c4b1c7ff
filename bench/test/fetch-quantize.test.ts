import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hubOptionsFromEnv } from '../src/hub/config.js';
import { fetchModel } from '../src/model/fetch.js';
import { HIDDEN_STATE_OUTPUT } from '../src/model/graph-edit.js';
import { onnx } from '../src/model/onnx/proto.js';
import { runModel, writeLogitsModel } from './fetch-logits-model.js';
import { withHubTestServer } from './hub-test-server.js';

const modelId = 'example/fp32-only';
const inputIds = [[1, 4, 8, 15, 16, 23, 2]];
let hubFolder: string;

function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let normA = 0;
  let normB = 0;
  a.forEach((value, i) => {
    dot += value * b[i]!;
    normA += value * value;
    normB += b[i]! * b[i]!;
  });
  return dot / Math.sqrt(normA * normB);
}

before(async () => {
  hubFolder = await mkdtemp(join(tmpdir(), 'fetch-quantize-hub-'));
  await mkdir(join(hubFolder, 'onnx'));
  await writeFile(join(hubFolder, 'config.json'), JSON.stringify({ model_type: 'modernbert', hidden_size: 32, vocab_size: 40 }));
  await writeFile(join(hubFolder, 'tokenizer.json'), '{"version": "1.0"}');
  await writeFile(join(hubFolder, 'tokenizer_config.json'), '{"model_max_length": 8192}');
  await writeLogitsModel(join(hubFolder, 'onnx'), 'model.onnx', { hiddenSize: 32, vocabSize: 40, externalDecoderWeight: true });
});
after(() => rm(hubFolder, { recursive: true, force: true }));

describe('model fetch of a repository without model_quantized.onnx', () => {
  it('quantizes the fetched fp32 graph to dynamic int8 MatMuls that agree with it, once', () =>
    withHubTestServer({ models: { [modelId]: hubFolder } }, async (server, out) => {
      const hub = hubOptionsFromEnv({ endpoint: server.endpoint, retryBaseDelayMs: 10 }, {});
      const options = { modelId, outDir: out, variants: ['q8' as const], revision: 'main', hub };
      const files = await fetchModel(options);
      assert.deepEqual(files.at(-1), { path: 'onnx/model_quantized.onnx', bytes: files.at(-1)!.bytes, action: 'quantized here' });

      const model = onnx.ModelProto.decode(await readFile(join(out, 'onnx', 'model_quantized.onnx')));
      const ops = (model.graph?.node ?? []).map((node) => node.opType);
      assert.ok(ops.filter((op) => op === 'MatMulInteger').length >= 3, `too few int8 MatMuls: ${ops.join(' ')}`);
      assert.ok(!ops.includes('MatMul'), 'a weight MatMul was left in float32');
      assert.ok(ops.includes('LayerNormalization') && ops.includes('Gather'), 'normalizations and embeddings must stay float32');

      const reference = await runModel(join(out, 'onnx', 'model.onnx'), inputIds);
      const quantized = await runModel(join(out, 'onnx', 'model_quantized.onnx'), inputIds);
      const agreement = cosine(reference[HIDDEN_STATE_OUTPUT]!.data, quantized[HIDDEN_STATE_OUTPUT]!.data);
      assert.ok(agreement >= 0.99, `int8 last_hidden_state has cosine ${agreement} with fp32`);

      const again = await fetchModel(options);
      assert.ok(again.every((file) => file.action === 'already present'), JSON.stringify(again));
    }));
});
