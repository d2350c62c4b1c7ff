import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hubOptionsFromEnv } from '../src/hub/config.js';
import { fetchModel } from '../src/model/fetch.js';
import { HIDDEN_STATE_OUTPUT } from '../src/model/graph-edit.js';
import { onnx } from '../src/model/onnx/proto.js';
import { runModel, writeLogitsModel } from './fetch-logits-model.js';
import { cosine as rowCosine, meanPoolNormalized, runOnnx, testModelDir, tokenBatch } from './reference-forward-fixtures.js';
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

describe('model fetch of a repository with model_fp16.onnx but no model_q8f16.onnx', () => {
  it('quantizes the fp16 graph to 8-bit MatMulNBits weights that agree with fp32', async () => {
    const synthesized = testModelDir('modernbert');
    const repoFolder = await mkdtemp(join(tmpdir(), 'fetch-q8f16-hub-'));
    try {
      await mkdir(join(repoFolder, 'onnx'));
      for (const file of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model.onnx', 'onnx/model_fp16.onnx']) {
        await copyFile(join(synthesized, file), join(repoFolder, file));
      }
      await withHubTestServer({ models: { 'example/no-q8f16': repoFolder } }, async (server, out) => {
        const hub = hubOptionsFromEnv({ endpoint: server.endpoint, retryBaseDelayMs: 10 }, {});
        const lines: string[] = [];
        const files = await fetchModel({ modelId: 'example/no-q8f16', outDir: out, variants: ['fp32', 'q8f16'], revision: 'main', hub, log: (line) => lines.push(line) });
        assert.deepEqual(files.at(-1), { path: 'onnx/model_q8f16.onnx', bytes: files.at(-1)!.bytes, action: 'quantized here' });
        assert.ok(lines.some((line) => line.startsWith('quantizing onnx/model_fp16.onnx to onnx/model_q8f16.onnx (8-bit MatMulNBits weights')), lines.join('\n'));

        const graph = onnx.ModelProto.decode(await readFile(join(out, 'onnx', 'model_q8f16.onnx'))).graph!;
        const ops = (graph.node ?? []).map((node) => node.opType);
        const synthesizedGraph = onnx.ModelProto.decode(await readFile(join(synthesized, 'onnx', 'model_q8f16.onnx'))).graph!;
        assert.equal(ops.filter((op) => op === 'MatMulNBits').length, synthesizedGraph.node!.filter((node) => node.opType === 'MatMulNBits').length);

        const tokens = tokenBatch([20, 7], 50368, 50281, 50282);
        const embed = async (path: string) => {
          const hidden = await runOnnx(path, tokens);
          return meanPoolNormalized(hidden.data as Float32Array, tokens, hidden.dims[2]!);
        };
        const [reference, quantized] = [await embed(join(out, 'onnx', 'model.onnx')), await embed(join(out, 'onnx', 'model_q8f16.onnx'))];
        reference.forEach((row, i) => {
          const agreement = rowCosine(row, quantized[i]!);
          assert.ok(agreement >= 0.999, `row ${i}: q8f16 cosine ${agreement} with fp32`);
        });
      });
    } finally {
      await rm(repoFolder, { recursive: true, force: true });
    }
  });
});
