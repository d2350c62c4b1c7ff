import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { onnx, type OnnxTypes } from '../src/model/onnx/proto.js';
import { SeededRandom } from '../src/text/random.js';

/**
 * A small masked-LM encoder as some Hub ONNX exports of ModernBERT-base look: the only output is
 * `logits`. embeddings -> 2 pre-norm feed-forward layers -> final_norm -> head dense -> GELU (as
 * its Erf decomposition) -> head norm -> decoder MatMul [hidden, vocab] + bias -> logits.
 */
export interface LogitsModelOptions {
  hiddenSize: number;
  vocabSize: number;
  /** Head and decoder as dynamic-int8 MatMulInteger, as in model_quantized.onnx exports. */
  quantized?: boolean;
  /** Stores the decoder weight in `<file>_data` next to the model, as large exports do. */
  externalDecoderWeight?: boolean;
  /** Also outputs the final_norm tensor as `final_norm_reference` (the expected hidden state). */
  withReferenceOutput?: boolean;
  /**
   * Head on [batch*seq, hidden] as Gemm exports do: Reshape to 2-D, Gemm dense, and a Gemm(transB)
   * decoder over the tied [vocab, hidden] embedding matrix, reshaped back to 3-D.
   */
  gemmHead?: boolean;
  /** Leaves out the MLM head: logits straight from final_norm, so no hidden state can be identified. */
  withoutHead?: boolean;
}

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;
const INT8 = onnx.TensorProto.DataType.INT8;
export const FINAL_NORM_TENSOR = '/model/final_norm/LayerNormalization_output_0';

/** Writes `<dir>/<fileName>` (and its external data file when asked) and returns the written file names. */
export async function writeLogitsModel(dir: string, fileName: string, options: LogitsModelOptions): Promise<string[]> {
  const { hiddenSize: h, vocabSize: v } = options;
  // Deterministic weights, so failures reproduce.
  const generator = new SeededRandom(7);
  const random = () => generator.next();
  const nodes: OnnxTypes.INodeProto[] = [];
  const initializers: OnnxTypes.ITensorProto[] = [];
  const external: Buffer[] = [];
  let counter = 0;

  const weight = (name: string, dims: number[], scale = 0.3): string => {
    const values = Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => (random() * 2 - 1) * scale);
    initializers.push({ name, dims, dataType: FLOAT, rawData: Buffer.from(values.buffer) });
    return name;
  };
  const constant = (dims: number[], values: number[], dataType = FLOAT): string => {
    const name = `const_${counter++}`;
    const bytes = dataType === INT64 ? Buffer.from(BigInt64Array.from(values.map(BigInt)).buffer) : Buffer.from(Float32Array.from(values).buffer);
    initializers.push({ name, dims, dataType, rawData: bytes });
    return name;
  };
  const op = (opType: string, inputs: string[], attributes: OnnxTypes.IAttributeProto[] = [], outputName?: string): string => {
    const output = outputName ?? `/${opType}_${counter++}`;
    nodes.push({ name: `${output}_node`, opType, input: inputs, output: [output], attribute: attributes });
    return output;
  };
  const layerNorm = (x: string, name: string, outputName?: string): string =>
    op('LayerNormalization', [x, weight(`${name}.weight`, [h], 1)], [{ name: 'epsilon', type: 1, f: 1e-5 }], outputName);
  const gelu = (x: string): string => {
    const erf = op('Erf', [op('Div', [x, constant([], [Math.SQRT2])])]);
    return op('Mul', [op('Mul', [x, op('Add', [erf, constant([], [1])])]), constant([], [0.5])]);
  };
  const quantizedMatMul = (x: string, name: string, dims: [number, number]): string => {
    const values = Int8Array.from({ length: dims[0] * dims[1] }, () => Math.round((random() * 2 - 1) * 127));
    initializers.push({ name, dims, dataType: INT8, rawData: Buffer.from(values.buffer) });
    const quantizeOutputs = [`${name}_q`, `${name}_q_scale`, `${name}_q_zero`];
    nodes.push({ name: `${name}_quantize`, opType: 'DynamicQuantizeLinear', input: [x], output: quantizeOutputs });
    const product = op('MatMulInteger', [quantizeOutputs[0]!, name, quantizeOutputs[2]!]);
    const scale = op('Mul', [quantizeOutputs[1]!, constant([], [0.3 / 127])]);
    return op('Mul', [op('Cast', [product], [{ name: 'to', type: 2, i: FLOAT }]), scale]);
  };
  const project = (x: string, name: string, dims: [number, number], external = false): string => {
    if (options.quantized) return quantizedMatMul(x, name, dims);
    const w = weight(name, dims);
    if (external) moveToExternalData(initializers.at(-1)!);
    return op('MatMul', [x, w]);
  };
  const moveToExternalData = (tensor: OnnxTypes.ITensorProto): void => {
    const bytes = Buffer.from(tensor.rawData!);
    const offset = external.reduce((sum, part) => sum + part.length, 0);
    external.push(bytes);
    tensor.rawData = null;
    tensor.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
    tensor.externalData = [
      { key: 'location', value: `${fileName}_data` },
      { key: 'offset', value: String(offset) },
      { key: 'length', value: String(bytes.length) },
    ];
  };

  const gemmHead = (x: string): string => {
    const flat = op('Reshape', [x, constant([2], [-1, h], INT64)]);
    const dense = op('Gemm', [flat, weight('head.dense.weight', [h, h])]);
    const normalized = layerNorm(gelu(dense), 'head.norm');
    const product = op('Gemm', [normalized, 'embeddings.tok_embeddings.weight'], [{ name: 'transB', type: 2, i: 1 }]);
    const batchAndSequence = op('Slice', [op('Shape', [x]), constant([1], [0], INT64), constant([1], [2], INT64)]);
    return op('Reshape', [product, op('Concat', [batchAndSequence, constant([1], [v], INT64)], [{ name: 'axis', type: 2, i: 0 }])]);
  };

  const embedded = op('Gather', [weight('embeddings.tok_embeddings.weight', [v, h], 1), 'input_ids']);
  const mask = op('Unsqueeze', [op('Cast', ['attention_mask'], [{ name: 'to', type: 2, i: FLOAT }]), constant([1], [-1], INT64)]);
  let x = op('Mul', [layerNorm(embedded, 'embeddings.norm'), mask]);
  for (let layer = 0; layer < 2; layer += 1) {
    const up = op('MatMul', [layerNorm(x, `layers.${layer}.mlp_norm`), weight(`layers.${layer}.mlp.Wi`, [h, 2 * h])]);
    x = op('Add', [x, op('MatMul', [gelu(up), weight(`layers.${layer}.mlp.Wo`, [2 * h, h])])]);
  }
  const finalNorm = layerNorm(x, 'final_norm', FINAL_NORM_TENSOR);
  const matMulHead = (x: string): string => {
    const headOutput = options.withoutHead ? x : layerNorm(gelu(project(x, 'head.dense.weight', [h, h])), 'head.norm');
    return project(headOutput, 'decoder.weight', [h, v], options.externalDecoderWeight);
  };
  const decoded = options.gemmHead ? gemmHead(finalNorm) : matMulHead(finalNorm);
  const logits = op('Add', [decoded, weight('decoder.bias', [v])], [], 'logits');

  const dims = (...names: Array<string | number>): OnnxTypes.ITensorShapeProto => ({
    dim: names.map((dim) => (typeof dim === 'number' ? { dimValue: dim } : { dimParam: dim })),
  });
  const tensorInfo = (name: string, elemType: number, shape: OnnxTypes.ITensorShapeProto): OnnxTypes.IValueInfoProto => ({
    name,
    type: { tensorType: { elemType, shape } },
  });
  const outputs = [tensorInfo(logits, FLOAT, dims('batch_size', 'sequence_length', v))];
  if (options.withReferenceOutput) outputs.push(tensorInfo(FINAL_NORM_TENSOR, FLOAT, dims('batch_size', 'sequence_length', h)));
  const model: OnnxTypes.IModelProto = {
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    producerName: 'fetch-logits-model',
    graph: {
      name: 'masked_lm',
      node: nodes,
      initializer: initializers,
      input: [
        tensorInfo('input_ids', INT64, dims('batch_size', 'sequence_length')),
        tensorInfo('attention_mask', INT64, dims('batch_size', 'sequence_length')),
      ],
      output: outputs,
    },
  };
  await writeFile(join(dir, fileName), onnx.ModelProto.encode(model).finish());
  if (external.length === 0) return [fileName];
  await writeFile(join(dir, `${fileName}_data`), Buffer.concat(external));
  return [fileName, `${fileName}_data`];
}

/** Runs the model on onnxruntime-node (CPU) and returns every output as float32 values. */
export async function runModel(path: string, inputIds: number[][]): Promise<Record<string, { dims: readonly number[]; data: Float32Array }>> {
  const ort = await import('onnxruntime-node');
  const session = await ort.InferenceSession.create(path);
  try {
    const dims = [inputIds.length, inputIds[0]?.length ?? 0];
    const ids = BigInt64Array.from(inputIds.flat().map(BigInt));
    const feeds = {
      input_ids: new ort.Tensor('int64', ids, dims),
      attention_mask: new ort.Tensor('int64', ids.map(() => 1n), dims),
    };
    const results = await session.run(feeds);
    return Object.fromEntries(
      Object.entries(results).map(([name, tensor]) => [name, { dims: tensor.dims, data: Float32Array.from(tensor.data as Float32Array) }]),
    );
  } finally {
    await session.release();
  }
}

export function maxAbsDifference(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Infinity;
  return a.reduce((max, value, i) => Math.max(max, Math.abs(value - (b[i] ?? NaN))), 0);
}
