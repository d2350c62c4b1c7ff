/**
 * Weight quantization of a float ONNX graph, MatMul by MatMul: each MatMul whose second input is a
 * 2-D constant weight of the rewrite's float type is replaced by the rewrite's nodes. Everything
 * else keeps its precision: the embedding Gathers, the normalizations, softmax and attention's
 * activation x activation MatMuls, which matter for parity and cost little time. Weights kept in
 * external data are read, and the result keeps every tensor inline (8-bit weights are a quarter of
 * the float32 size).
 *
 * - DYNAMIC_INT8, from float32 (as onnxruntime's quantize_dynamic does; for CPUs):
 *   DynamicQuantizeLinear(activation) -> MatMulInteger(uint8 activation, int8 weight) -> Cast -> Mul,
 *   one symmetric scale per weight column (the pattern `model synth` writes, which onnxruntime
 *   fuses into MatMulIntegerToFloat).
 * - BLOCK_INT8, from float16: MatMulNBits with 8-bit weights in blocks of 32 (what `model synth`
 *   writes for q8f16).
 */
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../../fs/atomic.js';
import { fromFloat16Bits } from './float16.js';
import { bytesOf, CONTRIB_DOMAIN } from './graph-builder.js';
import { onnx, type OnnxTypes } from './proto.js';
import { NBITS_BLOCK_SIZE, nbitsWeight, quantizePerColumn } from './quantize.js';

const { FLOAT, FLOAT16, INT8, UINT8 } = onnx.TensorProto.DataType;
const { INT } = onnx.AttributeProto.AttributeType;
/** Protobuf's limit on one serialized message. */
const MAX_MODEL_BYTES = 2 ** 31 - 1;

export interface QuantizedGraph {
  /** MatMuls whose weight was quantized. */
  readonly quantizedMatMuls: number;
  /** MatMuls left in float (no constant 2-D weight of the rewrite's type and shape). */
  readonly floatMatMuls: number;
  readonly bytes: number;
}

/** How one weight MatMul is quantized. */
export interface MatMulRewrite {
  readonly description: string;
  /** The float type of the weights it takes. */
  readonly weightType: number;
  readonly accepts: (rows: number, columns: number) => boolean;
  readonly quantize: (weightName: string, data: Float32Array, rows: number, columns: number) => QuantizedWeight;
}

/** A quantized weight: its initializers, and the nodes that multiply an activation by it. */
export interface QuantizedWeight {
  readonly initializers: OnnxTypes.ITensorProto[];
  readonly nodes: (prefix: string, activation: string, output: string) => OnnxTypes.INodeProto[];
}

export const DYNAMIC_INT8: MatMulRewrite = {
  description: 'dynamic int8 MatMuls',
  weightType: FLOAT,
  accepts: () => true,
  quantize(weightName, data, rows, columns) {
    const { values, scales } = quantizePerColumn(data, rows, columns);
    const tensor = (suffix: string) => `${weightName}_${suffix}`;
    return {
      initializers: [
        { name: tensor('quantized'), dataType: INT8, dims: [rows, columns], rawData: bytesOf(values) },
        { name: tensor('scale'), dataType: FLOAT, dims: [columns], rawData: bytesOf(scales) },
        { name: tensor('zero_point'), dataType: INT8, dims: [columns], rawData: new Uint8Array(columns) },
      ],
      nodes(prefix, activation, output) {
        const name = (suffix: string) => `${prefix}_int8/${suffix}`;
        return [
          { name: name('quantize'), opType: 'DynamicQuantizeLinear', input: [activation], output: [name('x'), name('x_scale'), name('x_zero_point')] },
          { name: name('matmul'), opType: 'MatMulInteger', input: [name('x'), tensor('quantized'), name('x_zero_point'), tensor('zero_point')], output: [name('product')] },
          { name: name('cast'), opType: 'Cast', input: [name('product')], output: [name('product_float')], attribute: [{ name: 'to', type: INT, i: FLOAT }] },
          { name: name('scales'), opType: 'Mul', input: [name('x_scale'), tensor('scale')], output: [name('scale')] },
          { name: name('rescale'), opType: 'Mul', input: [name('product_float'), name('scale')], output: [output] },
        ];
      },
    };
  },
};

export const BLOCK_INT8: MatMulRewrite = {
  description: '8-bit MatMulNBits weights',
  weightType: FLOAT16,
  accepts: (rows) => rows % NBITS_BLOCK_SIZE === 0,
  quantize(weightName, data, rows, columns) {
    const weight = nbitsWeight(data, rows, columns);
    const [values, scales] = [`${weightName}_q8`, `${weightName}_scale`];
    return {
      initializers: [
        { name: values, dataType: UINT8, dims: weight.valueDims, rawData: weight.values },
        { name: scales, dataType: FLOAT16, dims: weight.scaleDims, rawData: weight.float16Scales },
      ],
      nodes: (prefix, activation, output) => [
        {
          name: `${prefix}_q8`,
          opType: 'MatMulNBits',
          domain: CONTRIB_DOMAIN,
          input: [activation, values, scales],
          output: [output],
          attribute: Object.entries(weight.attributes).map(([name, i]) => ({ name, type: INT, i })),
        },
      ],
    };
  },
};

/** Writes the model at `source` with its weight MatMuls quantized by `rewrite` to `destination`. */
export async function quantizeModelFile(source: string, destination: string, rewrite: MatMulRewrite): Promise<QuantizedGraph> {
  const model = onnx.ModelProto.decode(await readFile(source));
  const graph = model.graph;
  if (!graph) throw new Error(`${source} has no graph`);
  await inlineExternalData(graph, dirname(source));
  const counts = quantizeWeightMatMuls(graph, rewrite);
  if (counts.quantizedMatMuls === 0) throw new Error(`${source} has no MatMul with a constant weight to quantize to ${rewrite.description}`);
  const opsets = model.opsetImport ?? [];
  if (graph.node?.some((node) => node.domain === CONTRIB_DOMAIN) && !opsets.some((opset) => opset.domain === CONTRIB_DOMAIN)) {
    model.opsetImport = [...opsets, { domain: CONTRIB_DOMAIN, version: 1 }];
  }
  const bytes = onnx.ModelProto.encode(model).finish();
  if (bytes.length > MAX_MODEL_BYTES) throw new Error(`the quantized model would be ${bytes.length} bytes, over protobuf's 2 GiB limit`);
  await writeFileAtomic(destination, bytes);
  return { ...counts, bytes: bytes.length };
}

function quantizeWeightMatMuls(graph: OnnxTypes.IGraphProto, rewrite: MatMulRewrite): Omit<QuantizedGraph, 'bytes'> {
  const initializers = new Map((graph.initializer ?? []).map((tensor) => [tensor.name ?? '', tensor]));
  const quantizedWeights = new Map<string, QuantizedWeight>();
  const nodes: OnnxTypes.INodeProto[] = [];
  let quantizedMatMuls = 0;
  let floatMatMuls = 0;
  for (const node of graph.node ?? []) {
    const [activation, weightName] = node.input ?? [];
    const weight = weightName === undefined ? undefined : initializers.get(weightName);
    const [rows, columns] = (weight?.dims ?? []).map((dim) => (typeof dim === 'number' ? dim : dim.toNumber()));
    const quantizable =
      node.opType === 'MatMul' &&
      activation !== undefined &&
      weight?.dataType === rewrite.weightType &&
      weight.dims?.length === 2 &&
      rewrite.accepts(rows!, columns!);
    if (!quantizable) {
      if (node.opType === 'MatMul') floatMatMuls++;
      nodes.push(node);
      continue;
    }
    let quantized = quantizedWeights.get(weightName!);
    if (quantized === undefined) {
      quantized = rewrite.quantize(weightName!, floatValues(weight), rows!, columns!);
      graph.initializer!.push(...quantized.initializers);
      quantizedWeights.set(weightName!, quantized);
    }
    nodes.push(...quantized.nodes(node.name || node.output![0]!, activation, node.output![0]!));
    quantizedMatMuls++;
  }
  graph.node = nodes;
  const used = new Set(nodes.flatMap((node) => node.input ?? []));
  graph.initializer = (graph.initializer ?? []).filter((tensor) => used.has(tensor.name ?? '') || !quantizedWeights.has(tensor.name ?? ''));
  graph.input = (graph.input ?? []).filter((input) => used.has(input.name ?? '') || !quantizedWeights.has(input.name ?? ''));
  return { quantizedMatMuls, floatMatMuls };
}

/** The values of a float32 or float16 tensor. */
function floatValues(tensor: OnnxTypes.ITensorProto): Float32Array {
  if (tensor.rawData && tensor.rawData.length > 0) {
    const copy = Uint8Array.from(tensor.rawData);
    if (tensor.dataType === FLOAT16) return Float32Array.from(new Uint16Array(copy.buffer, 0, copy.length / 2), fromFloat16Bits);
    return new Float32Array(copy.buffer, 0, copy.length / 4);
  }
  // float16 values outside raw_data are stored one per int32_data entry, as their bits.
  if (tensor.dataType === FLOAT16) return Float32Array.from(tensor.int32Data ?? [], fromFloat16Bits);
  return Float32Array.from(tensor.floatData ?? []);
}

/** Reads every initializer kept in external data into the model itself. */
async function inlineExternalData(graph: OnnxTypes.IGraphProto, folder: string): Promise<void> {
  const files = new Map<string, Buffer>();
  for (const tensor of graph.initializer ?? []) {
    if (tensor.dataLocation !== onnx.TensorProto.DataLocation.EXTERNAL) continue;
    const entry = (key: string) => tensor.externalData?.find((item) => item.key === key)?.value;
    const location = entry('location');
    if (!location) throw new Error(`initializer ${tensor.name} is external but names no file`);
    if (!files.has(location)) files.set(location, await readFile(join(folder, location)));
    const data = files.get(location)!;
    const offset = Number(entry('offset') ?? 0);
    const length = Number(entry('length') ?? data.length - offset);
    tensor.rawData = data.subarray(offset, offset + length);
    tensor.dataLocation = onnx.TensorProto.DataLocation.DEFAULT;
    tensor.externalData = [];
  }
}
