import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import onnxProto from 'onnx-proto';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { defaultOpsetVersion, MEAN_POOLED_OUTPUT, readModelWithMeanPooling, withMeanPoolingOutput } from '../src/onnx/mean-pooling-graph.js';
import { padBatch } from '../src/padding.js';
import { testModelDir, tokenize, VARIED_TEXTS } from './support.js';

const { onnx } = onnxProto;

/** The mean of each row's hidden states over its real tokens, in float64. */
function referenceMeanPool(hidden: Float32Array, mask: BigInt64Array, rows: number, length: number, width: number): number[][] {
  return Array.from({ length: rows }, (_, row) => {
    const sums = new Array<number>(width).fill(0);
    let count = 0;
    for (let t = 0; t < length; t++) {
      if (mask[row * length + t] !== 1n) continue;
      count++;
      for (let h = 0; h < width; h++) sums[h]! += hidden[(row * length + t) * width + h]!;
    }
    return sums.map((sum) => sum / count);
  });
}

function assertClose(actual: Float32Array, expected: number[][], tolerance: number): void {
  const flat = expected.flat();
  assert.equal(actual.length, flat.length);
  const worst = Math.max(...flat.map((value, i) => Math.abs(value - actual[i]!)));
  assert.ok(worst <= tolerance, `largest difference ${worst} > ${tolerance}`);
}

describe('mean pooling added to the model graph', () => {
  for (const arch of ['modernbert', 'bert'] as const) {
    it(`equals the mean of last_hidden_state over the mask on ${arch}-tiny (opset 17, padded rows)`, async () => {
      const modelDir = testModelDir(arch);
      const bytes = await readFile(join(modelDir, 'onnx', 'model.onnx'));
      assert.equal(defaultOpsetVersion(bytes), 17);
      const session = await InferenceSession.create(withMeanPoolingOutput(bytes));
      assert.ok(session.outputNames.includes(MEAN_POOLED_OUTPUT) && session.outputNames.includes('last_hidden_state'));
      const padded = padBatch(await tokenize(modelDir, VARIED_TEXTS.slice(0, 6)), 0);
      const dims = [padded.rows, padded.sequenceLength];
      const feeds: Record<string, Tensor> = {
        input_ids: new Tensor('int64', padded.inputIds, dims),
        attention_mask: new Tensor('int64', padded.attentionMask, dims),
      };
      if (session.inputNames.includes('token_type_ids')) feeds.token_type_ids = new Tensor('int64', new BigInt64Array(padded.inputIds.length), dims);
      const outputs = await session.run(feeds);
      const hidden = outputs.last_hidden_state!;
      const expected = referenceMeanPool(hidden.data as Float32Array, padded.attentionMask, padded.rows, padded.sequenceLength, hidden.dims[2]!);
      assert.deepEqual(outputs[MEAN_POOLED_OUTPUT]!.dims, [padded.rows, hidden.dims[2]]);
      assertClose(outputs[MEAN_POOLED_OUTPUT]!.data as Float32Array, expected, 1e-5);
      await session.release();
    });
  }

  it('uses the attribute form of Unsqueeze and ReduceSum in models older than opset 13', async () => {
    const tensor = (name: string, elemType: number, dims: Array<number | string>) => ({
      name,
      type: { tensorType: { elemType, shape: { dim: dims.map((dim) => (typeof dim === 'number' ? { dimValue: dim } : { dimParam: dim })) } } },
    });
    const model = onnx.ModelProto.encode({
      irVersion: 6,
      opsetImport: [{ domain: '', version: 11 }],
      graph: {
        name: 'identity-encoder',
        node: [{ opType: 'Identity', input: ['hidden_in'], output: ['last_hidden_state'] }],
        input: [tensor('hidden_in', onnx.TensorProto.DataType.FLOAT, ['b', 'l', 2]), tensor('attention_mask', onnx.TensorProto.DataType.INT64, ['b', 'l'])],
        output: [tensor('last_hidden_state', onnx.TensorProto.DataType.FLOAT, ['b', 'l', 2])],
      },
    }).finish();
    assert.equal(defaultOpsetVersion(model), 11);
    const session = await InferenceSession.create(withMeanPoolingOutput(model));
    const hidden = Float32Array.of(1, 2, 3, 4, 10, 20, 99, 99);
    const mask = BigInt64Array.of(1n, 1n, 1n, 0n);
    const outputs = await session.run({ hidden_in: new Tensor('float32', hidden, [2, 2, 2]), attention_mask: new Tensor('int64', mask, [2, 2]) });
    assert.deepEqual([...(outputs[MEAN_POOLED_OUTPUT]!.data as Float32Array)], [2, 3, 10, 20]);
    await session.release();
  });

  it('reads a model file with its pooling appended, byte for byte what withMeanPoolingOutput makes', async () => {
    const file = join(testModelDir('bert'), 'onnx', 'model.onnx');
    assert.deepEqual(await readModelWithMeanPooling(file), new Uint8Array(withMeanPoolingOutput(await readFile(file))));
  });

  it('refuses bytes that are not an ONNX model', () => {
    assert.throws(() => defaultOpsetVersion(Buffer.from('this is not an onnx protobuf')), /not an ONNX model/);
  });
});
