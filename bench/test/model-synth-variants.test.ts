import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import onnxProto from 'onnx-proto';
import { cosine, meanPoolNormalized, runOnnx, testModelDir, tokenBatch } from './reference-forward-fixtures.js';

const { onnx } = onnxProto;
const DataType = onnx.TensorProto.DataType;
const LENGTHS = [150, 40, 9];

async function graphOf(path: string) {
  const graph = onnx.ModelProto.decode(await readFile(path)).graph;
  assert.ok(graph, `${path} has no graph`);
  return graph;
}

for (const arch of ['modernbert', 'bert'] as const) {
  describe(`${arch}-tiny fp16, q8 and q8f16 variants`, () => {
    const modelDir = testModelDir(arch);
    const tokens = tokenBatch(LENGTHS, arch === 'bert' ? 30522 : 50368, 1, 2);
    const embed = async (file: string) => {
      const hidden = await runOnnx(join(modelDir, 'onnx', file), tokens);
      assert.equal(hidden.type, 'float32', `${file} output type`);
      return meanPoolNormalized(hidden.data as Float32Array, tokens, hidden.dims[2]!);
    };

    for (const [file, structure] of [
      ['model_fp16.onnx', 'stores every float weight as float16'],
      ['model_quantized.onnx', 'runs its MatMuls as MatMulInteger on int8 weights'],
      ['model_q8f16.onnx', 'runs its MatMuls as 8-bit MatMulNBits on float16 activations'],
    ] as const) {
      it(`${file} ${structure} and embeds within cosine 0.99 of fp32 on onnxruntime CPU`, async () => {
        const graph = await graphOf(join(modelDir, 'onnx', file));
        const opTypes = new Set(graph.node?.map((node) => node.opType));
        const weightTypes = new Set(graph.initializer?.filter((t) => (t.dims?.length ?? 0) >= 2).map((t) => t.dataType));
        const initializerNames = new Set(graph.initializer?.map((t) => t.name));
        const floatWeightMatMuls = graph.node?.filter((node) => node.opType === 'MatMul' && initializerNames.has(node.input?.[1])) ?? [];
        if (file === 'model_fp16.onnx') {
          assert.deepEqual(weightTypes, new Set([DataType.FLOAT16]));
        } else if (file === 'model_q8f16.onnx') {
          assert.deepEqual(floatWeightMatMuls.map((node) => node.name), [], 'MatMuls left on float weights');
          const nbits = graph.node?.filter((node) => node.opType === 'MatMulNBits') ?? [];
          assert.ok(nbits.length > 0 && nbits.every((node) => node.domain === 'com.microsoft'));
          const attributes = Object.fromEntries(nbits[0]!.attribute!.map((attribute) => [attribute.name, Number(attribute.i)]));
          assert.deepEqual({ ...attributes, K: undefined, N: undefined }, { K: undefined, N: undefined, bits: 8, block_size: 32, accuracy_level: 4 });
          assert.deepEqual(weightTypes, new Set([DataType.FLOAT16, DataType.UINT8]));
        } else {
          assert.ok(opTypes.has('MatMulInteger') && opTypes.has('DynamicQuantizeLinear'));
          assert.deepEqual(floatWeightMatMuls.map((node) => node.name), [], 'MatMuls left on float weights');
          assert.ok(weightTypes.has(DataType.INT8));
        }
        const [reference, variant] = [await embed('model.onnx'), await embed(file)];
        reference.forEach((row, i) => {
          const similarity = cosine(row, variant[i]!);
          assert.ok(similarity > 0.99, `row ${i}: cosine ${similarity}`);
        });
      });
    }
  });
}
